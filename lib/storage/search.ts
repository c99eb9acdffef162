import { sql, type Kysely } from 'kysely'

/**
 * What a list's `filter` searches, per table: a case-insensitive substring of any of these
 * columns. The one place the lists, the PostgreSQL trigram indexes below and the bench read it
 * (migration 0006 keeps its own frozen copy for SQLite's FTS5 tables).
 */
export const SEARCH_COLUMNS = {
  organizations: ['name', 'display_name'],
  users: ['name', 'display_name', 'email'],
  applications: ['name', 'display_name'],
  roles: ['name', 'display_name'],
  permissions: ['name', 'display_name'],
  // Policy objects: a handful per organization, listed along their (owner, id) index.
  identity_providers: ['name', 'display_name', 'issuer'],
  connections: ['name', 'display_name', 'audience', 'resource']
} as const satisfies Record<string, readonly string[]>

export type SearchableTable = keyof typeof SEARCH_COLUMNS

/** SQLite tables that have an FTS5 trigram index `<table>_search` (migration 0006). */
export const FTS_TABLES: ReadonlySet<string> = new Set(['users', 'applications', 'roles', 'permissions'])

/**
 * Trigram indexes match substrings of at least three characters. A shorter filter is looked up
 * in the table's gram index instead (migration 0013: every one- and two-character substring of
 * the searched columns), on the tables in FTS_TABLES, on both engines.
 */
export const TRIGRAM = 3

/**
 * SQLite: the FTS5 query for a filter of one or two characters in `<table>_grams`. Grams are
 * spelt in hex (UTF-8, as SQLite's `hex()` spells them), so that any character is a word; rows
 * whose text was too long to spell out are marked `long` and always candidates.
 */
export function sqliteGramQuery (lowered: string): string {
  return `"${Buffer.from(lowered, 'utf8').toString('hex').toUpperCase()}" OR "long"`
}

/**
 * On PostgreSQL, a `pg_trgm` GIN index on `lower(column)` for every searched column, so that
 * `lower(column) like '%…%'` (the filter, unchanged) is answered from the index. Idempotent, and
 * run after every migration: the extension is contrib, and may arrive after the first start.
 * Without it the service still works, filters read the organization's rows: the returned
 * sentence says so, for the log. (On SQLite, migration 0006 made FTS5 indexes.)
 */
export async function preparePostgresSearch (db: Kysely<any>): Promise<string | undefined> {
  try {
    await sql`create extension if not exists pg_trgm`.execute(db)
    for (const [table, columns] of Object.entries(SEARCH_COLUMNS)) {
      for (const column of columns) {
        // fastupdate off: new rows go into the index at once. With it on, they wait in a
        // pending list (up to 4 MB per index) that every search reads through, which was most of
        // a filter's time at a million users; writes to these tables are rare next to reads.
        await sql.raw(`create index if not exists ${table}_${column}_trgm on ${table} using gin (lower(${column}) gin_trgm_ops) with (fastupdate = off)`).execute(db)
      }
    }
    return undefined
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err)
    return `substring filters read every row of an organization: the pg_trgm extension could not be used (${cause}); install PostgreSQL's contrib package, or create the extension as a superuser, and restart`
  }
}
