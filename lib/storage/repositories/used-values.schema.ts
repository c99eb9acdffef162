/**
 * The `used_values` table, as Kysely sees it: values that may be presented once (a client
 * assertion's or a DPoP proof's `jti`), kept until they could no longer be accepted anyway.
 */
export interface UsedValueRow {
  /** What the value is, e.g. `client_assertion` or `dpop`: the same value may be used once per kind. */
  kind: string
  value: string
  /** After this, the value would be refused for its age, so the row can go. */
  expires_at: number
}
