import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { HTML_HELMET } from '../../../../../lib/html/reply.js'
import { openRequest } from '../../../../../lib/oauth/authorization-request.js'
import { authorizeUrl, badRedirectPage, csrfPage, expiredPage, findClient, htmlErrorHandler, renderError, renderLogin, unknownClientPage } from '../../../../../lib/oauth/authorize-flow.js'
import { createSession } from '../../../../../lib/session.js'
import { passwordSignIn } from '../../../../../lib/oauth/sign-in.js'

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
    helmet: HTML_HELMET,
    errorHandler: htmlErrorHandler,
    schema: { body: LoginFormSchema },
    config: { rateLimit: { max: 30, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const body = request.body
    const req = openRequest(fastify.secrets.cookie, body.request)
    if (req === undefined) return renderError(reply, expiredPage())
    if (!fastify.csrf.verify(request, body.csrf_token)) return renderError(reply, csrfPage())
    const client = await findClient(fastify, req.clientId)
    if (client === undefined) return renderError(reply, unknownClientPage())
    if (!client.redirectUris.includes(req.redirectUri)) return renderError(reply, badRedirectPage())

    const username = (body.username ?? '').trim()
    const organization = (body.organization ?? '').trim()
    const result = await passwordSignIn(fastify, request, { username, password: body.password ?? '', organization: organization === '' ? undefined : organization })
    if (!result.ok) {
      return renderLogin(fastify, request, reply, req, client, {
        status: result.locked ? 429 : 401,
        error: result.locked ? LOCKED : WRONG,
        username,
        organization
      })
    }
    await createSession(fastify, request, reply, result.user)
    return reply.header('cache-control', 'no-store').redirect(authorizeUrl(req), 303)
  })
}

export default login
