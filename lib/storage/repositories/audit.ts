import { CompiledQuery } from 'kysely'
import type { StorageContext } from '../context.js'
import { StoreError, guard } from '../errors.js'
import { json } from '../columns.js'
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from '../paging.js'
import { toAuditEvent, type AuditEvent } from './audit.schema.js'

export interface AuditQuery extends PageRequest {
  from?: number
  to?: number
  principal?: string
  tool?: string
  organization?: string
}

/** Rows per audit insert statement (at most; a power of two). */
const AUDIT_CHUNK = 32
const AUDIT_COLUMNS = ['id', 'at', 'principal', 'principal_kind', 'organization', 'client_id', 'client_kind', 'provider', 'external_subject', 'tool', 'outcome', 'duration_ms', 'arguments', 'error'] as const

export class AuditRepository {
  constructor (private readonly context: StorageContext) {}

  /**
   * Appends events in one transaction. The statements are written here, in a few fixed shapes
   * (chunks of 32, 16, … 1 rows), rather than built by the query builder: a batch is hundreds of
   * rows on a busy server, and building, compiling and preparing one statement of that size
   * every 50 ms cost more than the inserts themselves (as profiled). Fixed shapes stay
   * prepared in the statement cache. Not `context.transaction`: its end would move the
   * generation, and an append to the log changes nothing a tool reads.
   */
  async insertMany (events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return
    await guard('audit event', () => this.context.db.transaction().execute(async (trx) => {
      for (let i = 0; i < events.length;) {
        let n = AUDIT_CHUNK
        while (n > events.length - i) n >>= 1
        const params: unknown[] = []
        for (const e of events.slice(i, i + n)) {
          params.push(e.id, e.at, e.principal, e.principalKind, e.organization, e.clientId, e.clientKind ?? '', e.provider ?? '', e.externalSubject ?? '', e.tool, e.outcome, e.durationMs, json(e.arguments ?? {}), e.error)
        }
        await trx.executeQuery(CompiledQuery.raw(this.insertSql(n), params))
        i += n
      }
    }))
  }

  private readonly insertSqls = new Map<number, string>()
  private insertSql (rows: number): string {
    let text = this.insertSqls.get(rows)
    if (text === undefined) {
      let p = 0
      const row = (): string => `(${AUDIT_COLUMNS.map(() => this.context.engine === 'postgres' ? `$${++p}` : '?').join(', ')})`
      text = `insert into "audit_events" (${AUDIT_COLUMNS.map(c => `"${c}"`).join(', ')}) values ${Array.from({ length: rows }, row).join(', ')}`
      this.insertSqls.set(rows, text)
    }
    return text
  }

  /** Newest first. The cursor is the `at:id` of the last event of the previous page. */
  async list (req: AuditQuery = {}): Promise<Page<AuditEvent>> {
    const limit = pageLimit(req.limit)
    const after = decodeCursor(req.cursor)
    let query = this.context.db.selectFrom('audit_events').selectAll()
    if (req.from !== undefined) query = query.where('at', '>=', req.from)
    if (req.to !== undefined) query = query.where('at', '<=', req.to)
    if (req.principal !== undefined) query = query.where('principal', '=', req.principal)
    if (req.tool !== undefined) query = query.where('tool', '=', req.tool)
    if (req.organization !== undefined) query = query.where('organization', '=', req.organization)
    if (after !== undefined) {
      const sep = after.indexOf(':')
      const at = Number(after.slice(0, sep))
      const id = after.slice(sep + 1)
      if (sep < 0 || !Number.isFinite(at)) throw new StoreError('invalid', 'invalid cursor')
      // A row value: one range along the (…, at, id) indexes, however deep the page.
      query = query.where(eb => eb(eb.refTuple('at', 'id'), '<', eb.tuple(at, id)))
    }
    const rows = await guard('audit event', () => query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute())
    return toPage(rows, limit, r => `${r.at}:${r.id}`, toAuditEvent)
  }
}
