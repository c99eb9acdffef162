import { createHash } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Application } from '../storage/models.js'
import type { ApplicationInput, ApplicationPatch } from '../storage/repositories/applications.js'
import { StoreError } from '../storage/errors.js'
import { DEFAULT_FETCH_POLICY, FetchError, boundedLifetime, checkFetchableUrl, fetchJson, type FetchPolicy, type FetchedJson } from '../net/fetch.js'
import { isAlias, parseScope } from '../scopes.js'
import { DYNAMIC_GRANT_TYPES, RegistrationError, checkRedirectUri } from './registration.js'

/*
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2026-07-28
 * basic/authorization/client-registration.mdx): a client id that is an https URL with a path
 * is the address of a JSON document describing the client. It is fetched through the one
 * SSRF-safe fetcher, checked, and kept as an application row (so administrators see, disable
 * and audit it) that is refreshed when the document's own caching lifetime runs out.
 */

export type ClientMetadataMode = 'open' | 'allowlist' | 'off'

/** Bounds on how long a fetched document is trusted (DESIGN.md: 1 minute to 1 day). */
export const MIN_DOCUMENT_LIFETIME_MS = 60_000
export const MAX_DOCUMENT_LIFETIME_MS = 86_400_000
/** How long a failed fetch is remembered, so that a silent or broken host is not asked again at once. */
export const FAILURE_LIFETIME_MS = 5_000
/** Per fetch: a few seconds, never minutes. */
export const DOCUMENT_TIMEOUT_MS = 3_000

export type ClientMetadataFailure = 'off' | 'host' | 'url' | 'invalid' | FetchError['reason']

/** Why a metadata-document client cannot be used; `message` is safe to show to whoever named it. */
export class ClientMetadataError extends Error {
  constructor (readonly reason: ClientMetadataFailure, message: string) {
    super(message)
    this.name = 'ClientMetadataError'
  }
}

/**
 * Whether this client id is meant as the URL of a metadata document. Client ids this service
 * issues never hold a `:`, so any `http(s)://` id is one, and is then checked strictly
 * (`checkClientIdUrl`) rather than taken for an unknown ordinary id.
 */
export function isMetadataClientId (clientId: string): boolean {
  return /^https?:\/\//i.test(clientId)
}

/**
 * The client id as a URL, if the draft allows it as one: `https` (or `http` with the development
 * switch), a path other than `/`, no fragment, no credentials, no dot segments, and spelled as
 * the URL parser spells it (so that "equal to the URL exactly" has one meaning).
 */
export function checkClientIdUrl (clientId: string, allowInsecure: boolean): URL {
  let url: URL
  try {
    url = checkFetchableUrl(clientId, { allowInsecure })
  } catch (err) {
    if (err instanceof FetchError) {
      if (err.reason === 'address') throw new ClientMetadataError('address', 'the client id names a non-public address')
      throw new ClientMetadataError('url', `the client id is not a usable metadata document URL: ${err.message}`)
    }
    throw err
  }
  if (clientId.includes('#')) throw new ClientMetadataError('url', 'a metadata document URL must not have a fragment')
  const rawPath = clientId.replace(/^[a-z]+:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0]
  if (rawPath === '' || rawPath === '/') throw new ClientMetadataError('url', 'a metadata document URL must have a path')
  if (rawPath.split('/').some(segment => segment === '.' || segment === '..' || /^%2e(%2e)?$/i.test(segment) || /^(\.%2e|%2e\.)$/i.test(segment))) {
    throw new ClientMetadataError('url', 'a metadata document URL must not have dot segments')
  }
  if (url.href !== clientId) throw new ClientMetadataError('url', `a metadata document URL must be written in canonical form (${url.href})`)
  return url
}

/** Whether `hostname` is one of `hosts`: exact names, or `*.example.com` for its subdomains (not the apex). */
export function hostAllowed (hostname: string, hosts: readonly string[]): boolean {
  const host = hostname.toLowerCase()
  return hosts.some(entry => entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry)
}

/** What a metadata document may say (fields this service reads; others are ignored). */
export const ClientMetadataDocumentSchema = Type.Object({
  client_id: Type.String({ minLength: 1, maxLength: 2048 }),
  client_name: Type.String({ minLength: 1, maxLength: 200 }),
  redirect_uris: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 20 }),
  token_endpoint_auth_method: Type.Optional(Type.String({ maxLength: 64 })),
  grant_types: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 10 })),
  response_types: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10 })),
  application_type: Type.Optional(Type.Union([Type.Literal('web'), Type.Literal('native')])),
  scope: Type.Optional(Type.String({ maxLength: 4096 })),
  jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1, maxItems: 10 }) })),
  jwks_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  client_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  logo_uri: Type.Optional(Type.String({ maxLength: 2048 }))
}, { additionalProperties: true })
export type ClientMetadataDocument = Static<typeof ClientMetadataDocumentSchema>
const documentCheck = TypeCompiler.Compile(ClientMetadataDocumentSchema)

/** What a checked document contributes to its application row. */
export interface CheckedDocument {
  displayName: string
  redirectUris: string[]
  tokenEndpointAuthMethod: 'none' | 'private_key_jwt'
  applicationType: 'web' | 'native'
  jwks: { keys: Array<Record<string, unknown>> } | null
  jwksUri: string | null
  /** Tool scopes and aliases it names (known ones only); used only when the row is created. */
  scopes: string[]
}

/**
 * Checks a fetched document against the URL it came from. Absent `token_endpoint_auth_method`
 * is `none`: no secret can ever be shared with such a client, so RFC 7591's default
 * (`client_secret_basic`) cannot apply.
 */
export function checkDocument (clientId: string, body: unknown, knownScopes: ReadonlySet<string>, allowInsecure: boolean): CheckedDocument {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClientMetadataError('invalid', 'the metadata document is not a JSON object')
  const doc = body as Record<string, unknown>
  if ('client_secret' in doc || 'client_secret_expires_at' in doc) throw new ClientMetadataError('invalid', 'the metadata document must not hold a client_secret')
  if (!documentCheck.Check(body)) {
    const first = documentCheck.Errors(body).First()
    const where = first === undefined ? '' : `${first.path === '' ? '' : `${first.path.slice(1)}: `}${first.message}`
    throw new ClientMetadataError('invalid', `the metadata document is not valid (${where})`)
  }
  if (body.client_id !== clientId) throw new ClientMetadataError('invalid', 'the metadata document\'s client_id differs from its URL')
  const method = body.token_endpoint_auth_method ?? 'none'
  if (method !== 'none' && method !== 'private_key_jwt') {
    throw new ClientMetadataError('invalid', `token_endpoint_auth_method "${method}" is not allowed for a metadata-document client (only none or private_key_jwt: a shared secret is impossible)`)
  }
  if (method === 'private_key_jwt' && body.jwks === undefined && body.jwks_uri === undefined) {
    throw new ClientMetadataError('invalid', 'private_key_jwt needs jwks or jwks_uri in the metadata document')
  }
  if (body.jwks !== undefined && body.jwks_uri !== undefined) throw new ClientMetadataError('invalid', 'the metadata document may hold jwks or jwks_uri, not both')
  if (body.jwks_uri !== undefined) {
    try {
      checkFetchableUrl(body.jwks_uri, { allowInsecure })
    } catch (err) {
      if (err instanceof FetchError) throw new ClientMetadataError('invalid', `jwks_uri cannot be used: ${err.message}`)
      throw err
    }
  }
  for (const grant of body.grant_types ?? []) {
    if (!(DYNAMIC_GRANT_TYPES as readonly string[]).includes(grant)) {
      throw new ClientMetadataError('invalid', `grant type "${grant}" is not available to metadata-document clients (only ${DYNAMIC_GRANT_TYPES.join(', ')})`)
    }
  }
  for (const type of body.response_types ?? []) {
    if (type !== 'code') throw new ClientMetadataError('invalid', 'response_types may only hold "code"')
  }
  for (const uri of body.redirect_uris) {
    try {
      checkRedirectUri(uri)
    } catch (err) {
      if (err instanceof RegistrationError) throw new ClientMetadataError('invalid', err.message)
      throw err
    }
  }
  const named = parseScope(body.scope).filter(s => isAlias(s) || knownScopes.has(s))
  return {
    displayName: body.client_name.trim() === '' ? clientId : body.client_name.trim(),
    redirectUris: [...new Set(body.redirect_uris)],
    tokenEndpointAuthMethod: method,
    applicationType: body.application_type ?? 'web',
    jwks: body.jwks ?? null,
    jwksUri: body.jwks_uri ?? null,
    scopes: named.length > 0 ? named : ['admin']
  }
}

/**
 * The application name of a metadata-document client: readable (host and path), within the
 * name rules (a slug of at most 64), and unique per URL (a short hash of it).
 */
export function applicationNameFor (url: URL): string {
  const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  const readable = ['md', slug(url.host), slug(url.pathname + url.search)].filter(Boolean).join('-').slice(0, 54).replace(/-+$/, '')
  return `${readable}-${createHash('sha256').update(url.href).digest('hex').slice(0, 8)}`
}

export interface ClientMetadataSettings {
  mode: ClientMetadataMode
  /** For `allowlist`: host names, `*.` wildcards for subdomains. */
  hosts: readonly string[]
  /** Development and tests only: `http`, loopback and private addresses too. */
  allowInsecure: boolean
  /** The organization such clients belong to (REGISTRATION_ORGANIZATION). */
  organization: string
}

export interface ClientMetadataDeps {
  /** The stored application with this client id (memoized; changes reach it). */
  application: (clientId: string) => Promise<Application | undefined>
  applications: {
    create: (input: ApplicationInput) => Promise<{ application: Application }>
    update: (id: string, patch: ApplicationPatch) => Promise<Application>
    findByClientId: (clientId: string) => Promise<Application | undefined>
  }
  knownScopes: () => ReadonlySet<string>
  fetch?: (url: string, policy: FetchPolicy) => Promise<FetchedJson>
  now?: () => number
  /** Told of each fetch and its outcome (for logs); never given document bodies. */
  onFetch?: (event: { clientId: string, ok: boolean, reason?: string }) => void
}

/** At most this many failures are remembered at once (each only for FAILURE_LIFETIME_MS). */
const MAX_REMEMBERED_FAILURES = 1000

/**
 * Resolves client ids to applications, fetching metadata documents when a URL client id is
 * unknown or its document's lifetime is over. Concurrent resolutions of one URL share one
 * fetch; a failure is remembered for a few seconds. Admin-set state (owner, scopes,
 * disabled) is never changed by a refetch, and a disabled client is not fetched at all.
 */
export class ClientMetadataResolver {
  private readonly inFlight = new Map<string, Promise<Application>>()
  private readonly failures = new Map<string, { error: ClientMetadataError, until: number }>()
  private readonly fetchDocument: (url: string, policy: FetchPolicy) => Promise<FetchedJson>
  private readonly now: () => number
  private readonly policy: FetchPolicy

  constructor (readonly settings: ClientMetadataSettings, private readonly deps: ClientMetadataDeps) {
    this.fetchDocument = deps.fetch ?? fetchJson
    this.now = deps.now ?? Date.now
    this.policy = { ...DEFAULT_FETCH_POLICY, allowInsecure: settings.allowInsecure, timeoutMs: DOCUMENT_TIMEOUT_MS }
  }

  /** Whether metadata documents are accepted at all (the discovery document says so). */
  get enabled (): boolean {
    return this.settings.mode !== 'off'
  }

  /**
   * The application this client id names: a stored one as is, a metadata-document client
   * after its document is fetched when needed. Undefined for an unknown ordinary client id;
   * a ClientMetadataError when a URL client id cannot be used, saying why.
   */
  async application (clientId: string): Promise<Application | undefined> {
    if (!isMetadataClientId(clientId)) return await this.deps.application(clientId)
    if (this.settings.mode === 'off') throw new ClientMetadataError('off', 'this service does not accept client ids that are metadata document URLs')
    const url = checkClientIdUrl(clientId, this.settings.allowInsecure)
    if (this.settings.mode === 'allowlist' && !hostAllowed(url.hostname, this.settings.hosts)) {
      throw new ClientMetadataError('host', `metadata documents from ${url.hostname} are not accepted on this service`)
    }
    const stored = await this.deps.application(clientId)
    if (stored !== undefined && (stored.isDisabled || (stored.metadataExpiresAt ?? 0) > this.now())) return stored
    const failed = this.failures.get(clientId)
    if (failed !== undefined) {
      if (failed.until > this.now()) throw failed.error
      this.failures.delete(clientId)
    }
    let pending = this.inFlight.get(clientId)
    if (pending === undefined) {
      pending = this.refresh(clientId).finally(() => this.inFlight.delete(clientId))
      this.inFlight.set(clientId, pending)
    }
    return await pending
  }

  private async refresh (clientId: string): Promise<Application> {
    let fetched: FetchedJson
    let checked: CheckedDocument
    try {
      fetched = await this.fetchDocument(clientId, this.policy)
      checked = checkDocument(clientId, fetched.body, this.deps.knownScopes(), this.settings.allowInsecure)
    } catch (err) {
      const error = err instanceof ClientMetadataError
        ? err
        : err instanceof FetchError ? new ClientMetadataError(err.reason, `the metadata document could not be fetched: ${err.message}`) : undefined
      if (error === undefined) throw err
      this.remember(clientId, error)
      this.deps.onFetch?.({ clientId, ok: false, reason: error.reason })
      throw error
    }
    this.deps.onFetch?.({ clientId, ok: true })
    const expiresAt = this.now() + boundedLifetime(fetched.freshForMs, MIN_DOCUMENT_LIFETIME_MS, MAX_DOCUMENT_LIFETIME_MS)
    const patch = {
      displayName: checked.displayName,
      redirectUris: checked.redirectUris,
      tokenEndpointAuthMethod: checked.tokenEndpointAuthMethod,
      applicationType: checked.applicationType,
      jwks: checked.jwks,
      jwksUri: checked.jwksUri,
      metadataExpiresAt: expiresAt
    } satisfies ApplicationPatch
    // Read again, uncached: another instance may have created or disabled it meanwhile.
    const current = await this.deps.applications.findByClientId(clientId)
    if (current !== undefined) {
      if (current.isDisabled) return current
      return await this.deps.applications.update(current.id, patch)
    }
    try {
      const { application } = await this.deps.applications.create({
        ...patch,
        owner: this.settings.organization,
        name: applicationNameFor(new URL(clientId)),
        clientId,
        grantTypes: [...DYNAMIC_GRANT_TYPES],
        scopes: checked.scopes,
        isMetadataDocument: true
      })
      return application
    } catch (err) {
      // Another instance created it first: theirs stands.
      if (err instanceof StoreError && err.code === 'conflict') {
        const raced = await this.deps.applications.findByClientId(clientId)
        if (raced !== undefined) return raced
      }
      throw err
    }
  }

  private remember (clientId: string, error: ClientMetadataError): void {
    if (this.failures.size >= MAX_REMEMBERED_FAILURES) {
      const now = this.now()
      for (const [key, entry] of this.failures) if (entry.until <= now) this.failures.delete(key)
      if (this.failures.size >= MAX_REMEMBERED_FAILURES) this.failures.delete(this.failures.keys().next().value as string)
    }
    this.failures.set(clientId, { error, until: this.now() + FAILURE_LIFETIME_MS })
  }
}
