import { test } from 'tap'
import { build, createPostgresDatabase, requirePostgres } from '../helper.js'
import { addMachine, assertion, keyPair, PUBLIC_URL, tokenRequest } from './pkjwt.js'

/*
 * Two instances on one PostgreSQL database are one authorization server: an assertion used at
 * one is a replay at the other, and when both get it at once exactly one accepts it.
 */
test('two instances on one PostgreSQL refuse an assertion the other accepted', async (t) => {
  if (!await requirePostgres(t)) return
  const DATABASE_URL = await createPostgresDatabase(t)
  const a = await build(t, { env: { DATABASE_URL, PUBLIC_URL } })
  const b = await build(t, { env: { DATABASE_URL, PUBLIC_URL } })
  const key = await keyPair('k1')
  const clientId = await addMachine(a, 'machine', { jwks: { keys: [key.publicJwk] } })

  const jwt = await assertion(key, clientId)
  t.equal((await tokenRequest(a, jwt)).statusCode, 200, 'accepted at the first instance')
  const replay = await tokenRequest(b, jwt)
  t.equal(replay.statusCode, 401, 'refused at the second')
  t.match(replay.json(), { error: 'invalid_client', error_description: /already used/ })

  for (let round = 0; round < 5; round++) {
    const raced = await assertion(key, clientId)
    const answers = await Promise.all([tokenRequest(a, raced), tokenRequest(b, raced), tokenRequest(a, raced), tokenRequest(b, raced)])
    t.same(answers.map(r => r.statusCode).sort(), [200, 401, 401, 401], `round ${round}: sent to both at once, accepted exactly once`)
  }
})
