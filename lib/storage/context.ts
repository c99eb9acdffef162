import type { Transaction } from 'kysely'
import type { DB, Engine } from './db.js'
import type { Database } from './schema.js'
import type { ChangeKind } from './changes.schema.js'
import { translate } from './errors.js'
import { ChangeFeed } from './changes.js'
import { WriteCounter } from './write-counter.js'
import { secretDigest } from '../crypto.js'

export type { Queryable } from './db.js'

/** A write under way: its transaction, and the changes it tells every instance about. */
export interface Write {
  readonly trx: Transaction<Database>
  /** Adds a change row in this transaction; this instance hears of it once the transaction commits. */
  record: (kind: ChangeKind, ref: string, ids?: readonly string[]) => Promise<void>
}

/** What every repository shares: the database, its engine, the change feed and the digest key. */
export class StorageContext {
  readonly db: DB
  readonly changes: ChangeFeed
  private writes = 0
  private digestKey = ''

  /**
   * `durable` resolves once every write committed before the call is on stable storage
   * (SQLite's group commit, lib/storage/db.ts); a write acknowledged to a caller waits for it.
   */
  constructor (db: DB, readonly engine: Engine, readonly durable: () => Promise<void> = async () => {}) {
    this.db = db.withPlugin(new WriteCounter(() => { this.writes++ }))
    this.changes = new ChangeFeed(this.db)
    // Change events: this instance's (after their commit) and, replayed from the feed, the
    // other instances' writes, which nothing else here would see.
    this.changes.on('change', () => { this.writes++ })
  }

  /**
   * Moves after every write through this context that tools can read back (the append-only
   * logs — audit events, the change feed, login failures — excepted), and after every
   * transaction ends, and on every change event: a result read before it moved may be stale.
   * Other instances' writes that the change feed does not carry are not seen here.
   */
  get generation (): number { return this.writes }

  /** Sets the key secret digests use: one for every instance, stored in the database. */
  useDigestKey (key: string): void {
    this.digestKey = key
  }

  digest (secret: string): string {
    if (this.digestKey === '') throw new Error('store.init() was not called')
    return secretDigest(this.digestKey, secret)
  }

  async transaction<T> (work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction().execute(work)
    } catch (err) {
      translate(err, 'record')
    } finally {
      // Its statements counted as they ran, before the commit made them visible: count the end
      // too, or a read made in between could be kept as current.
      this.writes++
    }
  }

  /**
   * Runs `work` in a transaction whose recorded changes are in the feed when it commits and
   * are told to this instance's listeners after, never before: a cache refilled in between
   * would keep what the commit replaced.
   */
  async write<T> (work: (write: Write) => Promise<T>): Promise<T> {
    const changed: Array<[ChangeKind, string, (readonly string[])?]> = []
    const result = await this.transaction(async (trx) => await work({
      trx,
      record: async (kind, ref, ids) => {
        changed.push([kind, ref, ids])
        await this.changes.insert(trx, kind, ref)
      }
    }))
    this.changes.emitAll(changed)
    return result
  }
}
