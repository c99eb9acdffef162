import type { FastifyInstance, FastifyReply } from 'fastify'
import helmet from '@fastify/helmet'

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
export function sendPage (reply: FastifyReply, statusCode: number, body: string, formOrigins: string[] = []): FastifyReply {
  return reply
    .code(statusCode)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', pagePolicy(formOrigins))
    .send(body)
}

/**
 * Security headers for the HTML pages (login, consent, errors, docs): @fastify/helmet, in the
 * page routes' own plugin only. Registered at the root, even with `global: false`, it would add
 * two hooks (one async) to every request, `/api/mcp` included, to find nothing to do there.
 * Each page route then opts in with `helmet: HTML_HELMET`.
 */
export async function usePageHeaders (fastify: FastifyInstance): Promise<void> {
  await fastify.register(helmet, { global: false })
}

/** Route option for @fastify/helmet: every header but the CSP, which `sendPage` sets per page. */
export const HTML_HELMET = {
  contentSecurityPolicy: false,
  crossOriginEmbedderPolicy: false,
  referrerPolicy: { policy: 'no-referrer' as const },
  frameguard: { action: 'deny' as const },
  hsts: { maxAge: 15552000, includeSubDomains: true }
}
