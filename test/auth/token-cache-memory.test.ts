import { randomBytes, randomUUID } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { test } from 'tap'
import { entryBytes, SharedClaimsPool, TokenCache, VerifiedToken } from '../../lib/auth/token-cache.js'
import { toClaims, userPrincipal } from '../../lib/auth/access-token.js'
import type { User } from '../../lib/storage/models.js'

// The estimate the cache is bounded by (ENTRY_OVERHEAD_BYTES, README "Verified-token cache")
// must stay true: entries built as the auth plugin builds them, measured on the heap.
test('a cached token costs no more than its estimate', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const count = 50_000
  const issuer = 'https://iam.example'
  const payload = JSON.stringify({
    iss: issuer,
    sub: 'built-in/admin',
    aud: issuer,
    exp: Math.floor(Date.now() / 1000) + 3600,
    iat: Math.floor(Date.now() / 1000),
    nbf: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    scope: 'application:read application:write user:read user:write organization:read organization:write',
    client_id: 'client',
    sub_kind: 'user'
  })
  const user = { id: 'built-in/admin', owner: 'built-in', name: 'admin', isAdmin: true } as unknown as User
  const pool = new SharedClaimsPool()
  const cache = new TokenCache<VerifiedToken>(Number.MAX_SAFE_INTEGER)
  const keys: string[] = []
  function heap (): number {
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
  const before = heap()
  for (let i = 0; i < count; i++) {
    // A new jti per token, parsed from JSON as a verified token's claims are.
    const claims = toClaims(JSON.parse(payload.replace(/"jti":"[^"]+"/, `"jti":"${randomUUID()}"`)) as Record<string, unknown>)
    if (claims === undefined) throw new Error('bad claims')
    const entry = new VerifiedToken(claims, pool.of(claims))
    const { shared } = entry
    entry.principal = Object.freeze(userPrincipal(user, shared.client_id, shared.scopes, 'bearer', { tokenId: entry.jti, sessionId: entry.sid }))
    entry.checkedGeneration = 1
    entry.checkedUntil = Math.floor(Date.now() / 1000) + 60
    const key = TokenCache.keyOf(`${randomBytes(24).toString('base64url')}.${i}`)
    cache.set(key, entry)
    keys.push(key)
  }
  // Hits move entries along the recency list: whatever that leaves behind is part of the cost.
  for (let round = 0; round < 2; round++) for (const key of keys) cache.get(key)
  const keysBytes = keys.length * 8
  const perEntry = (heap() - before - keysBytes) / count
  t.equal(cache.size, count)
  const estimate = entryBytes(randomUUID())
  t.ok(perEntry <= estimate, `${Math.round(perEntry)} bytes measured an entry, ${estimate} estimated`)
  t.ok(perEntry >= estimate * 0.6, `the estimate is not far above the measure either (${Math.round(perEntry)} of ${estimate})`)
})
