import { randomUUID } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { FastifyInstance } from 'fastify'
import type { TestContext } from '../helper.js'
import { CLIENT_ASSERTION_TYPE } from '../../lib/oauth/client-assertion.js'

/* What the private_key_jwt tests share: keys, assertions, a key set served on loopback. */

export const PUBLIC_URL = 'http://iam.internal'
export const TOKEN_URL = `${PUBLIC_URL}/api/login/oauth/access_token`
export { CLIENT_ASSERTION_TYPE }

export interface KeyPair { privateKey: CryptoKey, publicJwk: JWK, kid: string, alg: string }

export async function keyPair (kid: string, alg = 'ES256'): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { privateKey, publicJwk: { ...await exportJWK(publicKey), kid, alg, use: 'sig' }, kid, alg }
}

/** A client assertion for `clientId` signed with `key`; `claims` and `header` override the defaults. */
export async function assertion (key: KeyPair, clientId: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({ iss: clientId, sub: clientId, aud: PUBLIC_URL, iat: now, exp: now + 120, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header } as never)
    .sign(key.privateKey)
}

/** An unsigned JWT (`alg: none`). */
export function unsigned (clientId: string): string {
  const now = Math.floor(Date.now() / 1000)
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none' })}.${part({ iss: clientId, sub: clientId, aud: PUBLIC_URL, exp: now + 60, jti: randomUUID() })}.`
}

/** An HS256 JWT keyed with whatever bytes a confused verifier might use (the public key's JSON). */
export async function hmacSigned (clientId: string, secret: Uint8Array, kid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({ iss: clientId, sub: clientId, aud: PUBLIC_URL, exp: now + 60, jti: randomUUID() })
    .setProtectedHeader({ alg: 'HS256', kid })
    .sign(secret)
}

/** A private_key_jwt application acting for itself; returns its client id. */
export async function addMachine (app: FastifyInstance, name: string, keys: { jwks?: { keys: JWK[] }, jwksUri?: string }, scopes = ['user:read']): Promise<string> {
  const { application } = await app.store.applications.create({
    owner: 'built-in',
    name,
    grantTypes: ['client_credentials'],
    scopes,
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: keys.jwks as never,
    jwksUri: keys.jwksUri
  })
  return application.clientId
}

/** POSTs a form-like JSON body to an OAuth endpoint. */
export async function post (app: FastifyInstance, url: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  return await app.inject({ method: 'POST', url, payload: body, headers })
}

export async function tokenRequest (app: FastifyInstance, jwt: string, extra: Record<string, string> = {}) {
  return await post(app, '/api/login/oauth/access_token', { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jwt, ...extra })
}

export interface KeyServer {
  url: string
  /** How many times the set was fetched. */
  hits: () => number
  /** What the next fetch answers. */
  serve: (answer: { status?: number, body?: unknown, raw?: string, headers?: Record<string, string>, silent?: boolean }) => void
}

/** A JWK Set served over plain http on loopback (the development switch lets the server fetch it). */
export async function keyServer (t: TestContext, initial: unknown): Promise<KeyServer> {
  let answer: { status?: number, body?: unknown, raw?: string, headers?: Record<string, string>, silent?: boolean } = { body: initial }
  let hits = 0
  const server = http.createServer((req, res) => {
    hits++
    if (answer.silent === true) return // never answers: the fetcher's timeout must end it
    const text = answer.raw ?? JSON.stringify(answer.body)
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/jwk-set+json', ...answer.headers })
    res.end(text)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/jwks.json`, hits: () => hits, serve: (a) => { answer = a } }
}
