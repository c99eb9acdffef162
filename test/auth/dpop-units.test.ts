import { test } from 'tap'
import { createDpopVerifier, DPOP_IAT_WINDOW_S, schemeMismatch } from '../../lib/auth/dpop.js'
import { proofKey } from './dpop-fixtures.js'

const URL_ = 'https://iam.example/api/mcp'

test('the proof verifier on its own: window edges, normalised htu, what is claimed', async (t) => {
  const now = 1_800_000_000_000
  const claimed: Array<{ kind: string, value: string, expiresAt: number }> = []
  const seen = new Set<string>()
  const verifier = createDpopVerifier({
    clock: () => now,
    claim: async (kind, value, expiresAt) => {
      claimed.push({ kind, value, expiresAt })
      if (seen.has(value)) return false
      seen.add(value)
      return true
    }
  })
  const key = await proofKey()
  const iat = now / 1000

  const edge = await verifier.verify(await key.proof({ htm: 'POST', htu: URL_, iat: iat - DPOP_IAT_WINDOW_S, jti: 'a' }), { method: 'POST', url: URL_ })
  t.same(edge, { ok: true, jkt: key.jkt }, `iat exactly ${DPOP_IAT_WINDOW_S} s old is accepted`)
  t.same(claimed.at(-1), { kind: 'dpop', value: `${key.jkt}:a`, expiresAt: now + 1000 }, 'the jti is kept as long as the proof could be accepted')
  const past = await verifier.verify(await key.proof({ htm: 'POST', htu: URL_, iat: iat - DPOP_IAT_WINDOW_S - 1, jti: 'b' }), { method: 'POST', url: URL_ })
  t.match(past, { ok: false, description: /too old/ })
  const ahead = await verifier.verify(await key.proof({ htm: 'POST', htu: URL_, iat: iat + DPOP_IAT_WINDOW_S, jti: 'c' }), { method: 'POST', url: URL_ })
  t.equal(ahead.ok, true, `iat ${DPOP_IAT_WINDOW_S} s ahead is accepted`)
  const future = await verifier.verify(await key.proof({ htm: 'POST', htu: URL_, iat: iat + DPOP_IAT_WINDOW_S + 1, jti: 'd' }), { method: 'POST', url: URL_ })
  t.match(future, { ok: false, description: /future/ })
  t.equal(claimed.length, 2, 'refused proofs use up nothing')

  const normalised = await verifier.verify(await key.proof({ htm: 'POST', htu: 'HTTPS://IAM.example:443/api/mcp?x=1#f', iat, jti: 'e' }), { method: 'POST', url: URL_ })
  t.equal(normalised.ok, true, 'scheme and host case, default port, query and fragment do not matter')
  const otherPath = await verifier.verify(await key.proof({ htm: 'POST', htu: 'https://iam.example/api/mcp/x', iat, jti: 'f' }), { method: 'POST', url: URL_ })
  t.match(otherPath, { ok: false, description: /htu/ })
  const http = await verifier.verify(await key.proof({ htm: 'POST', htu: 'http://iam.example/api/mcp', iat, jti: 'g' }), { method: 'POST', url: URL_ })
  t.match(http, { ok: false, description: /htu/ }, 'another scheme is another URL')

  const sameJtiOtherKey = await verifier.verify(await (await proofKey()).proof({ htm: 'POST', htu: URL_, iat, jti: 'a' }), { method: 'POST', url: URL_ })
  t.equal(sameJtiOtherKey.ok, true, 'one client cannot use up another key\'s jti')
})

test('scheme against binding: one rule', async (t) => {
  t.equal(schemeMismatch('bearer', undefined), undefined)
  t.equal(schemeMismatch('dpop', 'jkt'), undefined)
  t.match(schemeMismatch('bearer', 'jkt'), /DPoP-bound/)
  t.match(schemeMismatch('dpop', undefined), /bearer token/)
})
