import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { pagePolicy } from '../../../../../lib/html/reply.js'
import { errorPage } from '../../../../../lib/html/pages.js'
import { accountLimitKey, failedSignInDelay, namedAccount } from '../../../../../lib/oauth/sign-in.js'
import { authorizeUrl, openForm, renderLogin } from '../flow.js'

const field = (maxLength: number) => Type.Optional(Type.String({ maxLength }))

const LoginFormSchema = Type.Object({
  csrf_token: field(256),
  request: field(8192),
  username: field(256),
  password: field(1024),
  organization: field(256)
}, { additionalProperties: true })

/** Never says which of the fields was wrong. */
const WRONG = 'The user name, password or organization is not correct.'
const LOCKED = 'Too many failed attempts. Wait a few minutes before trying again.'

/**
 * POST /login/oauth/authorize/login — the login page's form. CSRF-checked; failures count
 * towards the same lockout as POST /api/login. Success opens a session and goes back to the
 * authorization request (which then asks for consent, or answers the client).
 */
const login: FastifyPluginAsyncTypebox = async function (fastify) {
  fastify.post('/', {
    schema: { body: LoginFormSchema }
  }, async (request, reply) => {
    const body = request.body
    const form = await openForm(fastify, request, reply, body)
    if (form === undefined) return reply
    const { req, client } = form

    // As POST /api/login: `organization/username` in the user name field works too.
    const account = namedAccount(body.username ?? '', body.organization)
    // The same per-IP and per-account limits as POST /api/login; a refusal is a page here.
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', pagePolicy())
    const tooMany = errorPage({ title: 'Too many attempts', message: LOCKED, code: 'temporarily_unavailable' })
    if (!await fastify.limits.check(request, reply, 'login', accountLimitKey(account), tooMany)) return reply
    const result = await fastify.signIn(request, { ...account, password: body.password ?? '' })
    if (!result.ok) {
      if (!result.locked) await failedSignInDelay()
      else reply.header('retry-after', String(fastify.config.LOGIN_LOCKOUT_SECONDS))
      return renderLogin(fastify, request, reply, req, client, {
        status: result.locked ? 429 : 401,
        error: result.locked ? LOCKED : WRONG,
        username: account.username,
        organization: account.organization ?? ''
      })
    }
    await fastify.sessions.open(request, reply, result.user)
    return reply.redirect(authorizeUrl(req), 303)
  })
}

export default login
