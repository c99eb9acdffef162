import { createHash } from 'node:crypto'

/**
 * The one stylesheet of the login, consent and error pages. Served as a file (CSP `style-src
 * 'self'`, no inline styles), cached for a long time under a content-hashed URL.
 */
export const STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #ffffff; --text: #1b1f24; --muted: #5a6270; --border: #c9ced6;
  --accent: #1f5fbf; --accent-text: #ffffff; --accent-hover: #174a96;
  --error-bg: #fdecec; --error-border: #c62828; --error-text: #8e1b1b;
  --focus: #ffbf47; --code-bg: #eef0f3; --note-bg: #fff7e0; --note-border: #c98a00;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --card: #1b1f24; --text: #e8eaed; --muted: #a7afba; --border: #3b424c;
    --accent: #6ea8ff; --accent-text: #0b1320; --accent-hover: #8fbcff;
    --error-bg: #3a1c1c; --error-border: #ff8a80; --error-text: #ffd4d0; --code-bg: #262b32;
    --note-bg: #332a12; --note-border: #e0a800;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; display: flex; align-items: flex-start; justify-content: center;
  padding: 2rem 1rem; background: var(--bg); color: var(--text);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main {
  width: 100%; max-width: 30rem; background: var(--card); border: 1px solid var(--border);
  border-radius: 12px; padding: 1.75rem 1.5rem; box-shadow: 0 2px 12px rgb(0 0 0 / 0.06);
}
.brand { margin: 0 0 1rem; font-size: .875rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; color: var(--muted); }
h1 { margin: 0 0 .5rem; font-size: 1.5rem; line-height: 1.25; }
p { margin: 0 0 1rem; }
.lead { color: var(--muted); }
.muted, .hint { color: var(--muted); font-size: .875rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .8125rem; background: var(--code-bg); padding: .05rem .3rem; border-radius: 4px; overflow-wrap: anywhere; }
main.wide { max-width: 52rem; }
h2 { margin: 1.5rem 0 .5rem; font-size: 1.125rem; }
ul { margin: 0 0 1rem; padding-left: 1.25rem; }
table { width: 100%; border-collapse: collapse; font-size: .875rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem .4rem 0; border-bottom: 1px solid var(--border); }
.alert { border: 1px solid var(--error-border); border-left-width: 4px; background: var(--error-bg); color: var(--error-text); padding: .75rem 1rem; border-radius: 6px; margin: 0 0 1rem; }
form { margin: 0; }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 0 0 .25rem; }
.optional { font-weight: 400; color: var(--muted); }
input[type=text], input[type=password] {
  display: block; width: 100%; min-height: 2.75rem; padding: .5rem .75rem; font: inherit; color: var(--text);
  background: var(--card); border: 1px solid var(--border); border-radius: 6px;
}
input[type=text]:hover, input[type=password]:hover { border-color: var(--muted); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input[type=text]:focus-visible, input[type=password]:focus-visible { border-color: var(--accent); }
button {
  display: inline-flex; align-items: center; justify-content: center; min-height: 2.75rem; padding: .5rem 1.25rem;
  font: inherit; font-weight: 600; border-radius: 6px; border: 1px solid var(--accent); cursor: pointer;
}
.primary { background: var(--accent); color: var(--accent-text); }
.primary:hover { background: var(--accent-hover); border-color: var(--accent-hover); }
.secondary { background: transparent; color: var(--text); border-color: var(--border); }
.secondary:hover { border-color: var(--muted); }
.full { width: 100%; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
.actions button { flex: 1 1 8rem; }
fieldset { border: 0; padding: 0; margin: 0; }
legend { font-weight: 600; padding: 0; margin: 0 0 .5rem; }
.scopes { list-style: none; margin: 0; padding: 0; border: 1px solid var(--border); border-radius: 8px; }
.scopes li { border-top: 1px solid var(--border); }
.scopes li:first-child { border-top: 0; }
.scopes label { display: flex; gap: .75rem; align-items: flex-start; font-weight: 400; padding: .625rem .75rem; margin: 0; cursor: pointer; }
.scopes input { flex: none; width: 1.25rem; height: 1.25rem; margin: .125rem 0 0; accent-color: var(--accent); }
.scopes .what { display: block; }
.scopes code { display: inline-block; margin-top: .125rem; }
.group { margin: 1rem 0 .375rem; font-size: .8125rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.owner { margin: .25rem 0 0; font-size: .875rem; color: var(--muted); overflow-wrap: anywhere; }
.who { padding: .625rem .75rem; background: var(--code-bg); border-radius: 8px; margin: .75rem 0 1rem; font-size: .875rem; overflow-wrap: anywhere; }
.note { border-left: 4px solid var(--note-border); background: var(--note-bg); padding: .625rem .75rem; border-radius: 6px; font-size: .875rem; }
.field .hint { margin: .375rem 0 0; }
footer { margin-top: 1.5rem; }
@media (max-width: 480px) {
  body { padding: 0; }
  main { border-radius: 0; border-left: 0; border-right: 0; min-height: 100vh; padding: 1.25rem 1rem; }
}
`.trim() + '\n'

/** Content hash of the stylesheet: part of its URL, so a change is never served stale. */
export const STYLESHEET_VERSION = createHash('sha256').update(STYLESHEET).digest('base64url').slice(0, 12)
export const STYLESHEET_PATH = '/login/assets/style.css'
