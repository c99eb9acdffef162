import { test } from 'tap'
import { CacheEntry, entryBytes, SharedClaimsPool, TokenCache, VerifiedToken } from '../../lib/auth/token-cache.js'
import type { AccessTokenClaims } from '../../lib/jwt.js'
import type { User } from '../../lib/storage/models.js'
import { samePrincipal, userPrincipal } from '../../lib/auth/access-token.js'

/** An entry as the cache sees one: an expiry (epoch seconds) and an estimated size. */
class Numbered extends CacheEntry {
  constructor (readonly n: number, readonly expiresAtSeconds: number, readonly bytes: number) { super() }
}

function entry (n: number, expiresAtMs: number, bytes: number): Numbered {
  return new Numbered(n, Math.floor(expiresAtMs / 1000), bytes)
}

test('the token cache is bounded by bytes, keeps what is used, and forgets what expired', async (t) => {
  const cache = new TokenCache<Numbered>(10_000)
  const far = Date.now() + 60_000
  for (let i = 0; i < 1000; i++) {
    cache.set(`k${i}`, entry(i, far, 100))
    // k0 is used all along: it must survive the evictions.
    t.equal(cache.get('k0')?.n, 0)
    if (cache.bytes > 10_000) t.fail(`holds ${cache.bytes} bytes after ${i + 1} entries`)
  }
  t.ok(cache.bytes <= 10_000, `within the budget: ${cache.bytes} bytes`)
  t.equal(cache.size, 100, 'all of the budget is used: 100 entries of 100 bytes')
  t.equal(cache.get('k999')?.n, 999, 'the newest is held')
  t.equal(cache.get('k1')?.n, undefined, 'an old one unused since was evicted')
  t.equal(cache.get('k0')?.n, 0, 'the one in use was kept')

  cache.set('soon', entry(1, Date.now() - 1, 100))
  t.equal(cache.get('soon')?.n, undefined, 'an expired entry is not answered')
  cache.set('huge', entry(1, far, 10_001))
  t.equal(cache.get('huge')?.n, undefined, 'an entry larger than the budget is not kept')
  cache.set('k999', entry(1000, far, 300))
  t.equal(cache.get('k999')?.n, 1000, 'replaced')
  t.ok(cache.bytes <= 10_000, 'within the budget')
  const held = cache.bytes
  cache.delete('k999')
  t.equal(cache.get('k999')?.n, undefined)
  t.equal(cache.bytes, held - 300, 'its bytes were counted once')
})

test('tokens presented in turn, as many as the budget holds, are all hits', async (t) => {
  const cache = new TokenCache<Numbered>(100 * 100)
  const far = Date.now() + 60_000
  for (let i = 0; i < 100; i++) cache.set(`k${i}`, entry(i, far, 100))
  let misses = 0
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) if (cache.get(`k${i}`) === undefined) misses++
  }
  t.equal(misses, 0)
  cache.set('k100', entry(100, far, 100))
  t.equal(cache.get('k0')?.n, undefined, 'one more evicts the least recently used')
  t.equal(cache.get('k1')?.n, 1, 'and only it')
})

test('keys are digests of the whole token', async (t) => {
  const a = 'aaa.bbb.ccc'
  t.equal(TokenCache.keyOf(a), TokenCache.keyOf('aaa.bbb.ccc'))
  t.not(TokenCache.keyOf(a), TokenCache.keyOf('aaa.bbb.ccd'), 'another signature is another key')
  t.match(TokenCache.keyOf(a), /^[A-Za-z0-9_-]{43}$/)
})

test('a verified token holds its own claims and shares the rest with its fleet', async (t) => {
  const pool = new SharedClaimsPool()
  const base: AccessTokenClaims = {
    iss: 'https://iam.example',
    sub: 'built-in/app',
    aud: ['https://iam.example', 'https://iam.example/api/mcp'],
    exp: 2_000_000_000,
    iat: 1_999_996_400,
    nbf: 1_999_996_400,
    jti: 'one',
    scope: 'user:read user:write',
    client_id: 'client',
    sub_kind: 'application'
  }
  const one = new VerifiedToken(base, pool.of(base))
  const two = new VerifiedToken({ ...base, jti: 'two', sid: 'session' }, pool.of({ ...base, jti: 'two', scope: 'user:read user:write', aud: [...base.aud] }))
  t.equal(one.shared, two.shared, 'one shared object for the same issuer, subject, client, scope and audience')
  t.same([...one.shared.scopes], ['user:read', 'user:write'])
  t.not(pool.of({ ...base, scope: 'user:read' }), one.shared, 'another scope string is another')
  t.same(one.claims(), base, 'the claims come back as verified')
  t.same(two.claims(), { ...base, jti: 'two', sid: 'session' })
  const bound = { ...base, cnf: { jkt: 'thumbprint' }, idp: 'idp', idp_sub: 'person' }
  t.same(new VerifiedToken(bound, pool.of(bound)).claims(), bound, 'rare claims too')
  t.equal(one.bytes, entryBytes('one'))
  t.equal(two.bytes, entryBytes('two', 'session'))
  t.equal(one.expiresAtSeconds, base.exp + 30, 'held until its expiry plus the clock tolerance')
})

test('the recency order survives deletes, expiries and replacements anywhere in it', async (t) => {
  const cache = new TokenCache<Numbered>(300)
  const far = Date.now() + 60_000
  for (const [i, key] of ['a', 'b', 'c'].entries()) cache.set(key, entry(i, far, 100))
  cache.delete('b')
  t.equal(cache.get('a')?.n, 0, 'a is now the newest')
  cache.set('d', entry(3, far, 100))
  cache.set('e', entry(4, far, 100))
  t.equal(cache.get('c')?.n, undefined, 'c, the least recently used, went first')
  t.same(['a', 'd', 'e'].map(k => cache.get(k)?.n), [0, 3, 4], 'the others stay')
  cache.set('d', entry(5, Date.now() - 1_000, 100))
  t.equal(cache.get('d'), undefined, 'an expired entry goes when read')
  t.equal(cache.size, 2)
  cache.set('f', entry(6, far, 100))
  cache.set('g', entry(7, far, 100))
  t.same(['a', 'e', 'f', 'g'].map(k => cache.get(k)?.n), [undefined, 4, 6, 7], 'then a, the oldest')
  cache.delete('g')
  cache.delete('e')
  cache.delete('f')
  t.equal(cache.size, 0)
  t.equal(cache.bytes, 0)
  cache.set('h', entry(8, far, 100))
  t.equal(cache.get('h')?.n, 8, 'an emptied cache works as new')
})

test('principals: extras set in place, and a recheck that finds the same keeps the one it had', async (t) => {
  const user = { id: 'org/ann', owner: 'org', name: 'ann', isAdmin: true } as unknown as User
  const scopes = new Set(['user:read'])
  const plain = userPrincipal(user, 'client', scopes, 'bearer')
  t.same(plain, { kind: 'user', id: 'org/ann', organization: 'org', name: 'ann', isAdmin: true, isGlobalAdmin: false, clientId: 'client', scopes, via: 'bearer' })
  t.notOk('tokenId' in plain, 'no extras, no extra properties')
  const provider = { id: 'idp', subject: 'ann@idp' }
  const full = userPrincipal(user, 'client', scopes, 'bearer', { tokenId: 'jti', sessionId: 'sid', provider })
  t.same(full, { ...plain, tokenId: 'jti', sessionId: 'sid', provider })
  t.ok(samePrincipal(full, userPrincipal(user, 'client', scopes, 'bearer', { tokenId: 'jti', sessionId: 'sid', provider: { ...provider } })))
  t.notOk(samePrincipal(full, userPrincipal(user, 'client', scopes, 'bearer', { tokenId: 'other', sessionId: 'sid', provider })), 'another token')
  t.notOk(samePrincipal(plain, userPrincipal({ ...user, isAdmin: false } as unknown as User, 'client', scopes, 'bearer')), 'a changed user')
  t.notOk(samePrincipal(plain, userPrincipal(user, 'client', new Set(scopes), 'bearer')), 'another scope set')
  t.notOk(samePrincipal(full, userPrincipal(user, 'client', scopes, 'bearer', { tokenId: 'jti', sessionId: 'sid' })), 'no provider now')
})
