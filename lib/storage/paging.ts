import { StoreError } from './errors.js'

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export interface PageRequest {
  limit?: number
  cursor?: string
}

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500

export function encodeCursor (key: string): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url')
}

/** The key after which the next page starts; a cursor we did not make is refused. */
export function decodeCursor (cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (typeof parsed?.k === 'string') return parsed.k
  } catch {}
  throw new StoreError('invalid', 'invalid cursor')
}

export function pageLimit (limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new StoreError('invalid', `limit must be an integer from 1 to ${MAX_LIMIT}`)
  }
  return limit
}

/** Given rows fetched with `limit + 1`, the page and the cursor for the next one. */
export function toPage<R, T> (rows: R[], limit: number, keyOf: (row: R) => string, map: (row: R) => T): Page<T> {
  const more = rows.length > limit
  const slice = more ? rows.slice(0, limit) : rows
  const page: Page<T> = { items: slice.map(map) }
  if (more) page.nextCursor = encodeCursor(keyOf(slice[slice.length - 1]))
  return page
}

export function escapeLike (value: string): string {
  return value.replace(/[\\%_]/g, c => '\\' + c)
}
