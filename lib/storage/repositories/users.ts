import { sql } from 'kysely'
import type { StorageContext, Queryable } from '../context.js'
import { StoreError, guard, notFound } from '../errors.js'
import { nameKey } from '../name-key.js'
import { bool } from '../columns.js'
import { BUILT_IN, entityId } from '../names.js'
import { listRows, type ListRequest } from '../queries.js'
import { pageLimit, toPage, type Page } from '../paging.js'
import { hashPassword, verifyPassword, DUMMY_PASSWORD_HASH } from '../../crypto.js'
import type { OrganizationRepository } from './organizations.js'
import { endSessionsOf } from './sessions.js'
import { revokeTokens } from './tokens.js'
import { toUser, type User, type UserRow } from './users.schema.js'

export interface UserInput {
  owner: string
  name: string
  password?: string
  displayName?: string
  email?: string
  phone?: string
  isAdmin?: boolean
  isForbidden?: boolean
}

export type UserPatch = Partial<Omit<UserInput, 'owner' | 'name'>>

/** An advisory lock id shared by every instance: changes that may remove a global admin take it. */
const GLOBAL_ADMIN_LOCK = 4242002

export class UserRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<User>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('user', () => listRows(this.context, 'users', req)) as UserRow[]
    return toPage(rows, limit, r => r.id, toUser)
  }

  async get (id: string): Promise<User> {
    const row = await this.row(id)
    if (row === undefined) throw notFound('user', id)
    return toUser(row)
  }

  async find (id: string): Promise<User | undefined> {
    const row = await this.row(id)
    return row === undefined ? undefined : toUser(row)
  }

  private async row (id: string): Promise<UserRow | undefined> {
    return await guard('user', () => this.context.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst())
  }

  /** The organization's users with this email (case-insensitive), at most two: enough to tell one from many. */
  async findByEmail (owner: string, email: string): Promise<User[]> {
    if (email === '') return []
    const rows = await guard('user', () => this.context.db.selectFrom('users').selectAll()
      .where('owner', '=', owner).where(sql`lower(email)`, '=', email.toLowerCase()).orderBy('id').limit(2).execute())
    return rows.map(toUser)
  }

  /** The organization's user with this name (or a name that folds to the same key), or undefined. */
  async findByName (owner: string, name: string): Promise<User | undefined> {
    const rows = await guard('user', () => this.context.db.selectFrom('users').selectAll()
      .where('owner', '=', owner)
      .where(eb => eb.or([eb('name_key', '=', nameKey(name)), eb('id', '=', entityId(owner, name))]))
      .limit(2).execute())
    const row = rows.find(r => r.name === name) ?? rows[0]
    return row === undefined ? undefined : toUser(row)
  }

  async create (input: UserInput): Promise<User> {
    const now = Date.now()
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password)
    const row: UserRow = {
      id: entityId(input.owner, input.name),
      owner: input.owner,
      name: input.name,
      name_key: nameKey(input.name),
      display_name: input.displayName ?? input.name,
      email: input.email ?? '',
      phone: input.phone ?? '',
      password_hash: passwordHash,
      is_admin: bool(input.isAdmin, false),
      is_forbidden: bool(input.isForbidden, false),
      created_at: now,
      updated_at: now
    }
    await this.organizations.get(input.owner)
    await guard(`user "${row.id}" (or a look-alike name)`, () => this.context.db.insertInto('users').values(row).execute())
    return toUser(row)
  }

  async update (id: string, patch: UserPatch): Promise<User> {
    const current = await this.get(id)
    const values: Partial<UserRow> = { updated_at: Date.now() }
    if (patch.displayName !== undefined) values.display_name = patch.displayName
    if (patch.email !== undefined) values.email = patch.email
    if (patch.phone !== undefined) values.phone = patch.phone
    if (patch.isAdmin !== undefined) values.is_admin = patch.isAdmin ? 1 : 0
    if (patch.isForbidden !== undefined) values.is_forbidden = patch.isForbidden ? 1 : 0
    if (patch.password !== undefined) values.password_hash = await hashPassword(patch.password)
    const lockout = patch.isForbidden === true || patch.isAdmin === false
    await this.context.write(async (write) => {
      const { trx } = write
      if (lockout && current.owner === BUILT_IN) await this.keepOneGlobalAdmin(trx, id, 'refusing to forbid or demote the last global admin')
      const result = await trx.updateTable('users').set(values).where('id', '=', id).executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) throw notFound('user', id)
      await write.record('user.changed', id)
      // A forbidden user, or one whose password changed, is signed out everywhere, for good.
      if (patch.isForbidden === true || patch.password !== undefined) await endSessionsOf(write, [id])
      if (patch.isForbidden === true) await revokeTokens(write, 'subject', [id])
    })
    return this.get(id)
  }

  async delete (id: string): Promise<User> {
    const user = await this.get(id)
    await this.context.write(async (write) => {
      const { trx } = write
      if (user.owner === BUILT_IN) await this.keepOneGlobalAdmin(trx, id, 'refusing to delete the last global admin')
      await write.record('user.changed', id)
      await trx.deleteFrom('user_roles').where('user_id', '=', id).execute()
      await endSessionsOf(write, [id])
      await revokeTokens(write, 'subject', [id])
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      if (Number(result.numDeletedRows) !== 1) throw notFound('user', id)
    })
    return user
  }

  /**
   * Refuses (inside `trx`) a change that would leave no active global admin when `id` is one.
   * The count and the change it guards commit together, serialised with every other such
   * change: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by its single
   * connection (a transaction holds it until it ends).
   */
  private async keepOneGlobalAdmin (trx: Queryable, id: string, refusal: string): Promise<void> {
    if (this.context.engine === 'postgres') await sql`select pg_advisory_xact_lock(${GLOBAL_ADMIN_LOCK})`.execute(trx)
    const row = await trx.selectFrom('users').select(['owner', 'is_admin', 'is_forbidden']).where('id', '=', id).executeTakeFirst()
    if (row === undefined) throw notFound('user', id)
    if (row.owner !== BUILT_IN || row.is_admin !== 1 || row.is_forbidden !== 0) return
    if (await this.countGlobalAdmins(trx) <= 1) throw new StoreError('conflict', refusal)
  }

  async countGlobalAdmins (q: Queryable = this.context.db): Promise<number> {
    const row = await guard('user', () => q.selectFrom('users').select(eb => eb.fn.countAll<number>().as('n'))
      .where('owner', '=', BUILT_IN).where('is_admin', '=', 1).where('is_forbidden', '=', 0).executeTakeFirstOrThrow())
    return Number(row.n)
  }

  /**
   * The user for a username and password, or undefined. The same work is done whether or not
   * the user exists, so the answer's timing does not tell which field was wrong.
   */
  async authenticate (owner: string, name: string, password: string): Promise<User | undefined> {
    // By key, or by exact name: a look-alike pair that predates skeletons keeps one plain key
    // (migration 0004 suffixes the later one's), and each still signs in by its own name.
    const rows = await guard('user', () => this.context.db.selectFrom('users').selectAll()
      .where('owner', '=', owner)
      .where(eb => eb.or([eb('name_key', '=', nameKey(name)), eb('id', '=', entityId(owner, name))]))
      .limit(2).execute())
    const row = rows.find(r => r.name === name) ?? rows[0]
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_PASSWORD_HASH)
    if (row === undefined || row.password_hash === null || !ok || row.is_forbidden === 1) return undefined
    return toUser(row)
  }
}
