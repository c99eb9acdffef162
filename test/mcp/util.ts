import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { BOOTSTRAP_CLIENT, build, type BuildOptions, type TestContext } from '../helper.js'

/** Four small tools with known scopes: demo:read, demo:write, other:read. */
export const FIXTURE_TOOLS = fileURLToPath(new URL('./fixtures/tools', import.meta.url))
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const HOST = 'iam.test'
export const BASE = `http://${HOST}`

export function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}
export const BOOTSTRAP_BASIC = basic(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret)

/** The service over the fixture tools, with a fixed public origin (for `inject`). */
export async function buildMcp (t: TestContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  return await build(t, { toolsDir: FIXTURE_TOOLS, ...opts, env: { PUBLIC_URL: BASE, ...opts.env } })
}

export interface RpcOptions {
  headers?: Record<string, string | undefined>
  /** Sent as is (a string) instead of JSON-encoding `body`. */
  raw?: string
}

/** `POST /api/mcp` with the defaults a well-behaved client sends (bootstrap Basic credentials). */
export async function rpc (app: FastifyInstance, body: unknown, opts: RpcOptions = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {}
  const all: Record<string, string | undefined> = {
    host: HOST,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: BOOTSTRAP_BASIC,
    ...opts.headers
  }
  for (const [k, v] of Object.entries(all)) if (v !== undefined) headers[k] = v
  return await app.inject({ method: 'POST', url: '/api/mcp', headers, payload: opts.raw ?? JSON.stringify(body) })
}

let seq = 0
/** An application (in `built-in` unless told) allowed exactly `scopes`; its Basic header. */
export async function applicationWith (app: FastifyInstance, scopes: string[], owner = 'built-in'): Promise<{ authorization: string, id: string, clientId: string }> {
  seq++
  const clientId = `test-client-${seq}-${Date.now()}`
  const secret = `secret-${seq}-0123456789abcdef`
  const { application } = await app.store.applications.create({
    owner,
    name: `app-${seq}-${Date.now()}`,
    clientId,
    clientSecret: secret,
    grantTypes: ['client_credentials'],
    scopes
  })
  return { authorization: basic(clientId, secret), id: application.id, clientId }
}

/**
 * A Bearer header for an access token this service signs: the bootstrap admin user with
 * `scopes`, issued by `base` (the public origin) for `audience` (`base` unless told).
 */
export async function bearerFor (app: FastifyInstance, scopes: string[], audience?: string, base = BASE): Promise<string> {
  const issued = await app.tokens.issue({
    subject: 'built-in/admin',
    subjectKind: 'user',
    clientId: BOOTSTRAP_CLIENT.id,
    scopes,
    audience: audience ?? base,
    issuer: base
  })
  return `Bearer ${issued.access_token}`
}

/** A signed session cookie for the bootstrap admin (unrestricted scopes). */
export async function sessionCookieFor (app: FastifyInstance): Promise<string> {
  const session = await app.store.sessions.create({ userId: 'built-in/admin', userAgent: 'test', ip: '127.0.0.1', ttlSeconds: 600 })
  return `iam_session=${encodeURIComponent(app.signCookie(session.id))}`
}

/**
 * A folder beside `tools/` (so a tool file's `../lib/…` imports resolve exactly as in
 * `tools/`), removed at teardown.
 */
export function tempToolsDir (t: TestContext): string {
  const dir = mkdtempSync(join(REPO_ROOT, '.test-tools-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Writes `count` minimal tools named `tool_000`… into `dir` (scope `bulk:read`). */
export function writeBulkTools (dir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const name = `tool_${String(i).padStart(3, '0')}`
    writeFileSync(join(dir, `${name}.ts`), `import { Type } from '@sinclair/typebox'
import { defineTool } from '../lib/tool.js'

export default defineTool({
  name: '${name}',
  title: 'Tool ${i}',
  description: 'Bulk tool number ${i}.',
  scopes: ['bulk:read'],
  input: Type.Object({}),
  output: Type.Object({ n: Type.Integer() }),
  annotations: { readOnlyHint: true },
  async handler () { return { n: ${i} } }
})
`)
  }
}
