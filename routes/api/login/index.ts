import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { accountLimitKey, failedSignInDelay, namedAccount } from '../../../lib/oauth/sign-in.js'
import { UserSchema, userOut } from '../../../lib/storage/repositories/users.schema.js'

const LoginSchema = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ maxLength: 1024 }),
  organization: Type.Optional(Type.String({ maxLength: 256 }))
}, { additionalProperties: true })

const Ok = Type.Object({ status: Type.Literal('ok'), data: UserSchema })
const Refusal = Type.Object({ status: Type.Literal('error'), error: Type.String() })

/**
 * POST /api/login — username and password (JSON or an HTML form; `organization` defaults to
 * `built-in`, and `organization/username` is accepted as the username). Success: 200 with the
 * user and the signed session cookie. Wrong credentials: 401 `invalid_credentials`, whichever
 * field was wrong, after a short delay. An account name locked after LOGIN_MAX_FAILURES failures
 * from one address (whether or not it exists) answers that address 429 with Retry-After until
 * LOGIN_LOCKOUT_SECONDS pass.
 */
const login: FastifyPluginAsyncTypebox = async function (fastify) {
  const refuse = (reply: FastifyReply, status: number, error: string) =>
    reply.code(status).header('cache-control', 'no-store').send({ status: 'error' as const, error })

  fastify.post('/', {
    attachValidation: true,
    errorHandler (error: Error & { statusCode?: number }, request, reply) {
      // A body that cannot be parsed is a bad request in this endpoint's own shape.
      if (error.statusCode !== undefined && error.statusCode < 500) return refuse(reply, error.statusCode === 413 || error.statusCode === 415 ? error.statusCode : 400, 'invalid_request')
      throw error
    },
    schema: { body: LoginSchema, response: { 200: Ok, '4xx': Refusal } }
  }, async (request, reply) => {
    if (fastify.sessions.isForeignOrigin(request)) return refuse(reply, 403, 'forbidden_origin')
    if (request.validationError !== undefined) return refuse(reply, 400, 'invalid_request')
    const account = namedAccount(request.body.username, request.body.organization)
    const tooMany = { status: 'error' as const, error: 'too_many_requests' }
    if (!await fastify.limits.check(request, reply, 'login', accountLimitKey(account), tooMany)) return reply

    const result = await fastify.signIn(request, { ...account, password: request.body.password })
    if (!result.ok) {
      if (result.locked) {
        reply.header('retry-after', String(fastify.config.LOGIN_LOCKOUT_SECONDS))
        return refuse(reply, 429, 'too_many_attempts')
      }
      await failedSignInDelay()
      return refuse(reply, 401, 'invalid_credentials')
    }
    await fastify.sessions.open(request, reply, result.user)
    request.log.info({ user: result.user.id }, 'signed in')
    return reply.header('cache-control', 'no-store').send({ status: 'ok' as const, data: userOut(result.user) })
  })
}

export default login
