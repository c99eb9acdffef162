import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ADMIN, BOOTSTRAP_CLIENT, type TestContext, WITHOUT_TAP } from '../helper.js'

/**
 * Real server processes for the production suite: `node --import tsx server.ts` from the repo
 * root, configured only through the environment, killed at teardown whatever happens.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Children still running, killed if the test process itself exits early. */
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** A TCP port nobody listens on right now (the kernel's choice). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => { resolve(port) })
    })
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface ServerProcess {
  port: number
  /** `http://127.0.0.1:<port>`: where to send requests. */
  base: string
  child: ChildProcess
  /** The environment it was started with (to restart it the same way). */
  env: Record<string, string>
  /** Everything it wrote so far, stdout then stderr interleaved as received. */
  output: () => string
  /** Resolves when the process has exited. */
  exited: Promise<Exit>
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<Exit>
  /** Resident set size in bytes (from /proc), undefined once it is gone. */
  rss: () => number | undefined
}

/** The settings every test server gets; `env` adds to and overrides them. */
export function serverEnv (port: number, env: Record<string, string | undefined> = {}): Record<string, string> {
  const base: Record<string, string | undefined> = {
    ...process.env,
    // tap's own loaders (ts-node, process tracking) are not for the child.
    NODE_OPTIONS: undefined,
    FASTIFY_AUTOLOAD_TYPESCRIPT: '1',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    IAM_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
    IAM_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    IAM_BOOTSTRAP_CLIENT_ID: BOOTSTRAP_CLIENT.id,
    IAM_BOOTSTRAP_CLIENT_SECRET: BOOTSTRAP_CLIENT.secret,
    ...env
  }
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(base)) {
    // Nor is tap's coverage: a child compiled by tsx writing V8 coverage of the same files into
    // tap's folder would be merged with the ts-node-compiled runs and garble the report.
    if (value === undefined || key === 'NODE_V8_COVERAGE' || /^_?TAP/.test(key)) continue
    out[key] = value
  }
  return out
}

export interface StartOptions {
  /** The port to listen on; a free one when absent. */
  port?: number
  /** Wait for `/health/ready` to answer 200 (default true). */
  ready?: boolean
  readyTimeoutMs?: number
}

/**
 * Starts `server.ts` with `env` (on top of serverEnv) and, unless told otherwise, waits until
 * it is ready. The process is killed at teardown if it still runs.
 */
export async function startServer (t: TestContext, env: Record<string, string | undefined>, opts: StartOptions = {}): Promise<ServerProcess> {
  const port = opts.port ?? await freePort()
  const fullEnv = serverEnv(port, env)
  const child = spawn('/usr/bin/env', [...WITHOUT_TAP, process.execPath, '--import', 'tsx', 'server.ts'], {
    cwd: ROOT,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  const chunks: string[] = []
  child.stdout?.setEncoding('utf8').on('data', (d: string) => chunks.push(d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => chunks.push(d))
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    })
  })
  let done = false
  exited.then(() => { done = true }, () => {})

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<Exit> => {
    if (!done) child.kill(signal)
    const timer = setTimeout(() => { if (!done) child.kill('SIGKILL') }, graceMs)
    try {
      return await exited
    } finally {
      clearTimeout(timer)
    }
  }
  t.teardown(async () => { await stop('SIGKILL') })

  const server: ServerProcess = {
    port,
    base: `http://127.0.0.1:${port}`,
    child,
    env: fullEnv,
    output: () => chunks.join(''),
    exited,
    stop,
    rss: () => {
      if (done || child.pid === undefined) return undefined
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
        return kb === undefined ? undefined : Number(kb) * 1024
      } catch {
        return undefined
      }
    }
  }
  if (opts.ready !== false) await waitReady(server, opts.readyTimeoutMs)
  return server
}

/** Polls `/health/ready` until it answers 200; throws (with the server's output) on timeout or exit. */
export async function waitReady (server: ServerProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited: Exit | undefined
  server.exited.then(e => { exited = e }, () => {})
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`server exited (${JSON.stringify(exited)}) before it was ready:\n${server.output().slice(-4000)}`)
    try {
      const res = await fetch(`${server.base}/health/ready`, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {}
    await sleep(100)
  }
  throw new Error(`server on ${server.base} not ready after ${timeoutMs} ms:\n${server.output().slice(-4000)}`)
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** `Authorization: Basic …` for client credentials (form-encoded first, as RFC 6749 §2.3.1 says). */
export function basic (clientId: string = BOOTSTRAP_CLIENT.id, clientSecret: string = BOOTSTRAP_CLIENT.secret): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`
}

export interface HttpAnswer {
  status: number
  headers: Headers
  text: string
  /** The body parsed as JSON, undefined when it is not JSON. */
  json: any
}

async function answer (res: Response): Promise<HttpAnswer> {
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}

/** One HTTP request with a bounded wait; the answer with its body read. */
export async function request (url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<HttpAnswer> {
  const { timeoutMs = 30_000, ...rest } = init
  return await answer(await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) }))
}

let nextId = 1

/** A JSON-RPC message to `/api/mcp` with these credentials (an `Authorization` value, or none). */
export async function mcp (base: string, authorization: string | undefined, message: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return await request(`${base}/api/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...(authorization === undefined ? {} : { authorization }),
      ...headers
    },
    body: typeof message === 'string' ? message : JSON.stringify(message)
  })
}

/** `tools/call` of `name` with `args`; the whole HTTP answer. */
export async function callTool (base: string, authorization: string | undefined, name: string, args: Record<string, unknown>, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return await mcp(base, authorization, { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }, headers)
}

/** Whether a `tools/call` answer is a successful result (HTTP 200, a result, no `isError`). */
export function succeeded (res: HttpAnswer): boolean {
  return res.status === 200 && res.json?.result !== undefined && res.json.result.isError !== true
}

/** A `client_credentials` token from `base`'s token endpoint; the parsed token response. */
export async function clientCredentials (base: string, clientId: string = BOOTSTRAP_CLIENT.id, clientSecret: string = BOOTSTRAP_CLIENT.secret, extra: Record<string, string> = {}): Promise<HttpAnswer> {
  return await request(`${base}/api/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, clientSecret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }).toString()
  })
}

/** `POST /api/login` as JSON; the answer and the session cookie it set (name=value), if any. */
export async function login (base: string, username: string, password: string, organization?: string): Promise<HttpAnswer & { cookie: string | undefined }> {
  const res = await request(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...(organization === undefined ? {} : { organization }) })
  })
  const cookies = res.headers.getSetCookie().map(c => c.split(';')[0]).filter(c => !/=$/.test(c))
  return { ...res, cookie: cookies.length > 0 ? cookies.join('; ') : undefined }
}

/** Markers of leaked internals: stack frames, file paths, driver and engine messages. */
export const INTERNALS = /\bat [\w.<>]+ \(|node:internal|\/work\/|node_modules|\.ts:\d+|\.js:\d+|SQLITE_|sqlite3?\b|postgres|syntax error at|relation "|TypeError|ReferenceError|RangeError|Cannot read propert|undefined is not|ECONNREFUSED|Kysely/i
