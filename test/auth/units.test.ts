import { test } from 'tap'
import { BoundedCache } from '../../lib/oauth/bounded-cache.js'
import { audienceFor, normalizeResource } from '../../lib/oauth/resource.js'
import { OAuthError } from '../../lib/oauth/errors.js'
import { audienceMatches, decodeJwtHeader, describeJwtError } from '../../lib/jwt.js'

test('BoundedCache: bounded, expiring, keeps what is used', async (t) => {
  const cache = new BoundedCache<string, number>(4)
  for (let i = 0; i < 100; i++) cache.set(`k${i}`, i)
  t.ok(cache.size <= 4, 'never more than maxEntries')
  t.equal(cache.get('k99'), 99)
  t.equal(cache.get('k0'), undefined, 'old one-off keys are gone')

  const lru = new BoundedCache<string, number>(4)
  lru.set('hot', 1)
  for (let i = 0; i < 20; i++) {
    lru.set(`cold${i}`, i)
    t.equal(lru.get('hot'), 1, 'an entry read often survives a flood')
  }

  const ttl = new BoundedCache<string, string>(10, 1000)
  ttl.set('a', 'x', 5)
  t.equal(ttl.get('a', 4), 'x')
  t.equal(ttl.get('a', 5), undefined, 'expired at its time')
  ttl.set('b', 'y')
  t.ok(ttl.has('b'))
  ttl.set('c', 'z', 1)
  ttl.prune(2)
  t.notOk(ttl.has('c'))
  ttl.deleteWhere(v => v === 'y')
  t.notOk(ttl.has('b'))
  ttl.set('d', 'w')
  t.ok(ttl.delete('d'))
  t.notOk(ttl.delete('d'))
  ttl.set('e', 'v')
  ttl.clear()
  t.equal(ttl.size, 0)

  const promoted = new BoundedCache<string, number>(2)
  promoted.set('a', 1, 10)
  promoted.set('b', 2)
  t.equal(promoted.get('a', 20), undefined, 'an expired entry in the old generation is not promoted')
})

test('resource indicators (RFC 8707) are normalised before comparison', async (t) => {
  t.equal(normalizeResource('HTTPS://Example.COM:443/'), 'https://example.com')
  t.equal(normalizeResource('http://example.com:80/api/mcp/'), 'http://example.com/api/mcp')
  t.equal(normalizeResource('http://example.com:8080'), 'http://example.com:8080')
  t.equal(normalizeResource('https://example.com/a?b=c'), 'https://example.com/a?b=c')
  t.equal(normalizeResource('https://example.com/#x'), undefined, 'no fragment')
  t.equal(normalizeResource('urn:example:thing'), undefined)
  t.equal(normalizeResource('not a url'), undefined)

  const base = 'http://127.0.0.1:8000'
  t.equal(audienceFor(base, undefined), base)
  t.equal(audienceFor(base, []), base)
  t.equal(audienceFor(base, `${base}/`), base, 'mcp-remote sends {base}/')
  t.equal(audienceFor(base, 'HTTP://127.0.0.1:8000/api/mcp'), `${base}/api/mcp`)
  t.equal(audienceFor(base, [base, `${base}/`]), base, 'repeats of one resource are one')
  t.throws(() => audienceFor(base, 'http://127.0.0.1:8001'), OAuthError)
  t.throws(() => audienceFor(base, [base, `${base}/api/mcp`]), { code: 'invalid_target' })
  t.throws(() => audienceFor(base, `${base}/api/mcp/../other`), { code: 'invalid_target' })
})

test('JWT helpers', async (t) => {
  t.equal(decodeJwtHeader('abc'), undefined)
  t.equal(decodeJwtHeader('!!!.x.y'), undefined)
  t.equal(decodeJwtHeader(`${Buffer.from('[1]').toString('base64url')}.x.y`), undefined)
  t.same(decodeJwtHeader(`${Buffer.from('{"alg":"RS256"}').toString('base64url')}.x.y`), { alg: 'RS256' })
  t.ok(audienceMatches(['x', 'y'], ['y']))
  t.notOk(audienceMatches(['x', 1], ['y']))
  t.notOk(audienceMatches(1, ['1']))
  t.equal(describeJwtError(new Error('x')), 'the token is malformed')
  t.equal(new OAuthError('invalid_client', 'no').statusCode, 401)
  t.same(new OAuthError('invalid_scope', 'no').toJSON(), { error: 'invalid_scope', error_description: 'no' })
})
