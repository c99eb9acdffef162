import type { StorageContext } from '../context.js'
import { guard, notFound } from '../errors.js'
import { bool, json } from '../columns.js'
import { entityId } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import type { OrganizationRepository } from './organizations.js'
import { revokeTokens } from './tokens.js'
import { toIdentityProvider, type IdentityProvider, type IdentityProviderRow } from './identity-providers.schema.js'

export interface IdentityProviderInput {
  owner: string
  name: string
  displayName?: string
  issuer: string
  jwksUri?: string | null
  jwks?: { keys: Array<Record<string, unknown>> } | null
  linkBy?: 'email' | 'subject'
  provisionUsers?: boolean
  isDisabled?: boolean
}

export type IdentityProviderPatch = Partial<Omit<IdentityProviderInput, 'owner' | 'name'>>

export class IdentityProviderRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<IdentityProvider>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('identity provider', () => listRows(this.context, 'identity_providers', req)) as IdentityProviderRow[]
    return toPage(rows, limit, r => r.id, toIdentityProvider)
  }

  async get (id: string): Promise<IdentityProvider> {
    const row = await guard('identity provider', () => this.context.db.selectFrom('identity_providers').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) throw notFound('identity provider', id)
    return toIdentityProvider(row)
  }

  /** The provider whose assertions carry this `iss`, or undefined. */
  async findByIssuer (issuer: string): Promise<IdentityProvider | undefined> {
    const row = await guard('identity provider', () => this.context.db.selectFrom('identity_providers').selectAll().where('issuer', '=', issuer).executeTakeFirst())
    return row === undefined ? undefined : toIdentityProvider(row)
  }

  async create (input: IdentityProviderInput): Promise<IdentityProvider> {
    const now = Date.now()
    const row: IdentityProviderRow = {
      id: entityId(input.owner, input.name),
      owner: input.owner,
      name: input.name,
      display_name: input.displayName ?? input.name,
      issuer: input.issuer,
      jwks_uri: input.jwksUri ?? null,
      jwks: input.jwks == null ? null : json(input.jwks),
      link_by: input.linkBy ?? 'email',
      provision_users: bool(input.provisionUsers, false),
      is_disabled: bool(input.isDisabled, false),
      created_at: now,
      updated_at: now
    }
    await this.organizations.get(input.owner)
    await guard(`identity provider "${row.id}" (or one with issuer ${JSON.stringify(input.issuer)})`, () => this.context.db.insertInto('identity_providers').values(row).execute())
    return toIdentityProvider(row)
  }

  /**
   * Changes a provider. Disabling it revokes, in the same transaction, every token issued
   * through it: the enterprise said its assertions no longer count, so neither does what they bought.
   */
  async update (id: string, patch: IdentityProviderPatch): Promise<IdentityProvider> {
    const current = await this.get(id)
    const values: Partial<IdentityProviderRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.issuer !== undefined) values.issuer = patch.issuer
    if (patch.jwksUri !== undefined) values.jwks_uri = patch.jwksUri
    if (patch.jwks !== undefined) values.jwks = patch.jwks === null ? null : json(patch.jwks)
    if (patch.linkBy !== undefined) values.link_by = patch.linkBy
    if (patch.provisionUsers !== undefined) values.provision_users = patch.provisionUsers ? 1 : 0
    if (patch.isDisabled !== undefined) values.is_disabled = patch.isDisabled ? 1 : 0
    // A new issuer or new keys mean assertions from before no longer identify anyone: end them too.
    const cutOff = (patch.isDisabled === true && !current.isDisabled) ||
      (patch.issuer !== undefined && patch.issuer !== current.issuer)
    await this.context.write(async (write) => {
      await guard(`identity provider "${id}" (or one with issuer ${JSON.stringify(patch.issuer)})`, () => write.trx.updateTable('identity_providers').set(values).where('id', '=', id).execute())
      if (cutOff) await revokeTokens(write, 'provider_id', [id])
    })
    return this.get(id)
  }

  /** Deletes the provider and revokes every token issued through it, in one transaction. */
  async delete (id: string): Promise<IdentityProvider> {
    const provider = await this.get(id)
    await this.context.write(async (write) => {
      await revokeTokens(write, 'provider_id', [id])
      await write.trx.deleteFrom('identity_providers').where('id', '=', id).execute()
    })
    return provider
  }
}
