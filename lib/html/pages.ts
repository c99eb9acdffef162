import { html, type SafeHtml } from './escape.js'
import { describeScope, isIdentityScope } from './scopes.js'
import { STYLESHEET_PATH, STYLESHEET_VERSION } from './style.js'

const SERVICE_NAME = 'iam-mcp'

export function layout (title: string, body: SafeHtml, mainClass?: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} – ${SERVICE_NAME}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STYLESHEET_PATH}?v=${STYLESHEET_VERSION}">
</head>
<body>
<main aria-labelledby="title"${mainClass !== undefined ? html` class="${mainClass}"` : ''}>
<p class="brand">${SERVICE_NAME}</p>
${body}
</main>
</body>
</html>
`.value
}

/** The hidden fields every form of the authorization flow carries. */
function hidden (csrfToken: string, request: string): SafeHtml {
  return html`<input type="hidden" name="csrf_token" value="${csrfToken}">
<input type="hidden" name="request" value="${request}">`
}

export interface LoginPageInput {
  clientName: string
  action: string
  csrfToken: string
  request: string
  /** Shown above the form; never says which field was wrong. */
  error?: string
  username?: string
  organization?: string
}

export function loginPage (input: LoginPageInput): string {
  return layout('Sign in', html`<h1 id="title">Sign in</h1>
<p class="lead">to continue to <strong>${input.clientName}</strong></p>
${input.error !== undefined ? html`<div class="alert" role="alert" id="form-error">${input.error}</div>` : ''}
<form method="post" action="${input.action}" novalidate${input.error !== undefined ? html` aria-describedby="form-error"` : ''}>
${hidden(input.csrfToken, input.request)}
<div class="field">
<label for="username">User name</label>
<input type="text" id="username" name="username" value="${input.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required${input.username === undefined || input.username === '' ? html` autofocus` : ''}>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${input.username === undefined || input.username === '' ? '' : html` autofocus`}>
</div>
<div class="field">
<label for="organization">Organization <span class="optional">(optional)</span></label>
<input type="text" id="organization" name="organization" value="${input.organization ?? ''}" autocomplete="organization" autocapitalize="none" spellcheck="false" aria-describedby="organization-hint">
<p class="hint" id="organization-hint">Leave empty if your account is in the built-in organization.</p>
</div>
<button type="submit" class="primary full">Sign in</button>
</form>`)
}

export interface ConsentPageInput {
  clientName: string
  /** The organization that owns the client: who stands behind it. */
  organization: string
  /** Where the client receives the answer (host and port), so the person can check it. */
  redirectHost: string
  /** The client registered itself: its name is its own claim. */
  unverified: boolean
  /** For a client known by its metadata document: the host that publishes it. */
  documentHost?: string
  /** Every redirect URI of the client is on loopback: an app on the person's own computer. */
  loopbackOnly?: boolean
  userLabel: string
  scopes: string[]
  action: string
  csrfToken: string
  request: string
  error?: string
}

function scopeItems (scopes: string[], offset: number): SafeHtml[] {
  return scopes.map((scope, i) => html`<li><label for="scope-${offset + i}"><input type="checkbox" id="scope-${offset + i}" name="scope" value="${scope}" checked><span><span class="what">${describeScope(scope)}</span><code>${scope}</code></span></label></li>`)
}

export function consentPage (input: ConsentPageInput): string {
  const identity = input.scopes.filter(isIdentityScope)
  const access = input.scopes.filter(s => !isIdentityScope(s))
  return layout('Allow access?', html`<h1 id="title">Allow <strong>${input.clientName}</strong> to use your account?</h1>
<p class="owner">An application of the organization <strong>${input.organization}</strong></p>
<p class="who">Signed in as <strong>${input.userLabel}</strong></p>
<p class="lead">It will act as you, never beyond what your own role allows, and receives the answer at <code>${input.redirectHost}</code>.</p>
${input.documentHost !== undefined
  ? html`<p class="note published">This application describes itself in a document published at <strong>${input.documentHost}</strong>; its name is that document's claim. Continue only if you started this sign-in.</p>`
  : input.unverified ? html`<p class="note">This application registered itself, so its name is its own claim. Continue only if you started this sign-in.</p>` : ''}
${input.loopbackOnly === true ? html`<p class="note warning">This app runs on your computer, and anyone can publish a document naming such an app. Allow it only if you just started it yourself.</p>` : ''}
${input.error !== undefined ? html`<div class="alert" role="alert">${input.error}</div>` : ''}
<form method="post" action="${input.action}">
${hidden(input.csrfToken, input.request)}
<fieldset aria-describedby="scope-hint">
<legend>It asks to:</legend>
<p class="hint" id="scope-hint">Untick anything you do not want to allow. At least one must stay ticked.</p>
${identity.length > 0 ? html`<p class="group" aria-hidden="true">Who you are</p><ul class="scopes">${scopeItems(identity, 0)}</ul>` : ''}
${access.length > 0 ? html`<p class="group" aria-hidden="true">Manage on your behalf</p><ul class="scopes">${scopeItems(access, identity.length)}</ul>` : ''}
</fieldset>
<div class="actions">
<button type="submit" name="decision" value="approve" class="primary">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</div>
</form>`)
}

export interface ErrorPageInput {
  title: string
  message: string
  /** The OAuth error code, for whoever reports the problem. */
  code?: string
}

export function errorPage (input: ErrorPageInput): string {
  return layout(input.title, html`<h1 id="title">${input.title}</h1>
<div class="alert" role="alert">${input.message}</div>
<p>The application that sent you here could not be told about this problem, so nothing was shared with it. You can close this window and start again from the application.</p>
${input.code !== undefined ? html`<footer><p class="muted">Error code: <code>${input.code}</code></p></footer>` : ''}`)
}
