import { createHash, randomBytes } from 'node:crypto'
import { ADMIN } from '../helper.js'

/** A user agent for the HTML flow: keeps cookies, never follows redirects by itself. */
export class Agent {
  readonly cookies = new Map<string, string>()
  constructor (readonly base: string) {}

  async request (path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(new URL(path, this.base), { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  get (path: string): Promise<Response> {
    return this.request(path)
  }

  postForm (path: string, fields: Array<[string, string]>): Promise<Response> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString()
    })
  }
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`' }
export function unescapeHtml (value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39|#96);/g, m => ENTITIES[m])
}

/** The page's form: its action and its hidden fields (CSRF token, sealed request). */
export function parseForm (html: string): { action: string, hidden: Record<string, string>, scopes: string[] } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
  if (action === undefined) throw new Error(`no form in page: ${html.slice(0, 300)}`)
  const hidden: Record<string, string> = {}
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden[m[1]] = unescapeHtml(m[2])
  const scopes = [...html.matchAll(/name="scope" value="([^"]+)"/g)].map(m => unescapeHtml(m[1]))
  return { action: unescapeHtml(action), hidden, scopes }
}

export function pkce (): { verifier: string, challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export interface RegisteredClient {
  client_id: string
  client_secret?: string
  registration_access_token: string
  registration_client_uri: string
  redirect_uris: string[]
  [key: string]: unknown
}

export async function register (base: string, metadata: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(`${base}/api/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(metadata)
  })
}

export async function registerPublic (base: string, redirectUri: string, extra: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const res = await register(base, { client_name: 'Test agent', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', ...extra })
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`)
  return await res.json() as RegisteredClient
}

export function authorizePath (params: Record<string, string | undefined>): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, v)
  return `/login/oauth/authorize?${search.toString()}`
}

export interface Credentials { username: string, password: string, organization?: string }
export const ADMIN_LOGIN: Credentials = { username: ADMIN.username, password: ADMIN.password }

export async function submitLogin (agent: Agent, loginPage: string, creds: Credentials): Promise<Response> {
  const form = parseForm(loginPage)
  return await agent.postForm(form.action, [
    ['csrf_token', form.hidden.csrf_token], ['request', form.hidden.request],
    ['username', creds.username], ['password', creds.password], ['organization', creds.organization ?? '']
  ])
}

export async function submitConsent (agent: Agent, consentPage: string, decision: 'approve' | 'deny', keep?: string[]): Promise<Response> {
  const form = parseForm(consentPage)
  const ticked = keep ?? form.scopes
  return await agent.postForm(form.action, [
    ['csrf_token', form.hidden.csrf_token], ['request', form.hidden.request],
    ...ticked.map((s): [string, string] => ['scope', s]),
    ['decision', decision]
  ])
}

/**
 * Runs an authorization request through login (when the agent has no session) and consent
 * (when asked), keeping only `keep` ticked; returns the redirect to the client.
 */
export async function authorizeThrough (agent: Agent, path: string, opts: { creds?: Credentials, keep?: string[], decision?: 'approve' | 'deny', onConsent?: (page: string) => string[] } = {}): Promise<URL> {
  let res = await agent.get(path)
  let body = await res.text()
  if (res.status === 200 && body.includes('name="password"')) {
    res = await submitLogin(agent, body, opts.creds ?? ADMIN_LOGIN)
    if (res.status !== 303) throw new Error(`login failed: ${res.status} ${await res.text()}`)
    res = await agent.get(res.headers.get('location') as string)
    body = await res.text()
  }
  if (res.status === 200) {
    res = await submitConsent(agent, body, opts.decision ?? 'approve', opts.onConsent === undefined ? opts.keep : opts.onConsent(body))
    body = await res.text()
  }
  const location = res.headers.get('location')
  if (res.status < 300 || res.status >= 400 || location === null) throw new Error(`expected a redirect to the client, got ${res.status}: ${body}`)
  return new URL(location)
}

export async function tokenRequest (base: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number, body: Record<string, any> }> {
  const res = await fetch(`${base}/api/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString()
  })
  return { status: res.status, body: await res.json() as Record<string, any> }
}

export function basic (id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` }
}

export function decodeJwt (token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
}
