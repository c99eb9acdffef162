import { sql, type ExpressionBuilder, type Selectable } from 'kysely'
import type { DB, Engine, Queryable } from './db.js'
import type { Database } from './schema.js'
import { decodeCursor, escapeLike, pageLimit, type PageRequest } from './paging.js'
import { FTS_TABLES, SEARCH_COLUMNS, sqliteGramQuery, TRIGRAM, type SearchableTable } from './search.js'

/** Values per `in (…)` list: well below SQLite's and PostgreSQL's parameter limits. */
export const IN_LIST_MAX = 500

export interface ListRequest extends PageRequest {
  owner?: string
  filter?: string
}

/**
 * On SQLite, a filter whose trigram or gram index finds at most this many rows (in every
 * organization) is answered from those rows; one that finds more, from the owner's rows in id
 * order.
 */
export const FTS_DRIVE_MAX = 1000

/**
 * On PostgreSQL, how many of the owner's rows a filter of one or two characters is first
 * tested on, in id order, before its gram index is asked: a filter that fills a page among them
 * (most do: few one- and two-character strings are rare) needs nothing else.
 */
export const SHORT_FILTER_WINDOW = 1000

/**
 * One page of an entity table by id (`limit + 1` rows, for `toPage`), optionally of one owner
 * and filtered on its searched columns (SEARCH_COLUMNS). Pages are keyset (`id > cursor`) along
 * the `(owner, id)` index.
 *
 * The filter is a case-insensitive substring of any searched column; the `lower(col) like`
 * test decides which rows match, on both engines, whatever narrows them first. The tables in
 * FTS_TABLES have two indexes for it: trigrams (migration 0006 on SQLite, `pg_trgm` on
 * PostgreSQL) for filters of three characters or more, and every one- and two-character
 * substring (migration 0013) for shorter ones.
 * - SQLite: the FTS5 index is asked first how many rows hold the filter (it stops counting past
 *   FTS_DRIVE_MAX, cheaply: FTS5 reads its lists lazily). Few: those rows are read and sorted.
 *   More: the owner's rows are read in id order until a page is full, which ends soon unless
 *   nearly all of them are in other organizations. SQLite's planner, left to itself, reads the
 *   owner's rows in both cases.
 * - PostgreSQL, three characters or more: the planner weighs the trigram indexes against the
 *   owner's rows in id order, and chooses well.
 * - PostgreSQL, one or two characters: the planner cannot judge a gram's rarity within one
 *   organization, and a GIN index cannot be read lazily (asking it how many rows hold "e" reads
 *   them all). So the owner's first SHORT_FILTER_WINDOW rows are tested; a page found there is
 *   the answer. Otherwise the filter is rare here, and the gram index's candidates in this
 *   organization are read and sorted.
 */
export async function listRows<T extends SearchableTable> (q: { db: Queryable, engine: Engine }, table: T, req: ListRequest): Promise<Array<Selectable<Database[T]>>> {
  const after = decodeCursor(req.cursor)
  const limit = pageLimit(req.limit)
  const lowered = req.filter !== undefined && req.filter !== '' ? req.filter.toLowerCase() : undefined
  const db = q.db as DB
  /** `from` narrowed to the page: owner, cursor, filter, order; `alias` names `from`'s rows. */
  const page = (from: any, alias: string = table): Promise<Array<Selectable<Database[T]>>> => {
    const col = (name: string) => sql.ref(`${alias}.${name}`)
    let query = from
    if (req.owner !== undefined) query = query.where(col('owner'), '=', req.owner)
    if (after !== undefined) query = query.where(col('id'), '>', after)
    if (lowered !== undefined) {
      const pattern = `%${escapeLike(lowered)}%`
      const searchable: readonly string[] = SEARCH_COLUMNS[table]
      query = query.where((eb: ExpressionBuilder<any, any>) => eb.or(searchable.map(c => eb(sql`lower(${col(c)})`, 'like', sql`${pattern} escape '\\'`))))
    }
    return query.orderBy(col('id')).limit(limit + 1).execute()
  }
  const ownerRows = (): any => db.selectFrom(table as SearchableTable).selectAll()
  if (lowered === undefined || !FTS_TABLES.has(table)) return await page(ownerRows())
  const short = [...lowered].length < TRIGRAM

  if (q.engine === 'sqlite') {
    const index = sql.table(short ? `${table}_grams` : `${table}_search`)
    // A quoted FTS5 string: every character literal, `"` doubled.
    const match = short ? sqliteGramQuery(lowered) : `"${lowered.replaceAll('"', '""')}"`
    const { rows } = await sql<{ n: number }>`select count(*) as n from (select 1 from ${index} where ${index} match ${match} limit ${FTS_DRIVE_MAX + 1})`.execute(db)
    if (Number(rows[0].n) > FTS_DRIVE_MAX) return await page(ownerRows())
    // CROSS JOIN: SQLite keeps the written order, so the index's matches drive.
    return await page((db.selectFrom(sql`${index}` as any).crossJoin(table as SearchableTable) as any).selectAll(table)
      .where(sql<boolean>`${index}.rowid = ${sql.table(table)}.rowid`).where(sql<boolean>`${index} match ${match}`))
  }

  if (!short) return await page(ownerRows())
  let edge = db.selectFrom(table as SearchableTable).select('id' as any)
  if (req.owner !== undefined) edge = edge.where('owner' as any, '=', req.owner)
  if (after !== undefined) edge = edge.where('id' as any, '>', after)
  const last = await edge.orderBy('id' as any).offset(SHORT_FILTER_WINDOW - 1).limit(1).executeTakeFirst() as { id: string } | undefined
  // Fewer rows than the window from here on: reading them all is the cheapest answer.
  if (last === undefined) return await page(ownerRows())
  const found = await page(ownerRows().where(sql.ref(`${table}.id`), '<=', last.id))
  if (found.length > limit) return found
  // Materialized: the candidates come from the gram index, whatever the planner thinks of the
  // owner's index, and are then tested and sorted like any rows.
  const columns = sql.join(SEARCH_COLUMNS[table].map(c => sql.ref(c)))
  let candidates = db.selectFrom(table as SearchableTable).selectAll().where(sql<boolean>`iam_short_grams(${columns}) @> array[${lowered}]::text[]`)
  if (req.owner !== undefined) candidates = candidates.where('owner' as any, '=', req.owner)
  return await page((db.with(cte => cte('candidates').materialized(), () => candidates) as any).selectFrom('candidates').selectAll(), 'candidates')
}
