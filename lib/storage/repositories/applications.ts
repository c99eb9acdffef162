import type { StorageContext } from '../context.js'
import { StoreError, guard, notFound } from '../errors.js'
import { bool, json } from '../columns.js'
import { entityId } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import { randomToken, safeEqual } from '../../crypto.js'
import type { OrganizationRepository } from './organizations.js'
import { revokeAll } from './tokens.js'
import { toApplication, type Application, type ApplicationRow } from './applications.schema.js'

export interface ApplicationInput {
  owner: string
  name: string
  displayName?: string
  clientId?: string
  /** Given for the bootstrap application; generated otherwise. Ignored for public clients. */
  clientSecret?: string
  tokenEndpointAuthMethod?: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  redirectUris?: string[]
  grantTypes?: string[]
  scopes?: string[]
  isDisabled?: boolean
  isDynamic?: boolean
  isMetadataDocument?: boolean
  applicationType?: 'web' | 'native'
  jwks?: { keys: Array<Record<string, unknown>> } | null
  jwksUri?: string | null
  dpopBoundAccessTokens?: boolean
  metadataExpiresAt?: number | null
  registrationToken?: string
}

export type ApplicationPatch = Partial<Pick<ApplicationInput, 'displayName' | 'redirectUris' | 'grantTypes' | 'scopes' | 'isDisabled' | 'tokenEndpointAuthMethod' |
'applicationType' | 'jwks' | 'jwksUri' | 'dpopBoundAccessTokens' | 'metadataExpiresAt'>>

/** Methods whose client holds no shared secret. */
const SECRETLESS = new Set(['none', 'private_key_jwt'])

export class ApplicationRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Application>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('application', () => listRows(this.context, 'applications', req)) as ApplicationRow[]
    return toPage(rows, limit, r => r.id, toApplication)
  }

  async get (id: string): Promise<Application> {
    const row = await guard('application', () => this.context.db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) throw notFound('application', id)
    return toApplication(row)
  }

  async findByName (name: string): Promise<Application | undefined> {
    const row = await guard('application', () => this.context.db.selectFrom('applications').selectAll().where('name', '=', name).executeTakeFirst())
    return row === undefined ? undefined : toApplication(row)
  }

  async findByClientId (clientId: string): Promise<Application | undefined> {
    const row = await this.rowByClientId(clientId)
    return row === undefined ? undefined : toApplication(row)
  }

  private async rowByClientId (clientId: string): Promise<ApplicationRow | undefined> {
    return await guard('application', () => this.context.db.selectFrom('applications').selectAll().where('client_id', '=', clientId).executeTakeFirst())
  }

  /** Creates the application; `clientSecret` is returned here and never again. */
  async create (input: ApplicationInput): Promise<{ application: Application, clientSecret?: string }> {
    const now = Date.now()
    const method = input.tokenEndpointAuthMethod ?? 'client_secret_basic'
    const clientSecret = SECRETLESS.has(method) ? undefined : (input.clientSecret ?? randomToken(32))
    const row: ApplicationRow = {
      id: entityId(input.owner, input.name),
      owner: input.owner,
      name: input.name,
      display_name: input.displayName ?? input.name,
      client_id: input.clientId ?? randomToken(16),
      client_secret_digest: clientSecret === undefined ? null : this.context.digest(clientSecret),
      token_endpoint_auth_method: method,
      redirect_uris: json(input.redirectUris ?? []),
      grant_types: json(input.grantTypes ?? ['client_credentials']),
      scopes: json(input.scopes ?? []),
      is_disabled: bool(input.isDisabled, false),
      is_dynamic: bool(input.isDynamic, false),
      registration_token_digest: input.registrationToken === undefined ? null : this.context.digest(input.registrationToken),
      application_type: input.applicationType ?? 'web',
      jwks: input.jwks == null ? null : json(input.jwks),
      jwks_uri: input.jwksUri ?? null,
      dpop_bound_access_tokens: bool(input.dpopBoundAccessTokens, false),
      is_metadata_document: bool(input.isMetadataDocument, false),
      metadata_expires_at: input.metadataExpiresAt ?? null,
      created_at: now,
      updated_at: now
    }
    await this.organizations.get(input.owner)
    await guard(`application "${input.name}"`, () => this.context.db.insertInto('applications').values(row).execute())
    return { application: toApplication(row), clientSecret }
  }

  async update (id: string, patch: ApplicationPatch): Promise<Application> {
    const current = await this.get(id)
    const values: Partial<ApplicationRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.redirectUris !== undefined) values.redirect_uris = json(patch.redirectUris)
    if (patch.grantTypes !== undefined) values.grant_types = json(patch.grantTypes)
    if (patch.scopes !== undefined) values.scopes = json(patch.scopes)
    if (patch.isDisabled !== undefined) values.is_disabled = patch.isDisabled ? 1 : 0
    if (patch.tokenEndpointAuthMethod !== undefined) {
      values.token_endpoint_auth_method = patch.tokenEndpointAuthMethod
      // A client that stops using a shared secret must not keep one that still works.
      if (SECRETLESS.has(patch.tokenEndpointAuthMethod)) values.client_secret_digest = null
    }
    if (patch.applicationType !== undefined) values.application_type = patch.applicationType
    if (patch.jwks !== undefined) values.jwks = patch.jwks === null ? null : json(patch.jwks)
    if (patch.jwksUri !== undefined) values.jwks_uri = patch.jwksUri
    if (patch.dpopBoundAccessTokens !== undefined) values.dpop_bound_access_tokens = patch.dpopBoundAccessTokens ? 1 : 0
    if (patch.metadataExpiresAt !== undefined) values.metadata_expires_at = patch.metadataExpiresAt
    await this.context.write(async (write) => {
      await write.trx.updateTable('applications').set(values).where('id', '=', id).execute()
      await write.record('application.changed', current.clientId)
    })
    return this.get(id)
  }

  async rotateSecret (id: string): Promise<{ application: Application, clientSecret: string }> {
    const current = await this.get(id)
    if (current.tokenEndpointAuthMethod === 'none') throw new StoreError('invalid', `application "${id}" is a public client and has no secret`)
    if (current.tokenEndpointAuthMethod === 'private_key_jwt') throw new StoreError('invalid', `application "${id}" authenticates with private_key_jwt and has no secret`)
    const clientSecret = randomToken(32)
    await this.context.write(async (write) => {
      await write.trx.updateTable('applications').set({ client_secret_digest: this.context.digest(clientSecret), updated_at: Date.now() }).where('id', '=', id).execute()
      await write.record('application.changed', current.clientId)
    })
    return { application: await this.get(id), clientSecret }
  }

  /**
   * Deletes the application, then revokes the live tokens it holds (acting for itself) and those
   * users got through it: whichever way it is deleted (the tool, RFC 7592), nothing it issued
   * keeps working. The delete commits first and already refuses them everywhere (a token whose
   * client no longer exists is refused, and every instance hears of the change within the
   * freshness bound); the revocation follows in bounded batches, so that tens of thousands of
   * tokens never hold SQLite's writer in one transaction. Resolves once both are done.
   */
  async delete (id: string): Promise<Application> {
    const app = await this.get(id)
    await this.context.write(async (write) => {
      await write.trx.deleteFrom('applications').where('id', '=', id).execute()
      await write.record('application.changed', app.clientId)
    })
    await revokeAll(this.context, 'client_id', app.clientId)
    await revokeAll(this.context, 'subject', app.id)
    return app
  }

  /** The application whose client id and secret these are (compared in constant time), or undefined. */
  async authenticate (clientId: string, clientSecret: string): Promise<Application | undefined> {
    const row = await this.rowByClientId(clientId)
    const expected = row?.client_secret_digest ?? this.context.digest(randomToken(8))
    const ok = safeEqual(this.context.digest(clientSecret), expected)
    if (row === undefined || row.client_secret_digest === null || !ok) return undefined
    return toApplication(row)
  }

  /** Whether a registration access token (RFC 7592) belongs to this client. */
  async checkRegistrationToken (clientId: string, token: string): Promise<Application | undefined> {
    const row = await this.rowByClientId(clientId)
    if (row?.registration_token_digest == null) return undefined
    return safeEqual(this.context.digest(token), row.registration_token_digest) ? toApplication(row) : undefined
  }
}
