/** A piece of HTML that is already safe to emit: templates build these, never raw strings. */
export class SafeHtml {
  constructor (readonly value: string) {}
  toString (): string { return this.value }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml (value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, c => ENTITIES[c])
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[]

function render (value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(value)
}

/**
 * Tagged template: every interpolated value is escaped unless it is SafeHtml (another `html`
 * result). Arrays are joined; null, undefined and false render as nothing.
 */
export function html (strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]
  return new SafeHtml(out)
}
