/**
 * The one place that knows the scope rules. Tool modules declare the scopes they need; the
 * set of known scopes is derived from those declarations, never listed by hand.
 *
 * - A tool needs all of its declared scopes; `X:write` does not imply `X:read`.
 * - Aliases: `read` (every `*:read`), `write` (every `*:write`), `admin` (everything). They are
 *   expanded when a token is issued and are never advertised.
 */
export const ALIASES = ['read', 'write', 'admin'] as const
export const OIDC_SCOPES = ['openid', 'profile', 'email'] as const

export const SCOPE_PATTERN = /^[a-z][a-z0-9_-]*:(read|write)$/

export function isAlias (scope: string): boolean {
  return (ALIASES as readonly string[]).includes(scope)
}

export function parseScope (scope: string | undefined | null): string[] {
  if (scope === undefined || scope === null) return []
  return [...new Set(scope.split(' ').filter(Boolean))]
}

/**
 * Expands aliases against the known tool scopes and drops what is unknown. OIDC scopes pass
 * through when `keepOidc` is set (user flows).
 */
export function expandScopes (requested: Iterable<string>, known: ReadonlySet<string>, keepOidc = false): string[] {
  const out = new Set<string>()
  for (const scope of requested) {
    if (scope === 'admin') for (const k of known) out.add(k)
    else if (scope === 'read') for (const k of known) { if (k.endsWith(':read')) out.add(k) }
    else if (scope === 'write') for (const k of known) { if (k.endsWith(':write')) out.add(k) }
    else if (known.has(scope)) out.add(scope)
    else if (keepOidc && (OIDC_SCOPES as readonly string[]).includes(scope)) out.add(scope)
  }
  return sortScopes(out)
}

/** Whether `granted` holds every scope in `required` (no implication between scopes). */
export function hasAllScopes (granted: ReadonlySet<string>, required: readonly string[]): boolean {
  for (const scope of required) if (!granted.has(scope)) return false
  return true
}

/** OIDC scopes first, then the rest alphabetically: a stable order for documents and tokens. */
export function sortScopes (scopes: Iterable<string>): string[] {
  const oidc = OIDC_SCOPES as readonly string[]
  return [...new Set(scopes)].sort((a, b) => {
    const ia = oidc.indexOf(a)
    const ib = oidc.indexOf(b)
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib)
    return a < b ? -1 : a > b ? 1 : 0
  })
}
