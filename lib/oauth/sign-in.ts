import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { User } from '../storage/models.js'
import { nameKey } from '../storage/store.js'
import { BUILT_IN } from '../bootstrap.js'

export type SignInResult = { ok: true, user: User } | { ok: false, locked: boolean }

/**
 * Username and password check behind the login lockout: LOGIN_MAX_FAILURES failures from one
 * address lock the account name, for that address, for LOGIN_LOCKOUT_SECONDS, whether or not
 * it exists (so a lockout says nothing). Keyed by address too, so that a stranger's guesses
 * never lock the user out from elsewhere; the per-address rate limit bounds guesses in all.
 */
export async function passwordSignIn (fastify: FastifyInstance, request: FastifyRequest, input: { username: string, password: string, organization?: string }): Promise<SignInResult> {
  const { store, config } = fastify
  const organization = input.organization ?? BUILT_IN
  const key = `${request.ip} ${nameKey(organization)}/${nameKey(input.username)}`
  if (await store.loginFailures.lockedUntil(key) > Date.now()) return { ok: false, locked: true }
  const user = input.username === '' || input.password === '' ? undefined : await store.users.authenticate(organization, input.username, input.password)
  if (user === undefined) {
    const { lockedUntil } = await store.loginFailures.fail(key, config.LOGIN_MAX_FAILURES, config.LOGIN_LOCKOUT_SECONDS)
    request.log.info({ organization, locked: lockedUntil > 0 }, 'login failed')
    return { ok: false, locked: false }
  }
  await store.loginFailures.reset(key)
  return { ok: true, user }
}
