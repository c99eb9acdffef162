import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { createSqliteDatabase } from '../helper.js'
import { basic, callTool, mcp, request, startServer, type HttpAnswer } from './process.js'

/**
 * Rate limits hold across instances when REDIS_URL names a shared store: a limit exhausted on
 * A is enforced by B. A and B get separate databases, so only Redis can carry the count.
 * Every key this test makes carries a random marker (a fake client IP under TRUST_PROXY, a fake
 * client id and account name); only those keys are deleted afterwards.
 */

const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379'
const MAX = 5
const ADMIN_PASSWORD = 'rl-admin-password-0123'

async function redisAvailable (): Promise<Redis | undefined> {
  const redis = new Redis(REDIS_URL, { connectTimeout: 1000, maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
    return redis
  } catch {
    redis.disconnect()
    return undefined
  }
}

test('rate limits are shared through Redis', async (t) => {
  const redis = await redisAvailable()
  if (redis === undefined) {
    if (process.env.CI === 'true') t.fail(`Redis is not reachable at ${REDIS_URL}; CI must start it`)
    else t.skip(`Redis not reachable at ${REDIS_URL}: skipping the shared rate-limit test (start redis-server or set REDIS_TEST_URL)`, () => {})
    return
  }
  const marker = randomBytes(4).toString('hex')
  // A documentation-range address no other test uses: our per-IP keys are ours alone.
  const ip = `198.51.100.${1 + (randomBytes(1)[0] % 250)}`
  const otherIp = `203.0.113.${1 + (randomBytes(1)[0] % 250)}`
  const loginIp = `192.0.2.${1 + (randomBytes(1)[0] % 250)}`
  t.teardown(async () => {
    for (const pattern of [`*${marker}*`, `*:ip:${ip}`, `*:ip:${otherIp}`, `*:ip:${loginIp}`]) {
      const keys = await redis.keys(pattern)
      if (keys.length > 0) await redis.del(...keys)
    }
    redis.disconnect()
  })

  const env = (): Record<string, string> => ({
    DATABASE_URL: createSqliteDatabase(t),
    REDIS_URL,
    // The test's requests come from loopback: a trusted proxy, so X-Forwarded-For names the client.
    TRUST_PROXY: '127.0.0.1',
    RATE_LIMIT_MAX: String(MAX),
    RATE_LIMIT_WINDOW: '30000',
    // The lockout (per database) must not be what refuses: the shared rate limit must.
    LOGIN_MAX_FAILURES: '1000',
    RATE_LIMIT_MCP_MAX: String(MAX),
    // Tool calls are counted per caller: one of this run's own (the same user on A and B).
    IAM_BOOTSTRAP_ADMIN_USERNAME: `rl-admin-${marker}`,
    IAM_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD
  })
  const [a, b] = await Promise.all([startServer(t, env()), startServer(t, env())])
  const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address })

  const tokenRequest = (base: string, address: string): Promise<HttpAnswer> => request(`${base}/api/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(`rl-client-${marker}`, 'not-the-secret-of-anyone'), ...from(address) },
    body: 'grant_type=client_credentials'
  })
  const loginRequest = (base: string, address: string): Promise<HttpAnswer> => request(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...from(address) },
    body: JSON.stringify({ username: `rl-user-${marker}`, password: 'wrong-password' })
  })

  for (const [what, send, refusal] of [['token endpoint', tokenRequest, 'invalid_client'], ['login', loginRequest, 'invalid_credentials']] as const) {
    await t.test(`${what}: exhausted on A, refused on B`, async (t) => {
      const onA: number[] = []
      for (let i = 0; i < MAX; i++) onA.push((await send(a.base, ip)).status)
      t.same(onA, Array(MAX).fill(401), `A answers the first ${MAX} (${refusal})`)
      const onB = await send(b.base, ip)
      t.equal(onB.status, 429, 'B refuses the next one: the count is shared')
      t.match(onB.headers.get('retry-after'), /^\d+$/, 'with Retry-After')
      t.ok(Number(onB.headers.get('retry-after')) >= 1 && Number(onB.headers.get('retry-after')) <= 30, 'within the window')
      t.equal((await send(a.base, ip)).status, 429, 'and A refuses it as well')
      const elsewhere = await send(b.base, otherIp)
      t.equal(elsewhere.status, 401, 'another address is still answered: counts are per address (and client), never per client alone')
    })
  }

  await t.test('tool calls: a caller past RATE_LIMIT_MCP_MAX on A is refused on B', async (t) => {
    const signIn = async (base: string): Promise<string> => {
      const res = await request(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...from(loginIp) },
        body: JSON.stringify({ username: `rl-admin-${marker}`, password: ADMIN_PASSWORD })
      })
      t.equal(res.status, 200, 'signed in')
      return res.headers.getSetCookie().map(c => c.split(';')[0]).join('; ')
    }
    const [onA, onB] = [await signIn(a.base), await signIn(b.base)]
    const account = (base: string, cookie: string): Promise<HttpAnswer> => callTool(base, undefined, 'get_account', {}, { cookie })
    const statuses: number[] = []
    for (let i = 0; i < MAX; i++) statuses.push((await account(a.base, onA)).status)
    t.same(statuses, Array(MAX).fill(200), `A answers the first ${MAX} calls`)
    const refused = await account(b.base, onB)
    t.equal(refused.status, 429, 'B refuses the next one: the count is shared')
    t.match(refused.headers.get('retry-after'), /^\d+$/, 'with Retry-After')
    t.equal((await mcp(b.base, undefined, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { cookie: onB })).status, 200, 'tools/list is not counted')
  })

  const keys = await redis.keys(`*${marker}*`)
  t.ok(keys.length >= 2, `the counts live in Redis (${keys.length} keys with this run's marker)`)
})
