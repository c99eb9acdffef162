import { randomBytes } from 'node:crypto'
import type { Store } from './store.js'
import type { Database } from './schema.js'
import { guard } from './errors.js'

/** Rows deleted per statement: each statement is its own short transaction. */
export const PURGE_BATCH = 1000
/**
 * How long rows past their time are kept before they are purged. Tokens: a refresh token is
 * refused as expired before its replay is looked at, and the deny-list holds only unexpired
 * ids, so nothing needs an expired token; the day keeps recent ones visible to `get_tokens`
 * (`includeExpired`) and to whoever investigates. Sessions (ended or expired): a token issued
 * through a session is refused once it has ended or is gone alike.
 */
export const RETENTION_GRACE_MS = 24 * 3600_000
/**
 * The change feed is read by polls that look 5 s back, and an instance that starts loads its
 * deny-list from the tokens, not from the feed: ten minutes is ample.
 */
export const CHANGE_RETENTION_MS = 10 * 60_000
/** The setting that holds the purge lease: `<holder>:<expiry ms>`. */
export const LEASE_KEY = 'retention_lease'
/** A lease outlives a stalled holder by at most this; the holder renews it between batches. */
export const LEASE_MS = 60_000

export interface RetentionOptions {
  /** Audit events older than this many days are purged; 0 keeps them forever. */
  auditRetentionDays: number
  /**
   * Refresh token lifetime (seconds). Authorization codes are kept this long past their
   * expiry: a code presented again revokes every token its first exchange issued (refresh
   * tokens included), which needs the code row.
   */
  refreshTokenTtl: number
  /** Login lockout (seconds): a failure record is kept at least this long past its lock. */
  loginLockoutSeconds: number
  /** Who holds the lease (unique per purger; random by default). */
  holder?: string
}

/** Rows deleted per table by one run. */
export type PurgeCounts = Record<'tokens' | 'authorizationCodes' | 'sessions' | 'loginFailures' | 'changes' | 'auditEvents' | 'usedValues', number>

type Purge = { table: keyof Database, key: string, column: string, before: number, extra?: 'unlocked' | 'locked' }

/**
 * Deletes what has outlived its use, PURGE_BATCH rows per statement, with a lease in `settings`
 * so that of several instances one purges at a time. The lease is taken and renewed with a
 * conditional write (compare-and-set on the stored value), which both engines make atomic.
 */
export class RetentionPurger {
  readonly holder: string
  private lease: string | undefined

  constructor (private readonly store: Store, private readonly options: RetentionOptions) {
    this.holder = options.holder ?? randomBytes(9).toString('base64url')
  }

  /** Takes (or renews) the lease; false when another purger holds an unexpired one. */
  async acquire (now = Date.now()): Promise<boolean> {
    const db = this.store.db
    const value = `${this.holder}:${now + LEASE_MS}`
    const inserted = await guard('setting', () => db.insertInto('settings').values({ key: LEASE_KEY, value }).onConflict(oc => oc.column('key').doNothing()).executeTakeFirst())
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) {
      this.lease = value
      return true
    }
    const current = await this.store.settings.get(LEASE_KEY)
    if (current === undefined) return false
    const colon = current.lastIndexOf(':')
    const holder = current.slice(0, colon)
    const expires = Number(current.slice(colon + 1))
    if (holder !== this.holder && Number.isFinite(expires) && expires > now) return false
    // Only if nobody changed it since it was read: of two purgers racing here, one wins.
    const result = await guard('setting', () => db.updateTable('settings').set({ value }).where('key', '=', LEASE_KEY).where('value', '=', current).executeTakeFirst())
    if (Number(result.numUpdatedRows) !== 1) return false
    this.lease = value
    return true
  }

  /** Gives the lease up (when still held), so that another instance need not wait for it to expire. */
  async release (): Promise<void> {
    const lease = this.lease
    if (lease === undefined) return
    this.lease = undefined
    await guard('setting', () => this.store.db.updateTable('settings').set({ value: `${this.holder}:0` }).where('key', '=', LEASE_KEY).where('value', '=', lease).execute())
  }

  /**
   * One purge, when the lease can be had: undefined when another purger holds it. `stopped`
   * is asked between batches (closing the server stops a run early).
   */
  async run (stopped: () => boolean = () => false, now = Date.now()): Promise<PurgeCounts | undefined> {
    if (!await this.acquire(now)) return undefined
    try {
      const counts: PurgeCounts = { tokens: 0, authorizationCodes: 0, sessions: 0, loginFailures: 0, changes: 0, auditEvents: 0, usedValues: 0 }
      if (!await this.purgeUsedValues(counts, stopped, now)) return counts
      const grace = now - RETENTION_GRACE_MS
      const plan: Purge[] = [
        { table: 'tokens', key: 'tokens', column: 'expires_at', before: grace },
        { table: 'authorization_codes', key: 'authorizationCodes', column: 'expires_at', before: Math.min(grace, now - this.options.refreshTokenTtl * 1000) },
        { table: 'sessions', key: 'sessions', column: 'expires_at', before: grace },
        { table: 'sessions', key: 'sessions', column: 'ended_at', before: grace },
        // A failure count that never reached a lock is forgotten a day after it started; a lock
        // a day (at least the lockout) after it lifted.
        { table: 'login_failures', key: 'loginFailures', column: 'first_at', before: grace, extra: 'unlocked' },
        { table: 'login_failures', key: 'loginFailures', column: 'locked_until', before: Math.min(grace, now - this.options.loginLockoutSeconds * 1000), extra: 'locked' },
        { table: 'changes', key: 'changes', column: 'at', before: now - CHANGE_RETENTION_MS }
      ]
      if (this.options.auditRetentionDays > 0) {
        plan.push({ table: 'audit_events', key: 'auditEvents', column: 'at', before: now - this.options.auditRetentionDays * 86_400_000 })
      }
      for (const purge of plan) {
        for (;;) {
          if (stopped()) return counts
          const deleted = await this.deleteBatch(purge)
          counts[purge.key as keyof PurgeCounts] += deleted
          if (deleted < PURGE_BATCH) break
          // Other requests run between batches; a lease lost meanwhile (a stall past
          // LEASE_MS) ends this run: another purger has taken over.
          await new Promise(resolve => setTimeout(resolve, 0))
          if (!await this.acquire()) return counts
        }
      }
      return counts
    } finally {
      await this.release()
    }
  }

  /**
   * One-time values only (client assertion and DPoP proof `jti`s, ID-JAG ids), when the lease can
   * be had: they pile up with every DPoP request, so they are purged every minute, not with the
   * rest. Undefined when another purger holds the lease.
   */
  async runUsedValues (stopped: () => boolean = () => false, now = Date.now()): Promise<number | undefined> {
    if (!await this.acquire(now)) return undefined
    try {
      const counts = { usedValues: 0 }
      await this.purgeUsedValues(counts, stopped, now)
      return counts.usedValues
    } finally {
      await this.release()
    }
  }

  /**
   * Deletes the one-time values past their time: a value is refused by its own expiry from then
   * on, so none needs its row. False when the run was stopped or lost its lease.
   */
  private async purgeUsedValues (counts: { usedValues: number }, stopped: () => boolean, now: number): Promise<boolean> {
    for (;;) {
      if (stopped()) return false
      const deleted = await this.store.usedValues.purgeExpired(now, PURGE_BATCH)
      counts.usedValues += deleted
      if (deleted < PURGE_BATCH) return true
      await new Promise(resolve => setTimeout(resolve, 0))
      if (!await this.acquire()) return false
    }
  }

  /** Deletes up to PURGE_BATCH rows of `purge.table` whose `purge.column` is before `purge.before`. */
  private async deleteBatch (purge: Purge): Promise<number> {
    const db = this.store.db as any
    // login_failures is keyed by `key`; every other table by `id`.
    const id = purge.table === 'login_failures' ? 'key' : 'id'
    let victims = db.selectFrom(purge.table).select(id).where(purge.column, '<', purge.before)
    if (purge.extra === 'unlocked') victims = victims.where('locked_until', '=', 0)
    if (purge.extra === 'locked') victims = victims.where('locked_until', '>', 0)
    const result = await guard(purge.table, () => db.deleteFrom(purge.table).where(id, 'in', victims.limit(PURGE_BATCH)).executeTakeFirst()) as { numDeletedRows: bigint }
    return Number(result.numDeletedRows)
  }
}
