export type ChangeKind = 'token.revoked' | 'user.changed' | 'application.changed' | 'session.ended' | 'key.rotated'

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
}

export function toChange (r: ChangeRow): Change {
  return { id: r.id, at: r.at, kind: r.kind as ChangeKind, ref: r.ref }
}
