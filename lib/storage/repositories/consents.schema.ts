/** The `consents` table, as Kysely sees it: the scopes a user granted a client, space-separated. */
export interface ConsentRow {
  user_id: string
  client_id: string
  scope: string
  created_at: number
}
