import type { StorageContext } from '../context.js'
import { StoreError, guard, notFound } from '../errors.js'
import { ORGANIZATION_OWNER, organizationId, organizationName } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import { endSessionsOf } from './sessions.js'
import { revokeTokens } from './tokens.js'
import { toOrganization, type Organization, type OrganizationRow } from './organizations.schema.js'

export interface OrganizationInput { name: string, displayName?: string, websiteUrl?: string }

export class OrganizationRepository {
  constructor (private readonly context: StorageContext) {}

  async list (req: ListRequest = {}): Promise<Page<Organization>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('organization', () => listRows(this.context, 'organizations', { ...req, owner: undefined })) as OrganizationRow[]
    return toPage(rows, limit, r => r.id, toOrganization)
  }

  /** By `admin/<name>` or by bare name. */
  async get (idOrName: string): Promise<Organization> {
    const name = organizationName(idOrName)
    const row = await guard('organization', () => this.context.db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst())
    if (row === undefined) throw notFound('organization', idOrName)
    return toOrganization(row)
  }

  async create (input: OrganizationInput): Promise<Organization> {
    const now = Date.now()
    const row: OrganizationRow = {
      id: organizationId(input.name),
      owner: ORGANIZATION_OWNER,
      name: input.name,
      display_name: input.displayName ?? input.name,
      website_url: input.websiteUrl ?? '',
      created_at: now,
      updated_at: now
    }
    await guard(`organization "${input.name}"`, () => this.context.db.insertInto('organizations').values(row).execute())
    return toOrganization(row)
  }

  async update (id: string, patch: Partial<Omit<OrganizationInput, 'name'>>): Promise<Organization> {
    const current = await this.get(id)
    const values: Partial<OrganizationRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.websiteUrl !== undefined) values.website_url = patch.websiteUrl
    await guard('organization', () => this.context.db.updateTable('organizations').set(values).where('id', '=', current.id).execute())
    return this.get(current.id)
  }

  async countMembers (name: string): Promise<{ users: number, applications: number }> {
    const [users, applications] = await guard('organization', () => Promise.all([
      this.context.db.selectFrom('users').select(eb => eb.fn.countAll<number>().as('n')).where('owner', '=', name).executeTakeFirstOrThrow(),
      this.context.db.selectFrom('applications').select(eb => eb.fn.countAll<number>().as('n')).where('owner', '=', name).executeTakeFirstOrThrow()
    ]))
    return { users: Number(users.n), applications: Number(applications.n) }
  }

  /**
   * Deletes an organization; one that still has users or applications needs `cascade`, which
   * removes them (and their roles, permissions, identity providers, connections, sessions and
   * tokens) in one transaction.
   */
  async delete (id: string, cascade = false): Promise<Organization> {
    const org = await this.get(id)
    const members = await this.countMembers(org.name)
    if (!cascade && (members.users > 0 || members.applications > 0)) {
      throw new StoreError('conflict', `organization "${org.name}" still has ${members.users} users and ${members.applications} applications; pass cascade: true to delete them too`)
    }
    await this.context.write(async (write) => {
      const { trx } = write
      const users = await trx.selectFrom('users').select('id').where('owner', '=', org.name).execute()
      const apps = await trx.selectFrom('applications').select(['id', 'client_id']).where('owner', '=', org.name).execute()
      for (const u of users) await write.record('user.changed', u.id)
      for (const a of apps) await write.record('application.changed', a.client_id)
      const userIds = users.map(u => u.id)
      if (userIds.length > 0) {
        await endSessionsOf(write, userIds)
        await trx.deleteFrom('user_roles').where('user_id', 'in', userIds).execute()
      }
      // What its users and applications hold dies with them.
      await revokeTokens(write, 'subject', [...userIds, ...apps.map(a => a.id)])
      const providers = await trx.selectFrom('identity_providers').select('id').where('owner', '=', org.name).execute()
      await revokeTokens(write, 'provider_id', providers.map(p => p.id))
      await trx.deleteFrom('identity_providers').where('owner', '=', org.name).execute()
      await trx.deleteFrom('connections').where('owner', '=', org.name).execute()
      await trx.deleteFrom('permissions').where('owner', '=', org.name).execute()
      await trx.deleteFrom('user_roles').where('role_id', 'in', trx.selectFrom('roles').select('id').where('owner', '=', org.name)).execute()
      await trx.deleteFrom('roles').where('owner', '=', org.name).execute()
      await trx.deleteFrom('users').where('owner', '=', org.name).execute()
      await trx.deleteFrom('applications').where('owner', '=', org.name).execute()
      await trx.deleteFrom('organizations').where('id', '=', org.id).execute()
    })
    return org
  }
}
