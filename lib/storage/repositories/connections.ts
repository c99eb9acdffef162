import type { StorageContext } from '../context.js'
import { guard, notFound } from '../errors.js'
import { json } from '../columns.js'
import { entityId } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import type { OrganizationRepository } from './organizations.js'
import { toConnection, type Connection, type ConnectionRow } from './connections.schema.js'

export interface ConnectionInput {
  owner: string
  name: string
  displayName?: string
  audience: string
  resource: string
  scopes: string[]
  clients?: string[]
  targetClientId: string
}

export type ConnectionPatch = Partial<Omit<ConnectionInput, 'owner' | 'name'>>

export class ConnectionRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Connection>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('connection', () => listRows(this.context, 'connections', req)) as ConnectionRow[]
    return toPage(rows, limit, r => r.id, toConnection)
  }

  async get (id: string): Promise<Connection> {
    const row = await guard('connection', () => this.context.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) throw notFound('connection', id)
    return toConnection(row)
  }

  /**
   * An organization's connections, by id, at most `limit` (policy objects: an organization has
   * a handful, and the token exchange compares their URLs after normalising them).
   */
  async ofOrganization (owner: string, limit = 1000): Promise<Connection[]> {
    const rows = await guard('connection', () => this.context.db.selectFrom('connections').selectAll()
      .where('owner', '=', owner).orderBy('id').limit(limit).execute())
    return rows.map(toConnection)
  }

  async create (input: ConnectionInput): Promise<Connection> {
    const now = Date.now()
    const row: ConnectionRow = {
      id: entityId(input.owner, input.name),
      owner: input.owner,
      name: input.name,
      display_name: input.displayName ?? input.name,
      audience: input.audience,
      resource: input.resource,
      scopes: json(input.scopes),
      clients: json(input.clients ?? []),
      target_client_id: input.targetClientId,
      created_at: now,
      updated_at: now
    }
    await this.organizations.get(input.owner)
    await guard(`connection "${row.id}"`, () => this.context.db.insertInto('connections').values(row).execute())
    return toConnection(row)
  }

  async update (id: string, patch: ConnectionPatch): Promise<Connection> {
    await this.get(id)
    const values: Partial<ConnectionRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.audience !== undefined) values.audience = patch.audience
    if (patch.resource !== undefined) values.resource = patch.resource
    if (patch.scopes !== undefined) values.scopes = json(patch.scopes)
    if (patch.clients !== undefined) values.clients = json(patch.clients)
    if (patch.targetClientId !== undefined) values.target_client_id = patch.targetClientId
    await guard('connection', () => this.context.db.updateTable('connections').set(values).where('id', '=', id).execute())
    return this.get(id)
  }

  async delete (id: string): Promise<Connection> {
    const connection = await this.get(id)
    await guard('connection', () => this.context.db.deleteFrom('connections').where('id', '=', id).execute())
    return connection
  }
}
