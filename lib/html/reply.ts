/** What a page is sent through: a server's reply, each call returning it for the next. */
export interface PageReply<R> {
  code (statusCode: number): R
  header (name: string, value: string): R
  send (payload: string): R
}

/** The Content-Security-Policy of a page whose forms may end in a redirect to `formOrigins`. */
export function pagePolicy (formOrigins: string[] = []): string {
  const formAction = ["'self'", ...new Set(formOrigins)].join(' ')
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'"
  ].join('; ')
}

/** Sends a server-rendered page: never cached, never framed, no script may run. */
export function sendPage<R extends PageReply<R>> (reply: R, statusCode: number, body: string, formOrigins: string[] = []): R {
  return reply
    .code(statusCode)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', pagePolicy(formOrigins))
    .send(body)
}

/**
 * @fastify/helmet's options for the HTML pages (login, consent, errors, docs): every header but
 * the CSP, which `sendPage` sets per page. Registered by the pages' own folders only.
 */
export const HTML_HELMET = {
  contentSecurityPolicy: false,
  crossOriginEmbedderPolicy: false,
  referrerPolicy: { policy: 'no-referrer' as const },
  frameguard: { action: 'deny' as const },
  hsts: { maxAge: 15552000, includeSubDomains: true }
}
