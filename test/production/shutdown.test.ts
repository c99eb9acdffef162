import { test } from 'tap'
import http from 'node:http'
import { testDatabaseUrl } from '../helper.js'
import { basic, callTool, sleep, startServer, succeeded, type HttpAnswer } from './process.js'

/**
 * SIGTERM under load: a stream of add_user calls (HTTP Basic, the bootstrap client), SIGTERM in
 * the middle. Requests the server has begun complete; new connections are refused; the process
 * exits 0; after a restart on the same database every user whose call succeeded exists.
 */

interface RawAnswer { status: number, body: string }

/**
 * A tools/call whose body arrives in two halves: the first now, the rest when `release`
 * resolves. The server has the request in hand (headers parsed) for the whole gap, so it is
 * in flight when the signal comes.
 */
function slowAddUser (port: number, name: string, release: Promise<void>): Promise<RawAnswer> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: name, method: 'tools/call', params: { name: 'add_user', arguments: { owner: 'built-in', name, displayName: `slow ${name}` } } })
  const half = Math.floor(body.length / 2)
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/mcp',
      agent: false,
      headers: {
        host: `127.0.0.1:${port}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: basic()
      }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => { text += d }).on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }) })
    })
    req.on('error', reject)
    req.write(body.slice(0, half))
    release.then(() => { req.end(body.slice(half)) }, reject)
  })
}

/** A fresh connection (no keep-alive) to `/health/live`: its status, or the connection error's code. */
function freshConnection (port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health/live', agent: false, timeout: 5000 }, (res) => {
      res.resume().on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message) })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
  })
}

test('SIGTERM under load: in-flight requests complete, exit 0, nothing acknowledged is lost', async (t) => {
  const databaseUrl = await testDatabaseUrl(t)
  // Up to 4 × 150 calls plus the two in flight: past the default tool-call limit of one caller.
  const env = { DATABASE_URL: databaseUrl, SHUTDOWN_TIMEOUT: '20000', RATE_LIMIT_MCP_MAX: '100000' }
  const server = await startServer(t, env)
  const auth = basic()

  const acknowledged: string[] = []
  const outcomes: HttpAnswer[] = []
  let errors = 0
  let stopping = false
  let counter = 0
  const WORKERS = 4
  const MAX_CALLS_PER_WORKER = 150
  async function worker (w: number): Promise<void> {
    for (let i = 0; i < MAX_CALLS_PER_WORKER; i++) {
      const name = `load-${w}-${counter++}`
      try {
        const res = await callTool(server.base, auth, 'add_user', { owner: 'built-in', name, displayName: `user ${name}`, email: `${name}@example.com` })
        outcomes.push(res)
        if (succeeded(res)) acknowledged.push(name)
      } catch {
        errors++
        // After the signal the server goes away: connection errors end the loop.
        if (stopping) return
      }
      if (stopping && errors > 0) return
    }
  }
  const load = Array.from({ length: WORKERS }, async (_, w) => { await worker(w) })

  // Let the load run, then put two requests in flight and send SIGTERM.
  const warmupDeadline = Date.now() + 60_000
  while (acknowledged.length < 30 && Date.now() < warmupDeadline) await sleep(20)
  t.ok(acknowledged.length >= 30, `load is running (${acknowledged.length} users added before the signal)`)

  let release!: () => void
  const released = new Promise<void>(resolve => { release = resolve })
  const inFlight = [slowAddUser(server.port, 'inflight-1', released), slowAddUser(server.port, 'inflight-2', released)]
  // Both requests' headers must have reached the server before the signal.
  await sleep(500)
  const beforeSignal = acknowledged.length
  stopping = true
  server.child.kill('SIGTERM')
  await sleep(500)

  const fresh = await freshConnection(server.port)
  t.ok(fresh === 'ECONNREFUSED' || fresh === 503, `a new connection after SIGTERM is refused (got ${fresh})`)

  release()
  const answers = await Promise.all(inFlight)
  for (const a of answers) {
    t.equal(a.status, 200, 'the in-flight request completed')
    const parsed = JSON.parse(a.body)
    t.ok(parsed.result !== undefined && parsed.result.isError !== true, `the in-flight add_user succeeded: ${a.body.slice(0, 200)}`)
  }

  const exit = await server.exited
  t.same(exit, { code: 0, signal: null }, 'the process exits with code 0')
  if (exit.code !== 0) t.comment(server.output().split('\n').filter(l => !l.includes('"level":30')).join('\n').slice(-3000))
  await Promise.all(load)
  t.ok(acknowledged.length >= beforeSignal, `${acknowledged.length} add_user calls acknowledged, ${errors} refused after the signal`)
  const unclean = outcomes.filter(res => res.status !== 200 && res.status !== 503).map(res => `${res.status} ${res.text.slice(0, 120)}`)
  t.same(unclean, [], 'every answer is a result or a clean 503')

  // Restart on the same database: every acknowledged user exists.
  const again = await startServer(t, { ...env })
  const expected = [...acknowledged, 'inflight-1', 'inflight-2']
  const missing: string[] = []
  for (const name of expected) {
    const res = await callTool(again.base, auth, 'get_user', { id: `built-in/${name}` })
    if (!succeeded(res) || res.json.result.structuredContent.user.name !== name) missing.push(name)
  }
  t.same(missing, [], `all ${expected.length} acknowledged users exist after the restart`)
  await again.stop()
})
