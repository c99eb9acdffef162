import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, listen, type TestContext } from '../helper.js'

/**
 * TRUST_PROXY names the proxies whose X-Forwarded-For is believed; the client address is the
 * rightmost entry no trusted proxy added. Forwarded headers never decide the public origin or
 * the Host check on /api/mcp, not even from a trusted proxy.
 */

/** The service with a route that answers the client address Fastify settled on. */
async function withIpEcho (t: TestContext, env: Record<string, string>): Promise<FastifyInstance> {
  return await build(t, {
    env,
    extend: (fastify) => { fastify.get('/test/ip', async (request) => ({ ip: request.ip })) }
  })
}

async function ipOf (app: FastifyInstance, headers: Record<string, string>, remoteAddress = '127.0.0.1'): Promise<string> {
  const res = await app.inject({ url: '/test/ip', headers, remoteAddress })
  return res.json().ip
}

test('X-Forwarded-For from an address that is not a named proxy changes nothing', async (t) => {
  const settings: Array<Record<string, string>> = [{}, { TRUST_PROXY: '10.0.0.1' }, { TRUST_PROXY: '10.0.0.0/8, ::1' }]
  for (const env of settings) {
    const app = await withIpEcho(t, env)
    const seen = new Set<string>()
    for (let i = 1; i <= 5; i++) seen.add(await ipOf(app, { 'x-forwarded-for': `198.51.100.${i}` }))
    t.same([...seen], ['127.0.0.1'], `${JSON.stringify(env)}: rotating X-Forwarded-For leaves request.ip the peer's address`)
  }
})

test('from a named proxy, the rightmost address no trusted proxy added is the client', async (t) => {
  const byAddress = await withIpEcho(t, { TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' })
  t.equal(await ipOf(byAddress, { 'x-forwarded-for': '198.51.100.9' }), '198.51.100.9', 'one proxy: the address it saw')
  t.equal(await ipOf(byAddress, { 'x-forwarded-for': '203.0.113.5, 198.51.100.9' }), '198.51.100.9',
    'what the client wrote to the left is not believed')
  t.equal(await ipOf(byAddress, { 'x-forwarded-for': '203.0.113.5, 198.51.100.9, 10.1.2.3' }), '198.51.100.9',
    'a second trusted proxy (in a named range) is passed over')
  t.equal(await ipOf(byAddress, { 'x-forwarded-for': '203.0.113.5' }, '192.0.2.1'), '192.0.2.1', 'from another peer, the header is ignored')

  const byName = await withIpEcho(t, { TRUST_PROXY: 'loopback' })
  t.equal(await ipOf(byName, { 'x-forwarded-for': '203.0.113.5, 198.51.100.9' }, '::1'), '198.51.100.9', 'proxy-addr range names work too')

  const oneHop = await withIpEcho(t, { TRUST_PROXY: '1' })
  t.equal(await ipOf(oneHop, { 'x-forwarded-for': '203.0.113.5, 198.51.100.9' }), '198.51.100.9', 'a hop count of 1: the rightmost entry')
  const twoHops = await withIpEcho(t, { TRUST_PROXY: '2' })
  t.equal(await ipOf(twoHops, { 'x-forwarded-for': '203.0.113.5, 198.51.100.9' }), '203.0.113.5', 'a hop count of 2: one more to the left')
})

test('rotating X-Forwarded-For does not escape the per-address limits', async (t) => {
  const MAX = 3
  const app = await build(t, { env: { TRUST_PROXY: '10.0.0.1', RATE_LIMIT_MAX: String(MAX) } })
  const statuses: number[] = []
  for (let i = 0; i <= MAX; i++) {
    // A new client id each time: only the per-address count can refuse.
    const res = await app.inject({
      method: 'POST',
      url: '/api/login/oauth/access_token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `198.51.100.${i + 1}` },
      payload: `grant_type=client_credentials&client_id=nobody-${i}&client_secret=wrong-secret`
    })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [...Array(MAX).fill(401), 429], `the ${MAX + 1}th request from one address is refused, whatever it forwards`)
})

test('X-Forwarded-Host never passes the Host check on /api/mcp, even from a trusted proxy', async (t) => {
  const { app, base } = await listen(t, { env: { TRUST_PROXY: '127.0.0.1' } })
  const own = new URL(base).host
  const post = (headers: Record<string, string>) => app.inject({
    method: 'POST',
    url: '/api/mcp',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
  })

  const rebound = await post({ host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' })
  t.equal(rebound.statusCode, 403, 'a rebinding host named in both headers is refused')
  const disguised = await post({ host: 'evil.example', 'x-forwarded-host': own })
  t.equal(disguised.statusCode, 403, 'a rebinding host behind our own name in X-Forwarded-Host is refused')

  const ours = await post({ host: own, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' })
  t.equal(ours.statusCode, 401, 'our own Host passes, whatever X-Forwarded-Host says')
  const challenge = String(ours.headers['www-authenticate'])
  t.match(challenge, `resource_metadata="${base}/.well-known/oauth-protected-resource"`, 'and the challenge names the listen address')
  t.notMatch(challenge, /evil\.example/, 'never the forwarded host')
})
