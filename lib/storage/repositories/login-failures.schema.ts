/** The `login_failures` table, as Kysely sees it: failed sign-ins counted per key. */
export interface LoginFailureRow {
  key: string
  failures: number
  first_at: number
  locked_until: number
}
