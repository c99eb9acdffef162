import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Session, User } from '../lib/storage/models.js'
import { SESSION_COOKIE, endSession, isForeignOrigin, openSession, sessionCookieOptions, sessionIdOfCookie } from '../lib/session.js'
import { passwordSignIn, type SignInInput, type SignInResult } from '../lib/oauth/sign-in.js'

/** Browser sessions over the signed session cookie (lib/session.ts), per request. */
export interface Sessions {
  /** Opens and stores a session for a user who has just proved who they are; sets the cookie. */
  open: (request: FastifyRequest, reply: FastifyReply, user: User) => Promise<Session>
  /**
   * The id of the session the request's cookie opens: `undefined` without a cookie, `false`
   * when its signature is not ours. Says nothing of whether the session is live.
   */
  idOf: (request: FastifyRequest) => string | undefined | false
  /** The live session (and its user) the request's cookie opens, or undefined. */
  read: (request: FastifyRequest) => Promise<{ session: Session, user: User } | undefined>
  /** Ends the request's session on every instance and clears the cookie; whether one was open. */
  end: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>
  /** Whether a browser request comes from another site: it must not use, open or end a session. */
  isForeignOrigin: (request: FastifyRequest) => boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: Sessions
    /** Password sign-in behind the login lockout (lib/oauth/sign-in.ts), from the request's address. */
    signIn: (request: FastifyRequest, input: SignInInput) => Promise<SignInResult>
  }
}

/** Sessions and password sign-in, the two ways a person is recognised, built from lib/. */
export default fp(async function sessions (fastify) {
  const { config, store, authState } = fastify
  const secure = (request: FastifyRequest): boolean => fastify.publicBase(request).startsWith('https:')
  const idOf = (request: FastifyRequest): string | undefined | false =>
    sessionIdOfCookie(store.sessions, request.cookies[SESSION_COOKIE], request)

  fastify.decorate('sessions', {
    async open (request, reply, user) {
      const { session, cookieValue } = await openSession(store.sessions, config.SESSION_TTL, {
        user,
        userAgent: String(request.headers['user-agent'] ?? ''),
        ip: request.ip
      })
      reply.setCookie(SESSION_COOKIE, cookieValue, sessionCookieOptions(secure(request), config.SESSION_TTL))
      return session
    },
    idOf,
    async read (request) {
      const id = idOf(request)
      if (id === undefined || id === false) return undefined
      return await authState.liveSession(id)
    },
    async end (request, reply) {
      const id = idOf(request)
      reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(secure(request)))
      if (id === undefined || id === false) return false
      return await endSession(store.sessions, id => { authState.forgetSession(id) }, id)
    },
    isForeignOrigin (request) {
      return isForeignOrigin(request.headers, origin => fastify.isAllowedOrigin(request, origin))
    }
  } satisfies Sessions)

  const limits = { users: store.users, loginFailures: store.loginFailures, maxFailures: config.LOGIN_MAX_FAILURES, lockoutSeconds: config.LOGIN_LOCKOUT_SECONDS }
  fastify.decorate('signIn', async function signIn (request: FastifyRequest, input: SignInInput): Promise<SignInResult> {
    return await passwordSignIn(limits, { address: request.ip, log: request.log }, input)
  })
}, { name: 'sessions', dependencies: ['config', 'storage', 'public-url', 'auth-state', 'cookie'], fastify: '5.x' })
