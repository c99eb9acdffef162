import { setTimeout as sleep } from 'node:timers/promises'
import { randomInt } from 'node:crypto'
import type { User } from '../storage/models.js'
import type { Store } from '../storage/store.js'
import { nameKey } from '../storage/name-key.js'
import { BUILT_IN } from '../bootstrap.js'

export type SignInResult = { ok: true, user: User } | { ok: false, locked: boolean }

/** What a password sign-in needs: the accounts, the failure counts and the lockout's limits. */
export interface SignInDeps {
  users: Pick<Store['users'], 'authenticate'>
  loginFailures: Pick<Store['loginFailures'], 'lockedUntil' | 'fail' | 'reset'>
  /** LOGIN_MAX_FAILURES */
  maxFailures: number
  /** LOGIN_LOCKOUT_SECONDS */
  lockoutSeconds: number
}

/** One attempt: the address it comes from and the (request's) logger its failure is told to. */
export interface SignInAttempt {
  address: string
  log: { info: (object: Record<string, unknown>, message: string) => void }
}

export interface SignInInput { username: string, password: string, organization?: string }

/**
 * The account a sign-in names, as the login form and POST /api/login both read it: the fields
 * trimmed, and `organization/username` in the user name field taken apart when no organization
 * is given. No organization (undefined) is the built-in one.
 */
export function namedAccount (username: string, organization: string | undefined): { username: string, organization?: string } {
  username = username.trim()
  const named = organization?.trim() ?? ''
  if (named !== '') return { username, organization: named }
  const slash = username.indexOf('/')
  if (slash > 0) return { username: username.slice(slash + 1), organization: username.slice(0, slash) }
  return { username }
}

/** The account's key in the per-(address, account) rate limit of the login bucket. */
export function accountLimitKey (account: { username: string, organization?: string }): string {
  return `${account.organization ?? ''}/${account.username}`.toLowerCase()
}

/** After a wrong password: slows guessing down and blurs timing; the lockout bounds the number of guesses. */
export async function failedSignInDelay (): Promise<void> {
  await sleep(200 + randomInt(200))
}

/**
 * Username and password check behind the login lockout: LOGIN_MAX_FAILURES failures from one
 * address lock the account name, for that address, for LOGIN_LOCKOUT_SECONDS, whether or not
 * it exists (so a lockout says nothing). Keyed by address too, so that a stranger's guesses
 * never lock the user out from elsewhere; the per-address rate limit bounds guesses in all.
 */
export async function passwordSignIn (deps: SignInDeps, attempt: SignInAttempt, input: SignInInput): Promise<SignInResult> {
  const { users, loginFailures } = deps
  const organization = input.organization ?? BUILT_IN
  const key = `${attempt.address} ${nameKey(organization)}/${nameKey(input.username)}`
  if (await loginFailures.lockedUntil(key) > Date.now()) return { ok: false, locked: true }
  const user = input.username === '' || input.password === '' ? undefined : await users.authenticate(organization, input.username, input.password)
  if (user === undefined) {
    const { lockedUntil } = await loginFailures.fail(key, deps.maxFailures, deps.lockoutSeconds)
    attempt.log.info({ organization, locked: lockedUntil > 0 }, 'login failed')
    return { ok: false, locked: false }
  }
  await loginFailures.reset(key)
  return { ok: true, user }
}
