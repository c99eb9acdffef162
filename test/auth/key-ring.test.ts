import { test } from 'tap'
import { AtRestEncryption, generateSigningKey, SigningKeyRing } from '../../lib/keys.js'
import type { SigningKey } from '../../lib/storage/models.js'

test('SigningKeyRing: the current key signs, retired keys verify for their tokens\' lifetime, unknown kids reload once a second', async (t) => {
  const clear = new AtRestEncryption([])
  const now = Date.now()
  const lifetime = 60_000
  const current: SigningKey = { ...await generateSigningKey(clear), createdAt: now, retiredAt: null }
  const retired: SigningKey = { ...await generateSigningKey(clear), createdAt: now - 10_000, retiredAt: now - 1000 }
  const expired: SigningKey = { ...await generateSigningKey(clear), createdAt: now - 200_000, retiredAt: now - 2 * lifetime }
  let rows = [current, retired, expired]
  let reads = 0
  const ring = new SigningKeyRing(async () => { reads++; return rows }, stored => stored, lifetime)
  t.throws(() => ring.current(), /not loaded/)

  await Promise.all([ring.reload(), ring.reload()])
  t.equal(reads, 1, 'concurrent reloads share one read')
  t.equal(ring.current().kid, current.kid)
  t.same(ring.signer(), { kid: current.kid, privatePem: current.privatePem })
  t.equal(ring.find(retired.kid)?.kid, retired.kid, 'a retired key still verifies')
  t.equal(ring.find(expired.kid), undefined, 'one retired longer than its tokens live does not')
  t.same(ring.jwks().keys.map(k => k.kid).sort(), [current.kid, retired.kid].sort())
  t.equal(ring.current().publicKey.toString('utf8'), current.publicPem)

  // A rotation on another instance: its key is unknown here until a reload.
  const rotated: SigningKey = { ...await generateSigningKey(clear), createdAt: Date.now(), retiredAt: null }
  rows = [rotated, { ...current, retiredAt: Date.now() }, retired]
  t.equal((await ring.resolve(rotated.kid))?.kid, rotated.kid, 'an unknown kid triggers a reload')
  t.equal(reads, 2)
  t.equal(ring.current().kid, rotated.kid)
  t.equal(await ring.resolve('attacker-kid'), undefined)
  t.equal(reads, 2, 'at most one reload a second, whatever callers send')

  const empty = new SigningKeyRing(async () => [], stored => stored, lifetime)
  await t.rejects(empty.reload(), /no current signing key/)
  const broken = new SigningKeyRing(async () => [{ ...current, privatePem: 'not a key' }], stored => stored, lifetime)
  await t.rejects(broken.reload(), 'a private key that does not parse fails the reload')
})
