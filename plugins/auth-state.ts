import { hash, randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { Change } from '../lib/storage/store.js'
import type { Application, Session, User } from '../lib/storage/models.js'
import { StoreError } from '../lib/storage/errors.js'
import { isBadText } from '../lib/bad-text.js'
import { BoundedCache } from '../lib/oauth/bounded-cache.js'
import { CLOCK_TOLERANCE_MS } from '../lib/jwt.js'
import { parseGroupRef } from '../lib/storage/repositories/tokens.js'

/**
 * What authentication needs to know about revocations and account status, held in memory so
 * that the hot path never waits for the database. Loaded at start, updated at once by this
 * instance's change events and, for other instances, by polling the change feed every
 * REVOCATION_POLL_INTERVAL ms. When the feed cannot be read for more than a second, `ensureFresh`
 * throws (the caller answers 503) rather than trust stale data.
 */
export interface AuthState {
  /**
   * Resolves at once (returns undefined, no promise) while revocation data is fresh. When it is
   * older than the freshness bound (a stalled poller, a blocked event loop), refreshes it first;
   * rejects with StoreError('unavailable') when that does not succeed within the bound.
   */
  ensureFresh: () => Promise<void> | undefined
  /**
   * Counts every change applied (this instance's and, through the feed, the others'): an
   * answer derived from the data held here stays right for as long as this has not moved.
   */
  readonly generation: number
  isRevoked: (jti: string) => boolean
  /**
   * The memoized user, application or session when one is held, without waiting: the hot path
   * asks these first and falls back to the async lookups below.
   */
  peekUser: (id: string) => User | undefined
  peekApplication: (clientId: string) => Application | undefined
  peekSession: (id: string) => Session | undefined
  /** The user, or undefined when it does not exist (memoized until it changes). */
  user: (id: string) => Promise<User | undefined>
  /** The application with this client id (memoized until it changes). */
  application: (clientId: string) => Promise<Application | undefined>
  /** The session when it exists, has not ended and has not expired. */
  activeSession: (id: string) => Promise<Session | undefined>
  /**
   * The active session and its user, when that user exists, is not forbidden and is the one
   * the session was opened for (not a user re-created later under the same id).
   */
  liveSession: (id: string) => Promise<{ session: Session, user: User } | undefined>
  /**
   * The application these client credentials belong to, or undefined. Verified results are
   * kept (keyed by a salted hash of the credentials) until the application changes.
   */
  authenticateClient: (clientId: string, clientSecret: string) => Promise<Application | undefined>
  /** Forgets a session at once (this instance ended it). */
  forgetSession: (id: string) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    authState: AuthState
  }
}

/** Revocation data older than this fails requests closed (DESIGN.md: one second). */
export const FRESHNESS_MS = 1000
/** Polls re-read this much of the feed before the last poll: late commits and clock skew. */
const POLL_OVERLAP_MS = 5000
const PRUNE_INTERVAL_MS = 60_000
/** Memoized accounts are re-read at least this often, even without a change event. */
const MEMO_TTL_MS = 5 * 60_000
const MEMO_MAX = 10_000
const CREDENTIAL_MAX = 10_000

type Memo<V> = BoundedCache<string, V | undefined>

export default fp(async function authState (fastify) {
  const { store, config } = fastify
  const revoked = new Map<string, number>()
  // A revoked access token cannot outlive its lifetime past the moment of revocation.
  const revokedRetentionMs = config.ACCESS_TOKEN_TTL * 1000 + CLOCK_TOLERANCE_MS + POLL_OVERLAP_MS

  const users: Memo<User> = new BoundedCache(MEMO_MAX, MEMO_TTL_MS)
  const applications: Memo<Application> = new BoundedCache(MEMO_MAX, MEMO_TTL_MS)
  const sessions: Memo<Session> = new BoundedCache(MEMO_MAX, MEMO_TTL_MS)
  // Salted hash of `client id:secret` → client id: a secret verified once is not looked up again.
  const credentialSalt = randomBytes(16).toString('base64url')
  const credentials = new BoundedCache<string, string>(CREDENTIAL_MAX, MEMO_TTL_MS)
  // Bumped on every invalidation: a lookup that raced a change does not memoize its result.
  let generation = 0

  function apply (change: Change): void {
    generation++
    switch (change.kind) {
      case 'token.revoked':
        revoked.set(change.ref, Date.now())
        break
      case 'tokens.revoked': {
        // The ids come with the change: this instance's own (the writer knew them) or a feed
        // change `refresh` resolved before replaying it. Without them nothing is trusted: see
        // `resolveGroups`.
        const now = Date.now()
        for (const id of change.ids ?? []) revoked.set(id, now)
        break
      }
      case 'user.changed':
        users.delete(change.ref)
        // Its sessions are re-read too: a forbidden, deleted or re-created user's have ended.
        sessions.deleteWhere(session => session?.userId === change.ref)
        break
      case 'application.changed':
        applications.delete(change.ref)
        credentials.deleteWhere(clientId => clientId === change.ref)
        break
      case 'session.ended':
        sessions.delete(change.ref)
        break
      default:
        break
    }
  }

  async function memoized<V> (memo: Memo<V>, key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const now = Date.now()
    const hit = memo.get(key, now)
    if (hit !== undefined) return hit
    const before = generation
    const value = await load()
    // Only results that no change overtook are kept; absent ones are not (creation is silent).
    if (value !== undefined && generation === before) memo.set(key, value, now + MEMO_TTL_MS)
    return value
  }

  // Start: the deny-list of revoked, unexpired tokens, fresh as of `loadedAt`.
  const loadedAt = Date.now()
  for (const id of await store.tokens.revokedUnexpired()) revoked.set(id, loadedAt)
  let freshAt = loadedAt
  let polledFrom = loadedAt
  const seen = new Map<string, number>()

  const onChange = (change: Change): void => { apply(change) }
  store.changes.on('change', onChange)

  let polling: Promise<void> | undefined
  function poll (): Promise<void> {
    polling ??= refresh().finally(() => { polling = undefined })
    return polling
  }
  async function refresh (): Promise<void> {
    const started = Date.now()
    try {
      const changes = (await store.changes.since(polledFrom - POLL_OVERLAP_MS)).filter(change => !seen.has(change.id))
      // Every revoked group is resolved to its ids before any change is applied: a failure
      // leaves the whole poll unseen and the data not fresh, so requests fail closed.
      await resolveGroups(changes)
      for (const change of changes) {
        seen.set(change.id, change.at)
        // Replayed into the feed so every listener (keys, caches) hears other instances too.
        store.changes.emit('change', change)
      }
      for (const [id, at] of seen) if (at < started - 2 * POLL_OVERLAP_MS) seen.delete(id)
      polledFrom = started
      freshAt = started
    } catch (err) {
      fastify.log.warn({ err }, 'could not refresh revocation data')
    }
  }

  /**
   * Fills in the ids of each `tokens.revoked` change (one query per group, however many batches
   * of it the poll holds). A ref that names no group is refused: the poll fails rather than
   * let through a token it may have revoked.
   */
  async function resolveGroups (changes: Change[]): Promise<void> {
    const groups = new Map<string, Change[]>()
    for (const change of changes) {
      if (change.kind !== 'tokens.revoked') continue
      const list = groups.get(change.ref)
      if (list === undefined) groups.set(change.ref, [change])
      else list.push(change)
    }
    for (const [ref, list] of groups) {
      const group = parseGroupRef(ref)
      if (group === undefined) throw new StoreError('invalid', `the change feed names an unknown revoked group: ${JSON.stringify(ref.slice(0, 64))}`)
      const ids = await store.tokens.revokedIn(group.column, group.value)
      for (const change of list) change.ids = ids
    }
  }

  async function refreshNow (): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>(resolve => { timer = setTimeout(resolve, FRESHNESS_MS) })
    try {
      await Promise.race([poll(), timeout])
    } finally {
      clearTimeout(timer)
    }
    if (Date.now() - freshAt > FRESHNESS_MS) {
      throw new StoreError('unavailable', 'revocation data could not be refreshed')
    }
  }
  const poller = setInterval(() => { poll().catch(() => {}) }, config.REVOCATION_POLL_INTERVAL)
  poller.unref()

  const pruner = setInterval(() => {
    const now = Date.now()
    for (const [id, at] of revoked) if (at + revokedRetentionMs < now) revoked.delete(id)
    users.prune(now)
    applications.prune(now)
    sessions.prune(now)
    credentials.prune(now)
  }, PRUNE_INTERVAL_MS)
  pruner.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(poller)
    clearInterval(pruner)
    store.changes.off('change', onChange)
  })

  const state: AuthState = {
    ensureFresh () {
      return Date.now() - freshAt > FRESHNESS_MS ? refreshNow() : undefined
    },
    get generation () { return generation },
    isRevoked: (jti) => revoked.has(jti),
    peekUser: (id) => users.get(id),
    peekApplication: (clientId) => applications.get(clientId),
    peekSession: (id) => sessions.get(id),
    user: (id) => memoized(users, id, () => store.users.find(id)),
    application: (clientId) => memoized(applications, clientId, () => store.applications.findByClientId(clientId)),
    async activeSession (id) {
      const session = await memoized(sessions, id, () => store.sessions.find(id))
      if (session === undefined || session.endedAt !== null || session.expiresAt <= Date.now()) return undefined
      return session
    },
    async liveSession (id) {
      const session = await state.activeSession(id)
      if (session === undefined) return undefined
      const user = await state.user(session.userId)
      if (user === undefined || user.isForbidden || session.createdAt < Date.parse(user.createdTime)) return undefined
      return { session, user }
    },
    async authenticateClient (clientId, clientSecret) {
      // No client id or secret holds bad text (PostgreSQL could not even look it up): wrong credentials.
      if (isBadText(clientId) || isBadText(clientSecret)) return undefined
      // A salted one-shot hash (cheaper than an HMAC object per request): the cache never
      // holds a secret, and its keys say nothing outside this process.
      const key = hash('sha256', `${credentialSalt}${clientId}:${clientSecret}`, 'base64url')
      if (credentials.get(key) === undefined) {
        const before = generation
        const app = await store.applications.authenticate(clientId, clientSecret)
        if (app === undefined) return undefined
        if (generation === before) {
          credentials.set(key, app.clientId)
          applications.set(app.clientId, app)
        }
        return app
      }
      return await state.application(clientId)
    },
    forgetSession (id) {
      sessions.delete(id)
    }
  }
  fastify.decorate('authState', state)
}, { name: 'auth-state', dependencies: ['config', 'storage'], fastify: '5.x' })
