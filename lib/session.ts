import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Session, User } from './storage/models.js'

/** The session cookie's name. */
export const SESSION_COOKIE = 'iam_session'

/** The session cookie's attributes: signed, HttpOnly, SameSite=Lax, Secure under https. */
export function sessionCookieOptions (fastify: FastifyInstance, request: FastifyRequest, maxAgeSeconds?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: fastify.publicBase(request).startsWith('https:'),
    signed: true,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds })
  }
}

/**
 * Opens a session for a user who has just proved who they are, stores it (so that logging out
 * holds on every instance) and sets the signed cookie on the reply.
 */
export async function createSession (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply, user: User): Promise<Session> {
  const session = await fastify.store.sessions.create({
    userId: user.id,
    userAgent: String(request.headers['user-agent'] ?? ''),
    ip: request.ip,
    ttlSeconds: fastify.config.SESSION_TTL
  })
  // The cookie carries the random value; the database holds only its digest (the session id).
  reply.setCookie(SESSION_COOKIE, session.cookieValue, sessionCookieOptions(fastify, request, fastify.config.SESSION_TTL))
  const { cookieValue: _, ...stored } = session
  return stored
}

/**
 * The id of the session the request's cookie opens (the digest of the cookie's value), when
 * the cookie is present and its signature valid (`undefined` when absent, `false` when forged).
 * Whether the session is still live is for the caller to ask (`fastify.authState.liveSession`).
 */
export function readSessionCookie (request: FastifyRequest): string | undefined | false {
  const raw = request.cookies[SESSION_COOKIE]
  if (raw === undefined || raw === '') return undefined
  const unsigned = request.unsignCookie(raw)
  if (!unsigned.valid || unsigned.value === null || unsigned.value === '') return false
  return request.server.store.sessions.idOf(unsigned.value)
}

/** The live session (and its user) the request's cookie opens, or undefined. */
export async function readSession (fastify: FastifyInstance, request: FastifyRequest): Promise<{ session: Session, user: User } | undefined> {
  const id = readSessionCookie(request)
  if (id === undefined || id === false) return undefined
  return await fastify.authState.liveSession(id)
}

/** Ends the request's session in the database (every instance) and clears the cookie. */
export async function endSession (fastify: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const id = readSessionCookie(request)
  reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(fastify, request))
  if (id === undefined || id === false) return false
  const ended = await fastify.store.sessions.end(id)
  fastify.authState.forgetSession(id)
  return ended !== undefined
}

/**
 * Whether a browser request comes from another site (an `Origin` that is neither the public
 * origin nor allowed, or `Sec-Fetch-Site: cross-site`): it must not use, open or end a session.
 * Requests without these headers (not from a browser) pass.
 */
export function isForeignOrigin (fastify: FastifyInstance, request: FastifyRequest): boolean {
  const origin = request.headers.origin
  if (origin !== undefined && !fastify.isAllowedOrigin(request, origin)) return true
  return request.headers['sec-fetch-site'] === 'cross-site'
}
