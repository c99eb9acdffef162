import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomInt } from 'node:crypto'
import { pagePolicy } from '../../../../../lib/html/reply.js'
import { errorPage } from '../../../../../lib/html/pages.js'
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

    let username = (body.username ?? '').trim()
    let organization = (body.organization ?? '').trim()
    // As POST /api/login: `organization/username` in the user name field works too.
    const slash = username.indexOf('/')
    if (organization === '' && slash > 0) {
      organization = username.slice(0, slash)
      username = username.slice(slash + 1)
    }
    // The same per-IP and per-account limits as POST /api/login; a refusal is a page here.
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', pagePolicy())
    const tooMany = errorPage({ title: 'Too many attempts', message: LOCKED, code: 'temporarily_unavailable' })
    if (!await fastify.limits.check(request, reply, 'login', `${organization}/${username}`.toLowerCase(), tooMany)) return reply
    const result = await fastify.signIn(request, { username, password: body.password ?? '', organization: organization === '' ? undefined : organization })
    if (!result.ok) {
      // Slows guessing down and blurs timing; the lockout bounds the number of guesses.
      if (!result.locked) await sleep(200 + randomInt(200))
      else reply.header('retry-after', String(fastify.config.LOGIN_LOCKOUT_SECONDS))
      return renderLogin(fastify, request, reply, req, client, {
        status: result.locked ? 429 : 401,
        error: result.locked ? LOCKED : WRONG,
        username,
        organization
      })
    }
    await fastify.sessions.open(request, reply, result.user)
    return reply.redirect(authorizeUrl(req), 303)
  })
}

export default login
