/**
 * Child processes of the benchmark: the service (`node dist/server.js`) and the bare baseline.
 * Every child started here is killed on the way out, whatever happens.
 */
import { randomBytes } from 'node:crypto'
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { parseProcStat, parseProcStatus } from './stats.js'

const children = new Set<ChildProcess>()
let guarded = false

function killAll (): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

/** Once a child exists, make sure no way out of this process leaves it running. */
function guardExit (): void {
  if (guarded) return
  guarded = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll()
      process.exit(130)
    })
  }
}

/** A free TCP port on the loopback interface. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface Child {
  name: string
  pid: number
  port: number
  base: string
  /** Resident set size now and its high-water mark, in MiB (from /proc). */
  memory: () => { rssMiB: number, hwmMiB: number } | null
  /** CPU time used so far (user + system), in ms (from /proc); null once it is gone. */
  cpuMs: () => number | null
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop: (graceMs?: number) => Promise<void>
  /** Where its stderr (and stdout, when kept) went. */
  logFile: string | null
  exited: () => boolean
}

export interface SpawnOptions {
  name: string
  args: string[]
  env: Record<string, string | undefined>
  port: number
  /** Where stdout and stderr go; null sends them to /dev/null. */
  logFile: string | null
  cwd: string
}

export function spawnChild (opts: SpawnOptions): Child {
  guardExit()
  const out = openSync(opts.logFile ?? '/dev/null', 'a')
  const child = spawn(process.execPath, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', out, out]
  })
  closeSync(out)
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start`)
  const pid = child.pid
  return {
    name: opts.name,
    pid,
    port: opts.port,
    base: `http://127.0.0.1:${opts.port}`,
    logFile: opts.logFile,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    memory: () => readMemory(pid),
    cpuMs: () => readCpuMs(pid),
    stop: async (graceMs = 15000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const gone = new Promise<void>(resolve => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await gone
      clearTimeout(timer)
    }
  }
}

/** VmRSS and VmHWM of a process, in MiB; null once it is gone. */
export function readMemory (pid: number): { rssMiB: number, hwmMiB: number } | null {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  return parseProcStatus(status)
}

/** User + system CPU time of a process, in ms; null once it is gone. */
export function readCpuMs (pid: number): number | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return null
  }
}

/** Polls `url` until it answers 200, the child dies, or `timeoutMs` passes. */
export async function waitReady (child: Child, url: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (child.exited()) throw new Error(`${child.name} exited during start-up${child.logFile !== null ? ` (see ${child.logFile})` : ''}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(100)
  }
  throw new Error(`${child.name} not ready at ${url} after ${timeoutMs} ms (${last})`)
}

/** Samples a child's RSS every `intervalMs` until stopped; returns the highest value seen. */
export function sampleRss (child: Child, intervalMs = 100): { stop: () => number } {
  let peak = 0
  const take = (): void => {
    const m = child.memory()
    if (m !== null && m.rssMiB > peak) peak = m.rssMiB
  }
  take()
  const timer = setInterval(take, intervalMs)
  return {
    stop: () => {
      clearInterval(timer)
      take()
      return peak
    }
  }
}

/**
 * A fresh database on the PostgreSQL server at `url`, named `<prefix>_<random>`, and how to drop
 * it; null (with a log line saying `otherwise`) when the server cannot be reached.
 */
export async function createPostgresDatabase (url: string, prefix: string, otherwise: string): Promise<{ url: string, drop: () => Promise<void> } | null> {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  try {
    await admin.connect()
  } catch (err) {
    process.stderr.write(`PostgreSQL not reachable at ${url} (${(err as Error).message}): ${otherwise}\n`)
    await admin.end().catch(() => {})
    return null
  }
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const dbUrl = new URL(url)
  dbUrl.pathname = `/${name}`
  return {
    url: dbUrl.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      try {
        await c.query(`drop database if exists ${name} with (force)`)
      } finally {
        await c.end()
      }
    }
  }
}
