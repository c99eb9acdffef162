import { test } from 'tap'
import fc from 'fast-check'
import { testDatabaseUrl } from '../helper.js'
import { basic, request, startServer, type HttpAnswer } from './process.js'

/**
 * Property-based fuzzing (fast-check) of /api/mcp, the token endpoint, dynamic registration and
 * login against a real server process: random and mutated JSON-RPC messages, headers, encodings
 * and sizes. For every input: an answer below 500, within a bounded time, with no stack trace or
 * internal detail; afterwards the process is alive, healthy, and its memory has not run away.
 * Runs are bounded (seeded by fast-check, reported on failure) to keep the file well under a minute.
 */

const BODY_LIMIT = 65_536
/** Signs of internals in a reply: stack frames, source paths, module names. */
const STACK = /\n\s+at |\bat [\w.<>$]+ \(\/|node:internal|\/work\/|node_modules|\.(ts|js):\d+:\d+/
const ANSWER_TIMEOUT_MS = 15_000

/** A body as sent: text, or raw bytes (invalid UTF-8, binary). */
type Body = string | Uint8Array

interface Input {
  path: string
  headers: Record<string, string>
  body: Body
}

const asciiString = (maxLength = 40): fc.Arbitrary<string> => fc.string({ maxLength })
const anyString = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

/** JSON-RPC-ish messages: right shape, wrong types, strange values. */
function jsonRpcMessage (tools: string[]): fc.Arbitrary<unknown> {
  const id = fc.oneof({ weight: 6, arbitrary: fc.oneof(fc.integer(), asciiString()) }, { weight: 1, arbitrary: fc.oneof(fc.double(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 })) })
  const method = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('tools/call', 'tools/list', 'initialize', 'ping', 'notifications/initialized', 'resources/list', 'prompts/get') }, { weight: 1, arbitrary: anyString(30) })
  const args = fc.oneof(fc.dictionary(fc.constantFrom('owner', 'name', 'id', 'filter', 'limit', 'cursor', 'password', 'displayName', 'email', 'scopes', 'redirectUris', 'isAdmin', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), fc.jsonValue({ maxDepth: 3 }))
  const params = fc.oneof(
    fc.record({ name: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...tools) }, { weight: 1, arbitrary: anyString(20) }), arguments: args }, { requiredKeys: ['name'] }),
    fc.record({ protocolVersion: fc.oneof(fc.constantFrom('2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'), asciiString(12)), capabilities: fc.jsonValue({ maxDepth: 2 }), clientInfo: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
    fc.record({ cursor: fc.oneof(asciiString(), fc.integer()) }),
    fc.jsonValue({ maxDepth: 3 })
  )
  const message = fc.record({ jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: fc.oneof(asciiString(4), fc.integer()) }), id, method, params }, { requiredKeys: ['jsonrpc', 'method'] })
  return fc.oneof({ weight: 6, arbitrary: message }, { weight: 1, arbitrary: fc.array(message, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) })
}

/** Damage to a serialized message: truncation, insertion, duplication, a byte flipped. */
function mutated (text: fc.Arbitrary<string>): fc.Arbitrary<Body> {
  return fc.tuple(text, fc.nat(), fc.nat(), fc.constantFrom('truncate', 'insert', 'duplicate', 'flip', 'bytes', 'pad'), anyString(8)).map(([s, i, j, how, piece]): Body => {
    const at = s.length === 0 ? 0 : i % s.length
    switch (how) {
      case 'truncate': return s.slice(0, at)
      case 'insert': return s.slice(0, at) + piece + s.slice(at)
      case 'duplicate': return s.slice(0, at) + s.slice(at, at + 1 + (j % 20)) + s.slice(at)
      case 'flip': {
        const bytes = Buffer.from(s)
        if (bytes.length > 0) bytes[at % bytes.length] ^= 1 << (j % 8)
        return new Uint8Array(bytes)
      }
      case 'bytes': return new Uint8Array(Array.from({ length: 1 + (j % 64) }, (_, k) => (i * 31 + k * 17 + j) % 256))
      default: return s + ' '.repeat(j % 8) + (j % 5 === 0 ? 'x'.repeat(BODY_LIMIT) : '')
    }
  })
}

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/jsonx', '') },
  { weight: 1, arbitrary: asciiString(30) }
)

/** Mostly absent: a rare header that changes everything (a foreign Origin is a 403, for instance). */
function rarely<T> (arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })
}

function headers (authorization: fc.Arbitrary<string | undefined>): fc.Arbitrary<Record<string, string>> {
  return fc.record({
    'content-type': contentType,
    accept: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('application/json, text/event-stream', '*/*', 'application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/html', 'text/event-stream', '') }),
    'mcp-protocol-version': fc.oneof({ weight: 5, arbitrary: fc.constantFrom('2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05') }, { weight: 1, arbitrary: asciiString(12) }),
    authorization,
    'content-encoding': rarely(fc.constantFrom('gzip', 'br', 'identity', 'x-unknown')),
    origin: rarely(fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1')),
    cookie: rarely(fc.oneof(asciiString(60), fc.constant('iam_session=s%3Aforged.signature')))
  }, { requiredKeys: ['content-type', 'accept', 'mcp-protocol-version', 'authorization', 'content-encoding', 'origin', 'cookie'] })
    .map(h => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>)
}

function authorization (valid: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(valid) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: asciiString(60).map(s => `Bearer ${s}`) },
    { weight: 1, arbitrary: asciiString(40).map(s => `Basic ${Buffer.from(s).toString('base64')}`) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', 'Basic', 'Basic !!!', 'Digest x', 'Bearer') },
    { weight: 1, arbitrary: asciiString(60) }
  )
}

function formOrJson (fields: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<{ body: Body, type: string }> {
  return fc.tuple(fields, fc.constantFrom('form', 'json', 'json', 'mutated-json', 'junk')).chain(([f, how]) => {
    const json = JSON.stringify(f)
    if (how === 'json') return fc.constant({ body: json, type: 'application/json' })
    if (how === 'form') {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(f)) params.append(k, typeof v === 'string' ? v : JSON.stringify(v))
      return fc.constant({ body: params.toString(), type: 'application/x-www-form-urlencoded' })
    }
    if (how === 'mutated-json') return mutated(fc.constant(json)).map(body => ({ body, type: 'application/json' }))
    return fc.tuple(mutated(fc.constant(json)), contentType).map(([body, type]) => ({ body, type }))
  })
}

test('fuzzing the public endpoints: no 5xx, no hang, no leak, no crash, bounded memory', async (t) => {
  const server = await startServer(t, {
    DATABASE_URL: await testDatabaseUrl(t),
    BODY_LIMIT: String(BODY_LIMIT),
    // Let the fuzzer reach the handlers instead of the rate limiter and the lockout.
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_MCP_MAX: '1000000',
    LOGIN_MAX_FAILURES: '1000000',
    LOG_LEVEL: 'error'
  })
  const valid = basic()
  const listed = await request(`${server.base}/api/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: valid },
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
  })
  const tools = (listed.json?.result?.tools ?? []).map((tool: { name: string }) => tool.name) as string[]
  t.ok(tools.length > 10, `the fuzzer knows the ${tools.length} tool names`)

  const failures: string[] = []
  let requests = 0
  const statuses = new Map<number, number>()
  const answered = new Map<string, number>()
  async function send (input: Input): Promise<boolean> {
    requests++
    let res: HttpAnswer
    try {
      res = await request(`${server.base}${input.path}`, { method: 'POST', headers: input.headers, body: input.body, timeoutMs: ANSWER_TIMEOUT_MS })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      // A 413 may close the connection before the whole oversized body was written.
      if (typeof input.body !== 'string' || input.body.length <= BODY_LIMIT) {
        failures.push(`${input.path}: no answer (${cause}) for ${JSON.stringify(input.headers)} ${String(input.body).slice(0, 200)}`)
        return false
      }
      return true
    }
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    if (res.status < 300) answered.set(input.path, (answered.get(input.path) ?? 0) + 1)
    const problem = res.status >= 500
      ? `HTTP ${res.status}`
      : STACK.test(res.text) ? 'internals in the reply' : undefined
    if (problem !== undefined) {
      failures.push(`${input.path}: ${problem}: ${res.text.slice(0, 300)} for ${JSON.stringify(input.headers)} ${String(input.body).slice(0, 300)}`)
      return false
    }
    return true
  }

  const mcpInput = fc.record({
    headers: headers(authorization(valid)),
    body: fc.oneof({ weight: 3, arbitrary: jsonRpcMessage(tools).map(m => JSON.stringify(m)) }, { weight: 2, arbitrary: mutated(jsonRpcMessage(tools).map(m => JSON.stringify(m))) })
  }).map((i): Input => ({ path: '/api/mcp', ...i }))

  const tokenFields = fc.record({
    grant_type: fc.oneof(fc.constantFrom('client_credentials', 'authorization_code', 'refresh_token', 'password', 'urn:ietf:params:oauth:grant-type:jwt-bearer'), anyString(20)),
    client_id: fc.oneof(fc.constant('test-bootstrap-client'), anyString(20)),
    client_secret: fc.oneof(fc.constant('wrong-secret'), anyString(20)),
    scope: fc.oneof(fc.constantFrom('admin', 'user:read openid', 'offline_access'), anyString(40)),
    resource: fc.oneof(fc.constant(server.base), fc.webUrl(), anyString(30)),
    code: anyString(30),
    refresh_token: anyString(30),
    redirect_uri: fc.oneof(fc.webUrl(), anyString(30)),
    code_verifier: anyString(60)
  }, { requiredKeys: [] })
  const tokenInput = fc.tuple(formOrJson(tokenFields), authorization(valid)).map(([{ body, type }, auth]): Input => ({
    path: '/api/login/oauth/access_token',
    headers: { 'content-type': type, ...(auth === undefined ? {} : { authorization: auth }) },
    body
  }))

  /** Usually the valid value, sometimes anything. */
  const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>): fc.Arbitrary<T | U> => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: bad })
  const registrationFields = fc.record({
    client_name: mostly(asciiString(40), fc.jsonValue({ maxDepth: 1 })),
    redirect_uris: mostly(fc.constant(['http://127.0.0.1:9/cb']), fc.oneof(fc.array(fc.oneof(fc.webUrl(), fc.constantFrom('javascript:alert(1)', 'http://evil.example/cb#frag', 'data:text/html,x', 'https://user:pw@host/cb'), anyString(30)), { maxLength: 4 }), anyString(20), fc.jsonValue({ maxDepth: 1 }))),
    grant_types: mostly(fc.constant(['authorization_code', 'refresh_token']), fc.oneof(fc.array(fc.constantFrom('authorization_code', 'refresh_token', 'client_credentials', 'implicit', 'password'), { maxLength: 4 }), anyString(20))),
    response_types: mostly(fc.constant(['code']), fc.array(fc.constantFrom('code', 'token', 'id_token'), { maxLength: 3 })),
    token_endpoint_auth_method: mostly(fc.constantFrom('none', 'client_secret_basic', 'client_secret_post'), fc.oneof(fc.constant('private_key_jwt'), anyString(20))),
    scope: mostly(fc.constantFrom('user:read', 'openid profile', 'user:read user:write'), anyString(40)),
    logo_uri: rarely(anyString(30)),
    jwks_uri: rarely(fc.webUrl())
  }, { requiredKeys: ['redirect_uris'] }).map(f => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)))
  const registrationInput = formOrJson(registrationFields).map(({ body, type }): Input => ({ path: '/api/oauth/register', headers: { 'content-type': type }, body }))

  const loginFields = fc.record({
    username: fc.oneof(fc.constantFrom('admin', 'built-in/admin', 'ａｄｍｉｎ', ''), anyString(30), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
    password: fc.oneof(anyString(30), fc.integer(), fc.constant(null)),
    organization: fc.oneof(fc.constantFrom('built-in', '../built-in', ''), anyString(20))
  }, { requiredKeys: [] })
  const loginInput = fc.tuple(formOrJson(loginFields), rarely(fc.constant('http://evil.example'))).map(([{ body, type }, origin]): Input => ({
    path: '/api/login',
    headers: { 'content-type': type, ...(origin === undefined ? {} : { origin }) },
    body
  }))

  const runs = { mcp: 250, token: 120, registration: 80, login: 40 }
  const fuzz = async (runsOf: number, arbitrary: fc.Arbitrary<Input>): Promise<void> => {
    await fc.assert(fc.asyncProperty(arbitrary, send), { numRuns: runsOf, endOnFailure: true })
  }

  // Warm up (JIT, caches, pools) before the memory baseline.
  await fuzz(60, mcpInput)
  const rssBefore = server.rss() ?? 0

  const results = await Promise.allSettled([
    fuzz(runs.mcp, mcpInput),
    fuzz(runs.token, tokenInput),
    fuzz(runs.registration, registrationInput),
    fuzz(runs.login, loginInput)
  ])
  for (const [i, r] of results.entries()) {
    t.equal(r.status, 'fulfilled', `${Object.keys(runs)[i]}: the property held for every run${r.status === 'rejected' ? `: ${String((r.reason as Error).message).slice(0, 2000)}` : ''}`)
  }
  t.same(failures, [], `${requests} fuzzed requests: every answer below 500, in time, without internals (${JSON.stringify(Object.fromEntries(statuses))})`)

  for (const path of ['/api/mcp', '/api/oauth/register']) {
    t.ok((answered.get(path) ?? 0) >= 5, `${path}: the fuzzer got past the front door (${answered.get(path) ?? 0} answers 2xx)`)
  }
  t.equal(server.child.exitCode, null, 'the server is still running')
  const health = await request(`${server.base}/health/ready`)
  t.equal(health.status, 200, 'and answers its health check')
  const rssAfter = server.rss() ?? Infinity
  const growthMb = (rssAfter - rssBefore) / 1024 / 1024
  t.ok(growthMb < 150, `memory stays bounded: RSS ${Math.round(rssBefore / 1048576)} MiB → ${Math.round(rssAfter / 1048576)} MiB`)
  t.notMatch(server.output(), /"level":60|uncaught|unhandled/i, 'nothing fatal or unhandled in the server log')
})
