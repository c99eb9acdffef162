import { sql, type ExpressionBuilder, type Selectable } from 'kysely'
import type { DB, Engine, Queryable } from './db.js'
import type { Database } from './schema.js'
import { decodeCursor, escapeLike, pageLimit, type PageRequest } from './paging.js'
import { FTS_TABLES, SEARCH_COLUMNS, TRIGRAM, type SearchableTable } from './search.js'

/** Values per `in (…)` list: well below SQLite's and PostgreSQL's parameter limits. */
export const IN_LIST_MAX = 500

export interface ListRequest extends PageRequest {
  owner?: string
  filter?: string
}

/**
 * On SQLite, a filter whose trigram index finds at most this many rows (in every organization)
 * is answered from those rows; one that finds more, from the owner's rows in id order.
 */
export const FTS_DRIVE_MAX = 1000

/**
 * One page of an entity table by id (`limit + 1` rows, for `toPage`), optionally of one owner
 * and filtered on its searched columns (SEARCH_COLUMNS). Pages are keyset (`id > cursor`) along
 * the `(owner, id)` index.
 *
 * The filter is a case-insensitive substring of any searched column; the `lower(col) like`
 * test below decides which rows match, on both engines, whatever narrows them first:
 * - PostgreSQL: `pg_trgm` indexes on `lower(col)` answer that test, when the planner finds
 *   them cheaper than the owner's rows in id order.
 * - SQLite: the table's FTS5 trigram index (case-folded, so it finds a superset of the matches)
 *   is asked first how many rows hold the filter. Few (at most FTS_DRIVE_MAX): those rows are
 *   read and sorted. More: the owner's rows are read in id order until a page is full, which
 *   ends soon unless nearly all of them are in other organizations. A filter of one or two
 *   characters has no trigram, and takes the second way.
 * SQLite's planner, left to itself, reads the owner's rows in both cases.
 */
export async function listRows<T extends SearchableTable> (q: { db: Queryable, engine: Engine }, table: T, req: ListRequest): Promise<Array<Selectable<Database[T]>>> {
  const after = decodeCursor(req.cursor)
  const limit = pageLimit(req.limit)
  const lowered = req.filter !== undefined && req.filter !== '' ? req.filter.toLowerCase() : undefined
  const db = q.db as DB
  const col = (name: string) => sql.ref(`${table}.${name}`)
  let fromIndex = false
  const search = sql.table(`${table}_search`)
  // A quoted FTS5 string: every character literal, `"` doubled.
  const phrase = `"${(lowered ?? '').replaceAll('"', '""')}"`
  if (lowered !== undefined && q.engine === 'sqlite' && FTS_TABLES.has(table) && [...lowered].length >= TRIGRAM) {
    const { rows } = await sql<{ n: number }>`select count(*) as n from (select 1 from ${search} where ${search} match ${phrase} limit ${FTS_DRIVE_MAX + 1})`.execute(db)
    fromIndex = Number(rows[0].n) <= FTS_DRIVE_MAX
  }
  // CROSS JOIN: SQLite keeps the written order, so the trigram matches drive.
  let query = fromIndex
    ? (db.selectFrom(`${table}_search` as any).crossJoin(table as SearchableTable) as any).selectAll(table)
        .where(sql<boolean>`${search}.rowid = ${sql.table(table)}.rowid`).where(sql<boolean>`${search} match ${phrase}`)
    : db.selectFrom(table as SearchableTable).selectAll()
  if (req.owner !== undefined) query = query.where(col('owner'), '=', req.owner)
  if (after !== undefined) query = query.where(col('id'), '>', after)
  if (lowered !== undefined) {
    const pattern = `%${escapeLike(lowered)}%`
    const searchable: readonly string[] = SEARCH_COLUMNS[table]
    query = query.where((eb: ExpressionBuilder<any, any>) => eb.or(searchable.map(c => eb(sql`lower(${col(c)})`, 'like', sql`${pattern} escape '\\'`))))
  }
  return await query.orderBy(col('id')).limit(limit + 1).execute()
}
