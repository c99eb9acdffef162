/**
 * `token.revoked` names one token; `tokens.revoked` names a group, `<column>:<value>` (e.g.
 * `client_id:abc`), whose tokens were revoked in one statement: a reader resolves it to the
 * revoked ids (`TokenRepository.revokedIn`).
 */
export type ChangeKind = 'token.revoked' | 'tokens.revoked' | 'user.changed' | 'application.changed' | 'session.ended' | 'key.rotated'

/** The `changes` table, as Kysely sees it: an append-only feed of what invalidates cached auth state; every instance polls it. */
export interface ChangeRow {
  id: string
  at: number
  kind: string
  ref: string
}

/** A change as the feed returns and emits it. */
export interface Change {
  id: string
  at: number
  kind: ChangeKind
  ref: string
  /**
   * For `tokens.revoked`: the ids the group held when it was revoked. Set on this instance's
   * own events (the writer knows them) and on feed changes once resolved; never stored.
   */
  ids?: readonly string[]
}

export function toChange (r: ChangeRow): Change {
  return { id: r.id, at: r.at, kind: r.kind as ChangeKind, ref: r.ref }
}
