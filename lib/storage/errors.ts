export type StoreErrorCode = 'not_found' | 'conflict' | 'invalid' | 'unavailable'

/** A storage failure a caller can act on; its message is safe to show. */
export class StoreError extends Error {
  readonly code: StoreErrorCode
  /**
   * 400 for `invalid` (the caller's value is at fault: e.g. text PostgreSQL cannot store), so
   * that any error handler that reaches it answers a 4xx in its own shape, never a 500.
   */
  readonly statusCode?: number
  constructor (code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreError'
    this.code = code
    if (code === 'invalid') this.statusCode = 400
  }
}

const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '53300'])
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])

/** Whether an error means the database could not be reached (as opposed to a bad query). */
export function isUnavailable (err: unknown): boolean {
  if (err instanceof StoreError) return err.code === 'unavailable'
  const e = err as { code?: string, message?: string }
  if (typeof e?.code === 'string' && (PG_UNAVAILABLE.has(e.code) || NET_UNAVAILABLE.has(e.code))) return true
  const message = typeof e?.message === 'string' ? e.message : ''
  return /timeout exceeded when trying to connect|Connection terminated|connection ended|not open|SQLITE_BUSY|database is locked|Cannot use a pool after calling end/i.test(message)
}

/**
 * Turns a driver error into a StoreError: unique and foreign-key violations become clear
 * conflicts, an unreachable database becomes `unavailable`; anything else is rethrown as is.
 */
export function translate (err: unknown, what: string): never {
  if (err instanceof StoreError) throw err
  const e = err as { code?: string }
  const code = typeof e?.code === 'string' ? e.code : ''
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    throw new StoreError('conflict', `${what} already exists`, { cause: err })
  }
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    throw new StoreError('invalid', `${what} refers to something that does not exist`, { cause: err })
  }
  // PostgreSQL text cannot hold U+0000 (SQLite can): the caller's value is at fault, not the server.
  if (code === '22021' || code === '22P05') {
    throw new StoreError('invalid', `${what}: a text value holds a character that cannot be stored (U+0000)`, { cause: err })
  }
  if (isUnavailable(err)) throw new StoreError('unavailable', 'the database is unavailable', { cause: err })
  throw err
}

/** Runs a query, turning its driver error into a StoreError about `what`. */
export async function guard<T> (what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    translate(err, what)
  }
}

export function notFound (what: string, id: string): StoreError {
  return new StoreError('not_found', `${what} ${JSON.stringify(id)} not found`)
}
