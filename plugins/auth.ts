import { hash, randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyBasicAuth from '@fastify/basic-auth'
import type { FastifyRequest } from 'fastify'
import type { AuthFailure, AuthResult, Principal } from '../lib/principal.js'
import type { Application } from '../lib/storage/models.js'
import { StoreError } from '../lib/storage/errors.js'
import { grantableScopes, mayActForItself } from '../lib/auth/policy.js'
import { clientOfBasicCredentials } from '../lib/oauth/client-auth.js'
import { servedResources } from '../lib/oauth/resource.js'
import { BoundedCache } from '../lib/oauth/bounded-cache.js'
import { SharedClaimsPool, TokenCache, VerifiedToken } from '../lib/auth/token-cache.js'
import { BUILT_IN } from '../lib/bootstrap.js'
import { createDpopVerifier, schemeMismatch, type DpopVerifier } from '../lib/auth/dpop.js'
import { isActive, issuedBefore, samePrincipal, toClaims, userPrincipal, withExtras, type PrincipalExtras } from '../lib/auth/access-token.js'
import { audienceMatches, CLOCK_TOLERANCE_MS, decodeJwtHeader, describeJwtError, JWT_ALGORITHM, keyLookupError, UnknownSigningKeyError, type AccessTokenClaims } from '../lib/jwt.js'

export type TokenCheck = { ok: true, claims: AccessTokenClaims, principal: Principal } | { ok: false, description: string }

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Who is calling, by the three ways in (DESIGN.md order): Bearer (or DPoP) access token, HTTP Basic
     * client credentials, session cookie. Never reads the query string. A present but bad
     * `Authorization` header is a failure even when a valid cookie is also sent. Throws
     * StoreError('unavailable') when revocation data is stale (answer 503).
     */
    authenticate: (request: FastifyRequest) => Promise<AuthResult>
    /**
     * Checks an access token this service signed: signature (our keys, RS256), `typ`,
     * `iss` = `issuer`, `exp`/`nbf`, not revoked, subject and client still enabled. The
     * audience is checked only when `audiences` is given. For introspection and userinfo.
     */
    verifyAccessToken: (token: string, issuer: string, audiences?: readonly string[]) => Promise<TokenCheck>
    /** Judges DPoP proofs (RFC 9449), their `jti`s used once across instances. */
    dpop: DpopVerifier
  }
}

/** A token whose subject checks passed is checked again at least this often, changes or not. */
const RECHECK_MS = 60_000
/** Expired one-time values (DPoP `jti`s…) are purged this often, at most this many batches of this size. */
/** Verified Basic credentials kept (as salted hashes). */
const BASIC_CACHE_MAX = 10_000

function invalid (description: string): { ok: false, failure: AuthFailure } {
  return { ok: false, failure: { reason: 'invalid_token', description } }
}

/** A token refused for a DPoP reason: answered with a `DPoP` challenge (RFC 9449 §7.1). */
function invalidForDpop (description: string): { ok: false, failure: AuthFailure } {
  return { ok: false, failure: { reason: 'invalid_token', description, dpop: true } }
}

/** The request's path, without the query: with `{base}` it is the URL a DPoP proof's `htu` names. */
function pathOf (url: string): string {
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}

export default fp(async function auth (fastify) {
  const { authState, tools, store } = fastify
  const dpop = createDpopVerifier({ claim: (kind, value, expiresAt) => store.usedValues.claim(kind, value, expiresAt) })
  // Verified tokens, by digest, within TOKEN_CACHE_BYTES; each entry expires with its token.
  const verified = new TokenCache<VerifiedToken>(fastify.config.TOKEN_CACHE_BYTES)
  const shared = new SharedClaimsPool()
  // Expanded scope sets of applications acting for themselves, per (immutable) application object.
  const appScopes = new WeakMap<Application, ReadonlySet<string>>()
  // What the Basic validator found, per request.
  const basicResults = new WeakMap<FastifyRequest, Application>()
  // Basic headers already verified (salted hash → principal and the auth generation it was
  // found at); bounded and short-lived.
  const basicSalt = randomBytes(16).toString('base64url')
  const basicVerified = new BoundedCache<string, { principal: Principal, generation: number }>(BASIC_CACHE_MAX, RECHECK_MS)
  // The principal of an application acting for itself over Basic, per (immutable) application
  // object: a changed application is a new object. Shared by its requests, so read-only.
  const basicPrincipals = new WeakMap<Application, Principal>()

  class InvalidClient extends Error {}

  await fastify.register(fastifyBasicAuth, {
    // Lax parsing tolerates extra whitespace; errors are ours to map (no `authenticate` header).
    strictCredentials: false,
    async validate (clientId: string, clientSecret: string, request: FastifyRequest) {
      const app = await clientOfBasicCredentials(authState.authenticateClient, clientId, clientSecret)
      // Right credentials of an application that may not act for itself are refused the same way.
      if (app === undefined || !mayActForItself(app)) throw new InvalidClient('invalid client credentials')
      basicResults.set(request, app)
    }
  })

  function scopesOf (app: Application): ReadonlySet<string> {
    let scopes = appScopes.get(app)
    if (scopes === undefined) {
      scopes = new Set(grantableScopes(app, tools.scopes, 'self'))
      appScopes.set(app, scopes)
    }
    return scopes
  }

  function applicationPrincipal (app: Application, via: Principal['via'], scopes = scopesOf(app), extras?: PrincipalExtras): Principal {
    return withExtras({
      kind: 'application',
      id: app.id,
      organization: app.owner,
      name: app.name,
      isAdmin: false,
      isGlobalAdmin: app.owner === BUILT_IN,
      clientId: app.clientId,
      scopes,
      via
    }, extras)
  }

  // @fastify/jwt's verifier (registered with the signing keys) looks the key up by `kid`, so it
  // answers a promise, though its type says otherwise.
  const verifyJwt = (token: string): Promise<Record<string, unknown>> => fastify.jwt.verify(token) as unknown as Promise<Record<string, unknown>>

  /** Signature, algorithm, `typ`, time claims — cached per token string until it expires. */
  async function verifySignature (token: string, key: string): Promise<VerifiedToken | string> {
    const header = decodeJwtHeader(token)
    if (header === undefined) return 'the token is malformed'
    if (header.alg !== JWT_ALGORITHM) return 'the token algorithm is not accepted'
    if (typeof header.kid !== 'string') return 'the token names no signing key'
    if (header.crit !== undefined) return 'the token has critical headers this service does not understand'
    let claims: AccessTokenClaims | undefined
    try {
      claims = toClaims(await verifyJwt(token))
    } catch (err) {
      // The key store failing while it looks up the `kid` is an outage, not a bad token.
      const lookup = keyLookupError(err)
      if (lookup !== undefined && !(lookup instanceof UnknownSigningKeyError)) throw lookup
      return describeJwtError(err)
    }
    if (claims === undefined) return 'the token has malformed claims'
    // What a fleet's tokens share is held once (see SharedClaims); `jti` and `sid` are their own.
    const entry = new VerifiedToken(claims, shared.of(claims))
    verified.set(key, entry)
    return entry
  }

  /** The token's verified entry, its subject checks passed (`principal` set), or why not. */
  async function check (token: string, issuer: string, audiences?: readonly string[]): Promise<VerifiedToken | string> {
    const key = TokenCache.keyOf(token)
    const entry = verified.get(key) ?? await verifySignature(token, key)
    if (typeof entry === 'string') return entry
    const { shared } = entry
    const now = Date.now()
    if (entry.exp * 1000 + CLOCK_TOLERANCE_MS <= now) return 'the token has expired'
    if (shared.iss !== issuer) return 'the token was issued for another issuer'
    if (audiences !== undefined && !audienceMatches(shared.aud, audiences)) return 'the token is not meant for this resource'
    const refreshing = authState.ensureFresh()
    if (refreshing !== undefined) await refreshing
    // Nothing changed since the subject checks last passed: the same answer, without redoing them.
    if (entry.checkedGeneration === authState.generation && now < entry.checkedUntil * 1000) return entry
    // Read before the checks: a change that lands while they wait makes the next request redo them.
    const generation = authState.generation
    let until = now + RECHECK_MS
    if (authState.isRevoked(entry.jti)) return 'the token has been revoked'
    if (entry.sid !== undefined) {
      const held = authState.peekSession(entry.sid)
      const session = isActive(held) ? held : await authState.activeSession(entry.sid)
      if (session === undefined) return 'the session the token was issued through has ended'
      until = Math.min(until, session.expiresAt)
    }
    const client = authState.peekApplication(shared.client_id) ?? await authState.application(shared.client_id)
    if (client === undefined || client.isDisabled) return 'the client is disabled or no longer exists'
    // A deleted account re-created under the same id does not inherit the old one's tokens.
    if (issuedBefore(entry.iat, client.createdTime)) return 'the token predates its client'
    const idp = entry.rare?.idp
    const idpSubject = entry.rare?.idp_sub
    const extras: PrincipalExtras = {
      tokenId: entry.jti,
      sessionId: entry.sid,
      provider: idp !== undefined && idpSubject !== undefined ? { id: idp, subject: idpSubject } : undefined
    }
    let principal: Principal
    if (shared.sub_kind === 'application') {
      if (client.id !== shared.sub) return 'the token subject does not match its client'
      if (!mayActForItself(client)) return 'the client may no longer act for itself'
      principal = applicationPrincipal(client, 'bearer', shared.scopes, extras)
    } else {
      const user = authState.peekUser(shared.sub) ?? await authState.user(shared.sub)
      if (user === undefined || user.isForbidden) return 'the user is forbidden or no longer exists'
      if (issuedBefore(entry.iat, user.createdTime)) return 'the token predates its user'
      principal = userPrincipal(user, shared.client_id, shared.scopes, 'bearer', extras)
    }
    // Shared by every request that presents this token until something changes: read-only.
    // A check that began before another one's change and ends after that one's answer must not
    // replace it: the entry keeps the answer of the newest state, which every request reads.
    if (generation < entry.checkedGeneration) return entry
    const held = entry.principal
    entry.principal = held !== undefined && samePrincipal(held, principal) ? held : Object.freeze(principal)
    entry.checkedGeneration = generation
    // In seconds, rounded down: a recheck a little early, never late.
    entry.checkedUntil = Math.floor(until / 1000)
    return entry
  }

  async function checkToken (token: string, issuer: string, audiences?: readonly string[]): Promise<TokenCheck> {
    const entry = await check(token, issuer, audiences)
    if (typeof entry === 'string') return { ok: false, description: entry }
    return { ok: true, claims: entry.claims(), principal: entry.principal as Principal }
  }

  // The audiences a token for the MCP endpoint may name, per public base (one, unless proxied).
  let audienceBase = ''
  let mcpAudiences: readonly string[] = []

  function audiencesFor (base: string): readonly string[] {
    if (base !== audienceBase) {
      mcpAudiences = servedResources(base)
      audienceBase = base
    }
    return mcpAudiences
  }

  async function bearer (request: FastifyRequest, token: string): Promise<AuthResult> {
    if (token === '') return invalid('the bearer token is empty')
    const base = fastify.publicBase(request)
    const entry = await check(token, base, audiencesFor(base))
    if (typeof entry === 'string') return invalid(entry)
    // A bound token alone proves nothing: whoever stole it lacks the key.
    const cnf = entry.rare?.cnf
    if (cnf !== undefined) return invalidForDpop(schemeMismatch('bearer', cnf.jkt) ?? '')
    return { ok: true, principal: entry.principal as Principal }
  }

  /**
   * `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449 §7): the token must be bound,
   * and the proof fresh, for this request, for this token, signed by the bound key. The token's
   * checks stay cached; the proof is judged on every request.
   */
  async function dpopBound (request: FastifyRequest, token: string): Promise<AuthResult> {
    if (token === '') return invalidForDpop('the DPoP token is empty')
    const base = fastify.publicBase(request)
    const entry = await check(token, base, audiencesFor(base))
    if (typeof entry === 'string') return invalidForDpop(entry)
    const jkt = entry.rare?.cnf?.jkt
    if (jkt === undefined) return invalidForDpop(schemeMismatch('dpop', jkt) ?? '')
    const proof = await dpop.verify(request.headers.dpop, { method: request.method, url: base + pathOf(request.url), accessToken: token, jkt })
    if (!proof.ok) return { ok: false, failure: { reason: 'invalid_dpop_proof', description: proof.description } }
    return { ok: true, principal: entry.principal as Principal }
  }

  async function basic (request: FastifyRequest, header: string): Promise<AuthResult> {
    const refreshing = authState.ensureFresh()
    if (refreshing !== undefined) await refreshing
    // The same header verified before, and nothing changed since: the same principal, without
    // parsing it again. Keyed by a salted hash: the cache never holds a secret.
    const key = hash('sha256', `${basicSalt}${header}`, 'base64url')
    const hit = basicVerified.get(key)
    if (hit !== undefined && hit.generation === authState.generation) return { ok: true, principal: hit.principal }
    const generation = authState.generation
    const result = await parseBasic(request)
    if (result.ok) basicVerified.set(key, { principal: result.principal, generation })
    return result
  }

  function parseBasic (request: FastifyRequest): Promise<AuthResult> {
    return new Promise((resolve, reject) => {
      // @fastify/basic-auth parses the header (RFC 7617) and calls `validate`; its reply
      // argument is only used for its own challenge, which is not configured.
      fastify.basicAuth(request, undefined as never, (err?: Error) => {
        if (err instanceof StoreError) return reject(err)
        if (err !== undefined && !(err instanceof InvalidClient) && (err as { statusCode?: number }).statusCode !== 401) return reject(err)
        const app = basicResults.get(request)
        if (err !== undefined || app === undefined) {
          return resolve({ ok: false, failure: { reason: 'invalid_client', description: 'invalid client credentials' } })
        }
        let principal = basicPrincipals.get(app)
        if (principal === undefined) {
          principal = Object.freeze(applicationPrincipal(app, 'basic'))
          basicPrincipals.set(app, principal)
        }
        resolve({ ok: true, principal })
      })
    })
  }

  async function session (request: FastifyRequest, id: string): Promise<AuthResult> {
    // A cookie is ambient: a cross-site page must not use it (SameSite=Lax, plus this check).
    if (fastify.sessions.isForeignOrigin(request)) {
      return { ok: false, failure: { reason: 'invalid_session', description: 'cross-site request with a session cookie' } }
    }
    const refreshing = authState.ensureFresh()
    if (refreshing !== undefined) await refreshing
    const live = await authState.liveSession(id)
    if (live === undefined) return { ok: false, failure: { reason: 'invalid_session', description: 'the session has ended' } }
    return { ok: true, principal: userPrincipal(live.user, null, null, 'session', { sessionId: live.session.id }) }
  }

  fastify.decorate('verifyAccessToken', checkToken)
  fastify.decorate('dpop', dpop)

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest): Promise<AuthResult> {
    const header = request.headers.authorization
    if (header !== undefined && header !== '') {
      // The usual shape, `Bearer <token>`, without parsing; anything else below.
      if (header.startsWith('Bearer ') && header.length > 7 && header.charCodeAt(7) > 32 && header.charCodeAt(header.length - 1) > 32) {
        return await bearer(request, header.slice(7))
      }
      if (header.startsWith('DPoP ') && header.length > 5 && header.charCodeAt(5) > 32 && header.charCodeAt(header.length - 1) > 32) {
        return await dpopBound(request, header.slice(5))
      }
      const trimmed = header.trimStart()
      const space = trimmed.search(/[ \t]/)
      const scheme = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase()
      if (scheme === 'bearer') return await bearer(request, space < 0 ? '' : trimmed.slice(space + 1).trim())
      if (scheme === 'basic') return await basic(request, header)
      if (scheme === 'dpop') return await dpopBound(request, space < 0 ? '' : trimmed.slice(space + 1).trim())
      return { ok: false, failure: { reason: 'invalid_token', description: 'unsupported authorization scheme' } }
    }
    const sessionId = fastify.sessions.idOf(request)
    if (sessionId === false) return { ok: false, failure: { reason: 'invalid_session', description: 'the session cookie is invalid' } }
    if (sessionId !== undefined) return await session(request, sessionId)
    return { ok: false, failure: { reason: 'missing' } }
  })
}, { name: 'auth', dependencies: ['config', 'storage', 'public-url', 'keys', 'auth-state', 'sessions', 'tool-registry'], fastify: '5.x' })
