import { sql } from 'kysely'
import type { DB, Engine, Queryable } from './db.js'
import { decodeCursor, escapeLike, pageLimit, type PageRequest } from './paging.js'
import { FTS_TABLES, SEARCH_COLUMNS, TRIGRAM, type SearchableTable } from './search.js'

/** Values per `in (…)` list: well below SQLite's and PostgreSQL's parameter limits. */
export const IN_LIST_MAX = 500

export interface ListRequest extends PageRequest {
  owner?: string
  filter?: string
}

/**
 * One page of an entity table by id, optionally of one owner and filtered on its searched
 * columns (SEARCH_COLUMNS). Pages are keyset (`id > cursor`) along the `(owner, id)` index.
 *
 * The filter is a case-insensitive substring of any searched column; the `lower(col) like`
 * test below decides which rows match, on both engines, whatever narrows them first. On
 * PostgreSQL, `pg_trgm` indexes on `lower(col)` answer that test itself. On SQLite, a filter of
 * three characters or more first narrows the rows to those the table's FTS5 trigram index
 * finds (case-folded, so a superset of the matches); a shorter one has no trigram to look up,
 * and the owner's rows are read in id order until a page is found.
 */
export function listQuery<T extends SearchableTable> (q: { db: Queryable, engine: Engine }, table: T, req: ListRequest) {
  const after = decodeCursor(req.cursor)
  let query = (q.db as DB).selectFrom(table as SearchableTable).selectAll()
  if (req.owner !== undefined) query = query.where('owner' as any, '=', req.owner)
  if (after !== undefined) query = query.where('id', '>', after)
  if (req.filter !== undefined && req.filter !== '') {
    const lowered = req.filter.toLowerCase()
    const pattern = `%${escapeLike(lowered)}%`
    if (q.engine === 'sqlite' && FTS_TABLES.has(table) && [...lowered].length >= TRIGRAM) {
      const search = sql.table(`${table}_search`)
      // A quoted FTS5 string: every character literal, `"` doubled.
      const phrase = `"${lowered.replaceAll('"', '""')}"`
      query = query.where(sql<boolean>`rowid in (select rowid from ${search} where ${search} match ${phrase})`)
    }
    const searchable: readonly string[] = SEARCH_COLUMNS[table]
    query = query.where(eb => eb.or(searchable.map(col => eb(sql`lower(${sql.ref(col)})`, 'like', sql`${pattern} escape '\\'`))))
  }
  return query.orderBy('id').limit(pageLimit(req.limit) + 1)
}
