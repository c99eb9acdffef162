import { EventEmitter } from 'node:events'
import type { DB, Queryable } from './db.js'
import { toChange, type Change, type ChangeKind } from './changes.schema.js'
import { guard } from './errors.js'
import { uuidv7 } from '../crypto.js'

export type { Change, ChangeKind } from './changes.schema.js'

/** Changes every instance must hear of: rows in the `changes` table, events on this instance. */
export class ChangeFeed extends EventEmitter<{ change: [Change] }> {
  constructor (private readonly db: DB) { super() }

  async insert (q: Queryable, kind: ChangeKind, ref: string): Promise<void> {
    const at = Date.now()
    await q.insertInto('changes').values({ id: uuidv7(at), at, kind, ref }).execute()
  }

  /** Tells this instance's caches at once; other instances learn it by polling `since`. */
  emitAll (changes: Array<[ChangeKind, string, (readonly string[])?]>): void {
    const at = Date.now()
    for (const [kind, ref, ids] of changes) this.emit('change', ids === undefined ? { id: '', at, kind, ref } : { id: '', at, kind, ref, ids })
  }

  async since (at: number): Promise<Change[]> {
    const rows = await guard('change', () => this.db.selectFrom('changes').selectAll().where('at', '>=', at).orderBy('at').execute())
    return rows.map(toChange)
  }

  async prune (before: number): Promise<void> {
    await guard('change', () => this.db.deleteFrom('changes').where('at', '<', before).execute())
  }
}
