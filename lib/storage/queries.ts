import { sql } from 'kysely'
import type { DB, Queryable } from './db.js'
import type { Database } from './schema.js'
import { decodeCursor, escapeLike, pageLimit, type PageRequest } from './paging.js'
import { entityId } from './names.js'

/** Values per `in (…)` list: well below SQLite's and PostgreSQL's parameter limits. */
export const IN_LIST_MAX = 500

export interface ListRequest extends PageRequest {
  owner?: string
  filter?: string
}

/** One page of an entity table by id, optionally of one owner and filtered on `searchable` columns. */
export function listQuery<T extends keyof Database> (db: Queryable, table: T, req: ListRequest, searchable: string[]) {
  const after = decodeCursor(req.cursor)
  let query = (db as DB).selectFrom(table as any).selectAll()
  if (req.owner !== undefined) query = query.where('owner', '=', req.owner)
  if (after !== undefined) query = query.where('id', '>', after)
  if (req.filter !== undefined && req.filter !== '') {
    const pattern = `%${escapeLike(req.filter.toLowerCase())}%`
    query = query.where(eb => eb.or(searchable.map(col => eb(sql`lower(${sql.ref(col)})`, 'like', sql`${pattern} escape '\\'`))))
  }
  return query.orderBy('id').limit(pageLimit(req.limit) + 1)
}

/**
 * Rows whose `owner/name` column belongs to `owner`: an exact, case-sensitive prefix match on
 * both engines. (LIKE is ASCII case-insensitive on SQLite and has no default escape character
 * there, so `acme/%` would also match `Acme/…` and `acme_x/%` nothing.)
 */
export function ownedBy (column: string, owner: string) {
  const prefix = entityId(owner, '')
  return sql<boolean>`substr(${sql.ref(column)}, 1, ${sql.lit([...prefix].length)}) = ${prefix}`
}
