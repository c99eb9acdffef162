import type { Principal } from '../principal.js'

/**
 * Results of cacheable read tools (`cacheable: true`), kept in memory per tool, caller and
 * arguments, and answered again while nothing they could depend on has changed:
 *
 * - a result is kept only when the store's write generation did not move while it was read,
 *   and is used only while it still has not (`Store.generation` moves after every write and
 *   every transaction this instance makes, and on every change event heard from the others);
 * - and for at most `ttlMs` (READ_CACHE_TTL, at most one second): other instances' writes are
 *   not all in the change feed, so that is how stale a read on a PostgreSQL cluster can be —
 *   the same bound DESIGN.md sets for revocations. On one instance a write is seen at once.
 *
 * Bounded by bytes: the oldest results go first (they are also the first to expire).
 */
export interface CachedResult<R> {
  result: R
  /** The result's JSON, as sent. */
  json: string
}

interface Entry<R> extends CachedResult<R> {
  generation: number
  expiresAt: number
  bytes: number
}

/** At most this many bytes of result JSON are kept. */
const BUDGET_BYTES = 16 * 1024 * 1024
/** Results larger than this are not kept: a few of them would push out everything else. */
const MAX_RESULT_BYTES = 256 * 1024

export class ReadCache<R> {
  private readonly entries = new Map<string, Entry<R>>()
  private bytes = 0
  // What a principal contributes to a key, per (frozen, shared) principal object.
  private readonly principalKeys = new WeakMap<Principal, string>()

  constructor (private readonly ttlMs: number, private readonly budgetBytes = BUDGET_BYTES) {}

  get enabled (): boolean { return this.ttlMs > 0 }

  /**
   * The key of a call: the tool, everything about the caller that a tool may look at, and the
   * arguments as sent (a different key order is only a miss).
   */
  key (tool: string, principal: Principal, args: unknown): string {
    let who = this.principalKeys.get(principal)
    if (who === undefined) {
      who = JSON.stringify([
        principal.kind, principal.id, principal.organization, principal.name, principal.isAdmin, principal.isGlobalAdmin,
        principal.clientId, principal.scopes === null ? null : [...principal.scopes].sort(), principal.via,
        principal.tokenId ?? null, principal.sessionId ?? null
      ])
      if (Object.isFrozen(principal)) this.principalKeys.set(principal, who)
    }
    return `${tool}\n${who}\n${JSON.stringify(args)}`
  }

  get (key: string, generation: number, now = Date.now()): CachedResult<R> | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.generation !== generation || entry.expiresAt <= now) {
      this.remove(key, entry)
      return undefined
    }
    return entry
  }

  /** Keeps a result read entirely at `generation` (the caller checked it did not move). */
  set (key: string, value: CachedResult<R>, generation: number, now = Date.now()): void {
    const bytes = value.json.length + key.length
    if (bytes > MAX_RESULT_BYTES) return
    const old = this.entries.get(key)
    if (old !== undefined) this.remove(key, old)
    this.entries.set(key, { ...value, generation, expiresAt: now + this.ttlMs, bytes })
    this.bytes += bytes
    // Oldest first: past the budget, or expired (nobody asked again in time).
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.budgetBytes && entry.expiresAt > now) break
      this.remove(oldest, entry)
    }
  }

  /** Bytes held (for tests and metrics). */
  get size (): { entries: number, bytes: number } { return { entries: this.entries.size, bytes: this.bytes } }

  private remove (key: string, entry: Entry<R>): void {
    this.entries.delete(key)
    this.bytes -= entry.bytes
  }
}
