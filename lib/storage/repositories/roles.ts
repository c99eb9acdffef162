import type { StorageContext } from '../context.js'
import { StoreError, guard, notFound } from '../errors.js'
import { entityId } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import type { OrganizationRepository } from './organizations.js'
import type { UserRepository } from './users.js'
import { toRole, type Role, type RoleRow } from './roles.schema.js'

export class RoleRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository, private readonly users: UserRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Role>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('role', () => listRows(this.context, 'roles', req)) as RoleRow[]
    return toPage(rows, limit, r => r.id, toRole)
  }

  async get (id: string): Promise<Role> {
    const row = await guard('role', () => this.context.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) throw notFound('role', id)
    return toRole(row)
  }

  async create (input: { owner: string, name: string, displayName?: string, description?: string }): Promise<Role> {
    const now = Date.now()
    const row: RoleRow = { id: entityId(input.owner, input.name), owner: input.owner, name: input.name, display_name: input.displayName ?? input.name, description: input.description ?? '', created_at: now, updated_at: now }
    await this.organizations.get(input.owner)
    await guard(`role "${row.id}"`, () => this.context.db.insertInto('roles').values(row).execute())
    return toRole(row)
  }

  async update (id: string, patch: { displayName?: string, description?: string }): Promise<Role> {
    await this.get(id)
    const values: Partial<RoleRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.description !== undefined) values.description = patch.description
    await guard('role', () => this.context.db.updateTable('roles').set(values).where('id', '=', id).execute())
    return this.get(id)
  }

  async delete (id: string): Promise<Role> {
    const role = await this.get(id)
    await this.context.transaction(async (trx) => {
      await trx.deleteFrom('user_roles').where('role_id', '=', id).execute()
      await trx.deleteFrom('roles').where('id', '=', id).execute()
    })
    return role
  }

  async assign (userId: string, roleId: string): Promise<void> {
    await this.users.get(userId)
    await this.get(roleId)
    await guard(`assignment of role "${roleId}" to "${userId}"`, () => this.context.db.insertInto('user_roles').values({ user_id: userId, role_id: roleId, created_at: Date.now() }).execute())
  }

  async unassign (userId: string, roleId: string): Promise<void> {
    const result = await guard('role', () => this.context.db.deleteFrom('user_roles').where('user_id', '=', userId).where('role_id', '=', roleId).executeTakeFirst())
    if (Number(result.numDeletedRows) === 0) throw new StoreError('not_found', `user "${userId}" does not have role "${roleId}"`)
  }

  async ofUser (userId: string): Promise<string[]> {
    const rows = await guard('role', () => this.context.db.selectFrom('user_roles').select('role_id').where('user_id', '=', userId).orderBy('role_id').execute())
    return rows.map(r => r.role_id)
  }

  async members (roleId: string): Promise<string[]> {
    const rows = await guard('role', () => this.context.db.selectFrom('user_roles').select('user_id').where('role_id', '=', roleId).orderBy('user_id').execute())
    return rows.map(r => r.user_id)
  }
}
