import { test } from 'tap'
import { createPostgresDatabase, requirePostgres } from '../helper.js'
import { BASE, BOOTSTRAP_BASIC, buildMcp, rpc } from '../mcp/fixtures/util.js'
import { proofKey } from './dpop-fixtures.js'

const TOKEN_URL = `${BASE}/api/login/oauth/access_token`
const MCP_URL = `${BASE}/api/mcp`
const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list' }

test('two instances on one PostgreSQL: a DPoP proof used at one is refused at the other', async (t) => {
  if (!await requirePostgres(t)) return
  const DATABASE_URL = await createPostgresDatabase(t)
  const a = await buildMcp(t, { env: { DATABASE_URL } })
  const b = await buildMcp(t, { env: { DATABASE_URL } })
  const key = await proofKey()
  const tokenAt = (app: typeof a, dpop: string) => app.inject({
    method: 'POST',
    url: '/api/login/oauth/access_token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BOOTSTRAP_BASIC, dpop },
    payload: 'grant_type=client_credentials'
  })

  t.test('at the token endpoint', async (t) => {
    const proof = await key.proof({ htm: 'POST', htu: TOKEN_URL })
    const first = await tokenAt(a, proof)
    t.equal(first.statusCode, 200, first.body)
    const replay = await tokenAt(b, proof)
    t.equal(replay.statusCode, 400)
    t.equal(replay.json().error, 'invalid_dpop_proof')
    t.match(replay.json().error_description, /already been used/)
  })

  t.test('at /api/mcp', async (t) => {
    const token = (await tokenAt(a, await key.proof({ htm: 'POST', htu: TOKEN_URL }))).json().access_token
    const proof = await key.proof({ htm: 'POST', htu: MCP_URL, token })
    const headers = { authorization: `DPoP ${token}`, dpop: proof }
    t.equal((await rpc(b, LIST, { headers })).statusCode, 200, 'a token minted by one is accepted by the other with a proof')
    const replay = await rpc(a, LIST, { headers })
    t.equal(replay.statusCode, 401, 'the same proof at the other instance')
    t.match(replay.headers['www-authenticate'], /error="invalid_dpop_proof", error_description="the DPoP proof has already been used"/)
    const fresh = await rpc(a, LIST, { headers: { ...headers, dpop: await key.proof({ htm: 'POST', htu: MCP_URL, token }) } })
    t.equal(fresh.statusCode, 200, 'a fresh proof is fine')
  })
})
