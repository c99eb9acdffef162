import { test } from 'tap'
import { TokenCache } from '../../lib/auth/token-cache.js'

test('the token cache is bounded by bytes, keeps what is used, and forgets what expired', async (t) => {
  const cache = new TokenCache<number>(10_000)
  const far = Date.now() + 60_000
  for (let i = 0; i < 1000; i++) {
    cache.set(`k${i}`, i, far, 100)
    // k0 is used all along: it must survive the evictions.
    t.equal(cache.get('k0'), 0)
    if (cache.bytes > 10_000) t.fail(`holds ${cache.bytes} bytes after ${i + 1} entries`)
  }
  t.ok(cache.bytes <= 10_000, `within the budget: ${cache.bytes} bytes`)
  t.equal(cache.size, 100, 'all of the budget is used: 100 entries of 100 bytes')
  t.equal(cache.get('k999'), 999, 'the newest is held')
  t.equal(cache.get('k1'), undefined, 'an old one unused since was evicted')
  t.equal(cache.get('k0'), 0, 'the one in use was kept')

  cache.set('soon', 1, Date.now() - 1, 100)
  t.equal(cache.get('soon'), undefined, 'an expired entry is not answered')
  cache.set('huge', 1, far, 10_001)
  t.equal(cache.get('huge'), undefined, 'an entry larger than the budget is not kept')
  cache.set('k999', 1000, far, 300)
  t.equal(cache.get('k999'), 1000, 'replaced')
  t.ok(cache.bytes <= 10_000, 'within the budget')
  const held = cache.bytes
  cache.delete('k999')
  t.equal(cache.get('k999'), undefined)
  t.equal(cache.bytes, held - 300, 'its bytes were counted once')
})

test('tokens presented in turn, as many as the budget holds, are all hits', async (t) => {
  const cache = new TokenCache<number>(100 * 100)
  const far = Date.now() + 60_000
  for (let i = 0; i < 100; i++) cache.set(`k${i}`, i, far, 100)
  let misses = 0
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) if (cache.get(`k${i}`) === undefined) misses++
  }
  t.equal(misses, 0)
  cache.set('k100', 100, far, 100)
  t.equal(cache.get('k0'), undefined, 'one more evicts the least recently used')
  t.equal(cache.get('k1'), 1, 'and only it')
})

test('keys are digests of the whole token', async (t) => {
  const a = 'aaa.bbb.ccc'
  t.equal(TokenCache.keyOf(a), TokenCache.keyOf('aaa.bbb.ccc'))
  t.not(TokenCache.keyOf(a), TokenCache.keyOf('aaa.bbb.ccd'), 'another signature is another key')
  t.match(TokenCache.keyOf(a), /^[A-Za-z0-9_-]{43}$/)
})
