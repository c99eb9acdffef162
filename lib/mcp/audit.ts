import type { AuditEvent } from '../storage/models.js'
import type { Store } from '../storage/store.js'
import type { Log } from '../logger.js'
import { uuidv7 } from '../crypto.js'
import { escapeBadText } from '../bad-text.js'
import { isUnavailable } from '../storage/errors.js'
import { SECRET_NAMES } from '../secret-names.js'

/** One tool call as the audit log keeps it; the id is given when it is recorded. */
export type AuditRecord = Omit<AuditEvent, 'id'>

export interface AuditLog {
  /** Queues an event; it reaches the database within `AUDIT_FLUSH_MS`. Never throws, never waits. */
  record: (event: AuditRecord) => void
  /** Writes every queued event now (tests, shutdown). */
  flush: () => Promise<void>
}

/** How long an event may wait in memory: a `kill -9` loses at most about twice this. */
export const AUDIT_FLUSH_MS = 50
/** A batch this large is written at once instead of waiting for the timer. */
const BATCH = 500
/** Past this many unwritten events (database down), the oldest are dropped, loudly. */
const MAX_PENDING = 50_000

/**
 * Tool argument keys whose values are kept out of the audit log: the secret names, and any key
 * that merely looks like one (matched anywhere in the key, in any case), since tools name their
 * arguments freely.
 */
const SECRET_KEY = new RegExp([...SECRET_NAMES, 'pass(word|phrase)?', 'secret', 'token', 'credential', 'private', 'authorization', 'cookie', 'api[-_]?key', 'code_?verifier'].join('|'), 'i')
const REDACTED = '[Redacted]'
const MAX_DEPTH = 8
const MAX_STRING = 1024
const MAX_ITEMS = 100

/**
 * A copy of tool arguments fit for the audit log: values under secret-looking keys replaced,
 * long strings and arrays cut, deep nesting stopped — the log says what was asked, not more.
 */
export function redactSecrets (value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_DEPTH) return '[Truncated]'
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map(v => redactSecrets(v, depth + 1))
    if (value.length > MAX_ITEMS) items.push(`[${value.length - MAX_ITEMS} more]`)
    return items
  }
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactSecrets(v, depth + 1)
  }
  return out
}

/**
 * An event whose text no engine can store (U+0000, lone surrogates: a tool name is whatever the
 * caller sent) would fail its whole batch on PostgreSQL: such text is stored escaped. The
 * arguments need nothing here: they are stored as JSON, which escapes both.
 */
function storable (event: AuditRecord): AuditRecord {
  return {
    ...event,
    principal: escapeBadText(event.principal),
    principalKind: escapeBadText(event.principalKind),
    organization: escapeBadText(event.organization),
    clientId: escapeBadText(event.clientId),
    clientKind: escapeBadText(event.clientKind ?? ''),
    provider: escapeBadText(event.provider ?? ''),
    externalSubject: escapeBadText(event.externalSubject ?? ''),
    tool: escapeBadText(event.tool),
    error: escapeBadText(event.error)
  }
}

/**
 * The write-behind queue: callers append in memory (the hot path never waits for the
 * database); a timer writes batches at least every AUDIT_FLUSH_MS; close writes the rest.
 * `onDropped` counts events the database refused one by one (not for being down).
 */
export function createAuditLog (store: Pick<Store, 'audit'>, log: Log, onDropped: (count: number) => void = () => {}): AuditLog & { close: () => Promise<void> } {
  let pending: AuditEvent[] = []
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> | undefined
  let closed = false
  let lastComplaint = 0

  function schedule (): void {
    if (timer !== undefined || closed) return
    timer = setTimeout(onTimer, AUDIT_FLUSH_MS)
    // Keep no process alive for the audit log: close() writes what is left.
    timer.unref()
  }

  function onTimer (): void {
    timer = undefined
    flush().catch(() => {})
  }

  async function writeBatch (): Promise<void> {
    const batch = pending
    pending = []
    try {
      await store.audit.insertMany(batch)
    } catch (err) {
      if (!isUnavailable(err)) {
        // The database is up but refused the batch: some event in it is at fault. Written one
        // by one, the others get in and only the faulty ones are dropped — a retry would
        // fail the same way forever and hold back every later event.
        await writeOneByOne(batch)
        return
      }
      // Put them back (in order) so the next flush retries; bounded, so a long outage cannot
      // exhaust memory.
      pending = batch.concat(pending)
      if (pending.length > MAX_PENDING) {
        const dropped = pending.length - MAX_PENDING
        pending = pending.slice(dropped)
        log.error({ dropped }, 'audit events dropped: the database has been unavailable too long')
      }
      // Retried every AUDIT_FLUSH_MS; say so at most once a second.
      const now = Date.now()
      if (now - lastComplaint >= 1000) {
        lastComplaint = now
        log.error({ err: { message: (err as Error).message }, events: pending.length }, 'audit events not written yet')
      }
      throw err
    }
  }

  async function writeOneByOne (batch: AuditEvent[]): Promise<void> {
    let dropped = 0
    let code: unknown
    let down: unknown
    for (let i = 0; i < batch.length; i++) {
      try {
        await store.audit.insertMany([batch[i]])
      } catch (err) {
        if (isUnavailable(err)) {
          // Down meanwhile: the rest waits for the next flush, as any batch would.
          pending = batch.slice(i).concat(pending)
          down = err
          break
        }
        dropped++
        code ??= (err as { cause?: { code?: unknown } }).cause?.code ?? (err as { code?: unknown }).code
      }
    }
    if (dropped > 0) {
      onDropped(dropped)
      // Holds no event content: a tool name or an argument may be what the database refused.
      log.error({ dropped, code }, 'audit events dropped: the database refused them')
    }
    if (down !== undefined) throw down
  }

  async function flush (): Promise<void> {
    // One write at a time; events queued meanwhile go in the next batch.
    for (let current = writing; current !== undefined; current = writing) await current.catch(() => {})
    if (pending.length === 0) return
    writing = writeBatch().finally(() => { writing = undefined })
    try {
      await writing
    } finally {
      if (pending.length > 0) schedule()
    }
  }

  return {
    record (event) {
      if (closed) {
        log.warn({ tool: event.tool }, 'audit event after close, not recorded')
        return
      }
      pending.push({ id: uuidv7(event.at), ...storable(event) })
      if (pending.length >= BATCH && writing === undefined) flush().catch(() => {})
      else schedule()
    },
    flush,
    async close () {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      try {
        await flush()
      } catch {
        log.error({ events: pending.length }, 'audit events lost at shutdown: the database did not take them')
      }
    }
  }
}
