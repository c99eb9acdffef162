import type { StorageContext } from '../context.js'
import { guard, notFound } from '../errors.js'
import { json } from '../columns.js'
import { entityId } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import type { OrganizationRepository } from './organizations.js'
import { toPermission, type Permission, type PermissionRow } from './permissions.schema.js'

export interface PermissionInput {
  owner: string
  name: string
  displayName?: string
  description?: string
  roles?: string[]
  resources?: string[]
  actions?: string[]
  effect?: Permission['effect']
}

export class PermissionRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Permission>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('permission', () => listRows(this.context, 'permissions', req)) as PermissionRow[]
    return toPage(rows, limit, r => r.id, toPermission)
  }

  async get (id: string): Promise<Permission> {
    const row = await guard('permission', () => this.context.db.selectFrom('permissions').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) throw notFound('permission', id)
    return toPermission(row)
  }

  async create (input: PermissionInput): Promise<Permission> {
    const now = Date.now()
    const row: PermissionRow = {
      id: entityId(input.owner, input.name),
      owner: input.owner,
      name: input.name,
      display_name: input.displayName ?? input.name,
      description: input.description ?? '',
      roles: json(input.roles ?? []),
      resources: json(input.resources ?? []),
      actions: json(input.actions ?? []),
      effect: input.effect ?? 'allow',
      created_at: now,
      updated_at: now
    }
    await this.organizations.get(input.owner)
    await guard(`permission "${row.id}"`, () => this.context.db.insertInto('permissions').values(row).execute())
    return toPermission(row)
  }

  async update (id: string, patch: Partial<Omit<PermissionInput, 'owner' | 'name'>>): Promise<Permission> {
    await this.get(id)
    const values: Partial<PermissionRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.description !== undefined) values.description = patch.description
    if (patch.roles !== undefined) values.roles = json(patch.roles)
    if (patch.resources !== undefined) values.resources = json(patch.resources)
    if (patch.actions !== undefined) values.actions = json(patch.actions)
    if (patch.effect !== undefined) values.effect = patch.effect
    await guard('permission', () => this.context.db.updateTable('permissions').set(values).where('id', '=', id).execute())
    return this.get(id)
  }

  async delete (id: string): Promise<Permission> {
    const permission = await this.get(id)
    await guard('permission', () => this.context.db.deleteFrom('permissions').where('id', '=', id).execute())
    return permission
  }
}
