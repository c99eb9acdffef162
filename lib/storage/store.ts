import { CompiledQuery, sql, type Transaction } from 'kysely'
import type { DB, Engine } from './db.js'
import type { Database, UserRow, ApplicationRow, OrganizationRow, RoleRow, PermissionRow, TokenRow, SessionRow, SigningKeyRow, AuditEventRow, AuthorizationCodeRow } from './schema.js'
import type { Organization, User, Application, Role, Permission, TokenRecord, Session, SigningKey, AuditEvent, AuthorizationCode } from './models.js'
import { iso } from './models.js'
import { StoreError, guard, notFound } from './errors.js'
import { nameKey } from './name-key.js'
import { IN_LIST_MAX, bool, json, listQuery, ownedBy, parseList, type ListRequest } from './queries.js'
import { decodeCursor, pageLimit, toPage, type Page, type PageRequest } from './paging.js'
import { StorageContext, type Queryable, type Write } from './context.js'
import type { ChangeFeed } from './changes.js'
import { hashPassword, randomToken, verifyPassword, DUMMY_PASSWORD_HASH, safeEqual } from '../crypto.js'

export { nameKey } from './name-key.js'
export type { Change, ChangeKind } from './changes.js'
export type { ListRequest } from './queries.js'

/* ------------------------------------------------------------------ organizations */

function toOrganization (r: OrganizationRow): Organization {
  return { id: r.id, owner: r.owner, name: r.name, displayName: r.display_name, websiteUrl: r.website_url, createdTime: iso(r.created_at), updatedTime: iso(r.updated_at) }
}

export interface OrganizationInput { name: string, displayName?: string, websiteUrl?: string }

export class OrganizationRepository {
  constructor (private readonly context: StorageContext) {}

  async list (req: ListRequest = {}): Promise<Page<Organization>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('organization', () => listQuery(this.context.db, 'organizations', { ...req, owner: undefined }, ['name', 'display_name']).execute()) as OrganizationRow[]
    return toPage(rows, limit, r => r.id, toOrganization)
  }

  /** By `admin/<name>` or by bare name. */
  async get (idOrName: string): Promise<Organization> {
    const name = idOrName.startsWith('admin/') ? idOrName.slice(6) : idOrName
    const row = await guard('organization', () => this.context.db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst())
    if (row === undefined) throw notFound('organization', idOrName)
    return toOrganization(row)
  }

  async create (input: OrganizationInput): Promise<Organization> {
    const now = Date.now()
    const row: OrganizationRow = {
      id: `admin/${input.name}`,
      owner: 'admin',
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
   * removes them (and their roles, permissions, sessions and tokens) in one transaction.
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

/* ------------------------------------------------------------------ users */

function toUser (r: UserRow): User {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    email: r.email,
    phone: r.phone,
    isAdmin: r.is_admin === 1,
    isForbidden: r.is_forbidden === 1,
    hasPassword: r.password_hash !== null,
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

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

/** The organization whose admins are global admins (lib/bootstrap.ts names it too). */
const BUILT_IN_ORGANIZATION = 'built-in'
/** An advisory lock id shared by every instance: changes that may remove a global admin take it. */
const GLOBAL_ADMIN_LOCK = 4242002

export class UserRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<User>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('user', () => listQuery(this.context.db, 'users', req, ['name', 'display_name', 'email']).execute()) as UserRow[]
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

  async create (input: UserInput): Promise<User> {
    const now = Date.now()
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password)
    const row: UserRow = {
      id: `${input.owner}/${input.name}`,
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
      if (lockout && current.owner === BUILT_IN_ORGANIZATION) await this.keepOneGlobalAdmin(trx, id, 'refusing to forbid or demote the last global admin')
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
      if (user.owner === BUILT_IN_ORGANIZATION) await this.keepOneGlobalAdmin(trx, id, 'refusing to delete the last global admin')
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
    if (row.owner !== BUILT_IN_ORGANIZATION || row.is_admin !== 1 || row.is_forbidden !== 0) return
    if (await this.countGlobalAdmins(trx) <= 1) throw new StoreError('conflict', refusal)
  }

  async countGlobalAdmins (q: Queryable = this.context.db): Promise<number> {
    const row = await guard('user', () => q.selectFrom('users').select(eb => eb.fn.countAll<number>().as('n'))
      .where('owner', '=', BUILT_IN_ORGANIZATION).where('is_admin', '=', 1).where('is_forbidden', '=', 0).executeTakeFirstOrThrow())
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
      .where(eb => eb.or([eb('name_key', '=', nameKey(name)), eb('id', '=', `${owner}/${name}`)]))
      .limit(2).execute())
    const row = rows.find(r => r.name === name) ?? rows[0]
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_PASSWORD_HASH)
    if (row === undefined || row.password_hash === null || !ok || row.is_forbidden === 1) return undefined
    return toUser(row)
  }
}

/* ------------------------------------------------------------------ applications */

function toApplication (r: ApplicationRow): Application {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    clientId: r.client_id,
    tokenEndpointAuthMethod: r.token_endpoint_auth_method,
    redirectUris: parseList(r.redirect_uris),
    grantTypes: parseList(r.grant_types),
    scopes: parseList(r.scopes),
    isDisabled: r.is_disabled === 1,
    isDynamic: r.is_dynamic === 1,
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

export interface ApplicationInput {
  owner: string
  name: string
  displayName?: string
  clientId?: string
  /** Given for the bootstrap application; generated otherwise. Ignored for public clients. */
  clientSecret?: string
  tokenEndpointAuthMethod?: 'none' | 'client_secret_basic' | 'client_secret_post'
  redirectUris?: string[]
  grantTypes?: string[]
  scopes?: string[]
  isDisabled?: boolean
  isDynamic?: boolean
  registrationToken?: string
}

export type ApplicationPatch = Partial<Pick<ApplicationInput, 'displayName' | 'redirectUris' | 'grantTypes' | 'scopes' | 'isDisabled' | 'tokenEndpointAuthMethod'>>

export class ApplicationRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Application>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('application', () => listQuery(this.context.db, 'applications', req, ['name', 'display_name']).execute()) as ApplicationRow[]
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
    const clientSecret = method === 'none' ? undefined : (input.clientSecret ?? randomToken(32))
    const row: ApplicationRow = {
      id: `${input.owner}/${input.name}`,
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
    if (patch.tokenEndpointAuthMethod !== undefined) values.token_endpoint_auth_method = patch.tokenEndpointAuthMethod
    await this.context.write(async (write) => {
      await write.trx.updateTable('applications').set(values).where('id', '=', id).execute()
      await write.record('application.changed', current.clientId)
    })
    return this.get(id)
  }

  async rotateSecret (id: string): Promise<{ application: Application, clientSecret: string }> {
    const current = await this.get(id)
    if (current.tokenEndpointAuthMethod === 'none') throw new StoreError('invalid', `application "${id}" is a public client and has no secret`)
    const clientSecret = randomToken(32)
    await this.context.write(async (write) => {
      await write.trx.updateTable('applications').set({ client_secret_digest: this.context.digest(clientSecret), updated_at: Date.now() }).where('id', '=', id).execute()
      await write.record('application.changed', current.clientId)
    })
    return { application: await this.get(id), clientSecret }
  }

  /**
   * Deletes the application and, in the same transaction, revokes the live tokens it holds
   * (acting for itself) and those users got through it: whichever way it is deleted (the
   * tool, RFC 7592), nothing it issued keeps working.
   */
  async delete (id: string): Promise<Application> {
    const app = await this.get(id)
    await this.context.write(async (write) => {
      const { trx } = write
      const now = Date.now()
      const tokens = await trx.selectFrom('tokens').select('id')
        .where(eb => eb.or([eb('subject', '=', app.id), eb('client_id', '=', app.clientId)]))
        .where('revoked_at', 'is', null).where('expires_at', '>', now).execute()
      if (tokens.length > 0) {
        await trx.updateTable('tokens').set({ revoked_at: now })
          .where(eb => eb.or([eb('subject', '=', app.id), eb('client_id', '=', app.clientId)]))
          .where('revoked_at', 'is', null).where('expires_at', '>', now).execute()
      }
      for (const token of tokens) await write.record('token.revoked', token.id)
      await trx.deleteFrom('applications').where('id', '=', id).execute()
      await write.record('application.changed', app.clientId)
    })
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

/* ------------------------------------------------------------------ roles */

function toRole (r: RoleRow): Role {
  return { id: r.id, owner: r.owner, name: r.name, displayName: r.display_name, description: r.description, createdTime: iso(r.created_at), updatedTime: iso(r.updated_at) }
}

export class RoleRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository, private readonly users: UserRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Role>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('role', () => listQuery(this.context.db, 'roles', req, ['name', 'display_name']).execute()) as RoleRow[]
    return toPage(rows, limit, r => r.id, toRole)
  }

  async get (id: string): Promise<Role> {
    const row = await guard('role', () => this.context.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) throw notFound('role', id)
    return toRole(row)
  }

  async create (input: { owner: string, name: string, displayName?: string, description?: string }): Promise<Role> {
    const now = Date.now()
    const row: RoleRow = { id: `${input.owner}/${input.name}`, owner: input.owner, name: input.name, display_name: input.displayName ?? input.name, description: input.description ?? '', created_at: now, updated_at: now }
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

/* ------------------------------------------------------------------ permissions */

function toPermission (r: PermissionRow): Permission {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    description: r.description,
    roles: parseList(r.roles),
    resources: parseList(r.resources),
    actions: parseList(r.actions),
    effect: r.effect === 'deny' ? 'deny' : 'allow',
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

export interface PermissionInput {
  owner: string
  name: string
  displayName?: string
  description?: string
  roles?: string[]
  resources?: string[]
  actions?: string[]
  effect?: 'allow' | 'deny'
}

export class PermissionRepository {
  constructor (private readonly context: StorageContext, private readonly organizations: OrganizationRepository) {}

  async list (req: ListRequest = {}): Promise<Page<Permission>> {
    const limit = pageLimit(req.limit)
    const rows = await guard('permission', () => listQuery(this.context.db, 'permissions', req, ['name', 'display_name']).execute()) as PermissionRow[]
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
      id: `${input.owner}/${input.name}`,
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

/* ------------------------------------------------------------------ tokens */

function toToken (r: TokenRow): TokenRecord {
  return {
    id: r.id,
    kind: r.kind === 'refresh' ? 'refresh' : 'access',
    subject: r.subject,
    subjectKind: r.subject_kind === 'user' ? 'user' : 'application',
    clientId: r.client_id,
    scope: r.scope,
    audience: r.audience,
    familyId: r.family_id,
    sessionId: r.session_id,
    codeId: r.code_id,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    usedAt: r.used_at
  }
}

export type TokenInput = Omit<TokenRecord, 'createdAt' | 'revokedAt' | 'usedAt'>

type RevokeColumn = 'id' | 'family_id' | 'code_id' | 'subject' | 'session_id'

export interface TokenListRequest extends PageRequest {
  subject?: string
  clientId?: string
  /** Subjects whose tokens may be listed (an organization's users and applications). */
  owner?: string
  includeExpired?: boolean
}

/**
 * Revokes, within `write`, the unrevoked tokens whose `column` is one of `values`, recording a
 * change for each. Returns how many were revoked.
 */
export async function revokeTokens (write: Write, column: RevokeColumn, values: readonly string[]): Promise<number> {
  const { trx } = write
  let count = 0
  for (let i = 0; i < values.length; i += IN_LIST_MAX) {
    const some = values.slice(i, i + IN_LIST_MAX)
    const rows = await trx.selectFrom('tokens').select('id').where(column, 'in', some).where('revoked_at', 'is', null).execute()
    if (rows.length === 0) continue
    await trx.updateTable('tokens').set({ revoked_at: Date.now() }).where(column, 'in', some).where('revoked_at', 'is', null).execute()
    for (const r of rows) await write.record('token.revoked', r.id)
    count += rows.length
  }
  return count
}

export class TokenRepository {
  constructor (private readonly context: StorageContext) {}

  async insert (input: TokenInput, q: Queryable = this.context.db): Promise<TokenRecord> {
    const row: TokenRow = {
      id: input.id,
      kind: input.kind,
      subject: input.subject,
      subject_kind: input.subjectKind,
      client_id: input.clientId,
      scope: input.scope,
      audience: input.audience,
      family_id: input.familyId,
      session_id: input.sessionId,
      code_id: input.codeId,
      expires_at: input.expiresAt,
      created_at: Date.now(),
      revoked_at: null,
      used_at: null
    }
    await guard('token', () => q.insertInto('tokens').values(row).execute())
    return toToken(row)
  }

  async find (id: string, q: Queryable = this.context.db): Promise<TokenRecord | undefined> {
    const row = await guard('token', () => q.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst())
    return row === undefined ? undefined : toToken(row)
  }

  async list (req: TokenListRequest = {}): Promise<Page<TokenRecord>> {
    const limit = pageLimit(req.limit)
    const after = decodeCursor(req.cursor)
    let query = this.context.db.selectFrom('tokens').selectAll()
    if (req.subject !== undefined) query = query.where('subject', '=', req.subject)
    if (req.clientId !== undefined) query = query.where('client_id', '=', req.clientId)
    if (req.owner !== undefined) query = query.where(ownedBy('subject', req.owner))
    if (req.includeExpired !== true) query = query.where('expires_at', '>', Date.now())
    if (after !== undefined) query = query.where('id', '>', after)
    const rows = await guard('token', () => query.orderBy('id').limit(limit + 1).execute())
    return toPage(rows, limit, r => r.id, toToken)
  }

  /** Revokes the tokens whose `column` is `value`, and tells every instance. Returns how many were revoked. */
  private async revokeWhere (column: RevokeColumn, value: string): Promise<number> {
    return await this.context.write(write => revokeTokens(write, column, [value]))
  }

  revoke (id: string): Promise<number> { return this.revokeWhere('id', id) }
  revokeFamily (familyId: string): Promise<number> { return this.revokeWhere('family_id', familyId) }
  revokeByCode (codeId: string): Promise<number> { return this.revokeWhere('code_id', codeId) }
  revokeBySubject (subject: string): Promise<number> { return this.revokeWhere('subject', subject) }

  /** Marks a refresh token used; false when it already was (a replay). Atomic across instances. */
  async markUsed (id: string, q: Queryable = this.context.db): Promise<boolean> {
    const result = await guard('token', () => q.updateTable('tokens').set({ used_at: Date.now() }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst())
    return Number(result.numUpdatedRows) === 1
  }

  /** Ids of revoked tokens that have not expired yet: the deny-list an instance starts with. */
  async revokedUnexpired (): Promise<string[]> {
    const rows = await guard('token', () => this.context.db.selectFrom('tokens').select('id').where('revoked_at', 'is not', null).where('expires_at', '>', Date.now()).execute())
    return rows.map(r => r.id)
  }
}

/* ------------------------------------------------------------------ authorization codes */

function toCode (r: AuthorizationCodeRow): AuthorizationCode {
  return {
    id: r.id,
    clientId: r.client_id,
    userId: r.user_id,
    sessionId: r.session_id,
    redirectUri: r.redirect_uri,
    scope: r.scope,
    resource: r.resource,
    codeChallenge: r.code_challenge,
    nonce: r.nonce,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    usedAt: r.used_at
  }
}

export class AuthorizationCodeRepository {
  constructor (private readonly context: StorageContext) {}

  async insert (code: Omit<AuthorizationCode, 'createdAt' | 'usedAt'>): Promise<void> {
    await guard('authorization code', () => this.context.db.insertInto('authorization_codes').values({
      id: code.id,
      client_id: code.clientId,
      user_id: code.userId,
      session_id: code.sessionId,
      redirect_uri: code.redirectUri,
      scope: code.scope,
      resource: code.resource,
      code_challenge: code.codeChallenge,
      nonce: code.nonce,
      expires_at: code.expiresAt,
      created_at: Date.now(),
      used_at: null,
      replayed_at: null
    }).execute())
  }

  /** Records that a used code was presented again (before revoking what it issued). */
  async markReplayed (id: string): Promise<void> {
    await guard('authorization code', () => this.context.db.updateTable('authorization_codes').set({ replayed_at: Date.now() }).where('id', '=', id).execute())
  }

  /**
   * Whether the code was replayed. The first exchange asks this after issuing its tokens: a
   * replay that revoked before they existed is caught here instead.
   */
  async wasReplayed (id: string): Promise<boolean> {
    const row = await guard('authorization code', () => this.context.db.selectFrom('authorization_codes').select('replayed_at').where('id', '=', id).executeTakeFirst())
    return row?.replayed_at != null
  }

  /**
   * Takes a code for exchange. `used` tells a replay apart: the caller must then revoke what
   * the first exchange issued.
   */
  async consume (id: string): Promise<{ code: AuthorizationCode, used: boolean } | undefined> {
    const row = await guard('authorization code', () => this.context.db.selectFrom('authorization_codes').selectAll().where('id', '=', id).executeTakeFirst())
    if (row === undefined) return undefined
    const result = await guard('authorization code', () => this.context.db.updateTable('authorization_codes').set({ used_at: Date.now() })
      .where('id', '=', id).where('used_at', 'is', null).executeTakeFirst())
    return { code: toCode(row), used: Number(result.numUpdatedRows) !== 1 }
  }
}

/* ------------------------------------------------------------------ consents */

export class ConsentRepository {
  constructor (private readonly context: StorageContext) {}

  async get (userId: string, clientId: string): Promise<string[]> {
    const row = await guard('consent', () => this.context.db.selectFrom('consents').select('scope').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst())
    return row === undefined ? [] : row.scope.split(' ').filter(Boolean)
  }

  async grant (userId: string, clientId: string, scopes: string[]): Promise<void> {
    const scope = scopes.join(' ')
    await guard('consent', () => this.context.db.insertInto('consents').values({ user_id: userId, client_id: clientId, scope, created_at: Date.now() })
      .onConflict(oc => oc.columns(['user_id', 'client_id']).doUpdateSet({ scope, created_at: Date.now() })).execute())
  }
}

/* ------------------------------------------------------------------ sessions */

function toSession (r: SessionRow): Session {
  return { id: r.id, userId: r.user_id, userAgent: r.user_agent, ip: r.ip, createdAt: r.created_at, expiresAt: r.expires_at, endedAt: r.ended_at }
}

/**
 * Ends, within `write`, every session of these users that has not ended (expired ones too: their
 * tokens may still be alive), revoking the tokens issued through them; one change each.
 */
export async function endSessionsOf (write: Write, userIds: readonly string[]): Promise<void> {
  const { trx } = write
  for (let i = 0; i < userIds.length; i += IN_LIST_MAX) {
    const some = userIds.slice(i, i + IN_LIST_MAX)
    const rows = await trx.selectFrom('sessions').select('id').where('user_id', 'in', some).where('ended_at', 'is', null).execute()
    if (rows.length === 0) continue
    await trx.updateTable('sessions').set({ ended_at: Date.now() }).where('user_id', 'in', some).where('ended_at', 'is', null).execute()
    const ids = rows.map(r => r.id)
    for (const id of ids) await write.record('session.ended', id)
    await revokeTokens(write, 'session_id', ids)
  }
}

export class SessionRepository {
  constructor (private readonly context: StorageContext) {}

  /**
   * Opens a session. Only the digest of the cookie's random value is stored, as the row id: a
   * database reader cannot present it. `cookieValue` is returned here and never again.
   */
  async create (input: { userId: string, userAgent: string, ip: string, ttlSeconds: number }): Promise<Session & { cookieValue: string }> {
    const now = Date.now()
    const cookieValue = randomToken(32)
    const row: SessionRow = { id: this.idOf(cookieValue), user_id: input.userId, user_agent: input.userAgent.slice(0, 512), ip: input.ip, created_at: now, expires_at: now + input.ttlSeconds * 1000, ended_at: null }
    await guard('session', () => this.context.db.insertInto('sessions').values(row).execute())
    return { ...toSession(row), cookieValue }
  }

  /** The row id of the session a cookie value opens. */
  idOf (cookieValue: string): string {
    return this.context.digest(cookieValue)
  }

  async find (id: string): Promise<Session | undefined> {
    const row = await guard('session', () => this.context.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst())
    return row === undefined ? undefined : toSession(row)
  }

  /** An unexpired, not ended session, or undefined. */
  async findActive (id: string): Promise<Session | undefined> {
    const session = await this.find(id)
    if (session === undefined || session.endedAt !== null || session.expiresAt <= Date.now()) return undefined
    return session
  }

  async list (req: PageRequest & { userId?: string, owner?: string } = {}): Promise<Page<Session>> {
    const limit = pageLimit(req.limit)
    const after = decodeCursor(req.cursor)
    let query = this.context.db.selectFrom('sessions').selectAll().where('ended_at', 'is', null).where('expires_at', '>', Date.now())
    if (req.userId !== undefined) query = query.where('user_id', '=', req.userId)
    if (req.owner !== undefined) query = query.where(ownedBy('user_id', req.owner))
    if (after !== undefined) query = query.where('id', '>', after)
    const rows = await guard('session', () => query.orderBy('id').limit(limit + 1).execute())
    return toPage(rows, limit, r => r.id, toSession)
  }

  /**
   * Ends a session everywhere: its cookie stops working and the tokens issued through it are
   * revoked, in one transaction. Undefined when it was not active (unknown or already ended).
   */
  async end (id: string): Promise<{ revokedTokens: number } | undefined> {
    return await this.context.write(async (write) => {
      const result = await write.trx.updateTable('sessions').set({ ended_at: Date.now() }).where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) return undefined
      await write.record('session.ended', id)
      return { revokedTokens: await revokeTokens(write, 'session_id', [id]) }
    })
  }
}

/* ------------------------------------------------------------------ signing keys */

function toKey (r: SigningKeyRow): SigningKey {
  return { kid: r.kid, algorithm: r.algorithm, publicPem: r.public_pem, publicJwk: JSON.parse(r.public_jwk), privatePem: r.private_pem, createdAt: r.created_at, retiredAt: r.retired_at }
}

export class SigningKeyRepository {
  constructor (private readonly context: StorageContext) {}

  async list (): Promise<SigningKey[]> {
    const rows = await guard('signing key', () => this.context.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute())
    return rows.map(toKey)
  }

  async find (kid: string): Promise<SigningKey | undefined> {
    const row = await guard('signing key', () => this.context.db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst())
    return row === undefined ? undefined : toKey(row)
  }

  /** Adds a key and makes it the only current one, retiring the others (they keep verifying). */
  async rotate (key: Omit<SigningKey, 'createdAt' | 'retiredAt'>): Promise<SigningKey> {
    const now = Date.now()
    const row: SigningKeyRow = { kid: key.kid, algorithm: key.algorithm, public_pem: key.publicPem, public_jwk: json(key.publicJwk), private_pem: key.privatePem, created_at: now, retired_at: null }
    await this.context.write(async (write) => {
      await write.trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute()
      await write.trx.insertInto('signing_keys').values(row).execute()
      await write.record('key.rotated', key.kid)
    })
    return toKey(row)
  }

  /** Rewrites a key's stored private half (encrypted at rest under another key). */
  async replacePrivatePem (kid: string, privatePem: string): Promise<void> {
    await guard('signing key', () => this.context.db.updateTable('signing_keys').set({ private_pem: privatePem }).where('kid', '=', kid).execute())
  }

  /** Drops retired keys that no unexpired token can still be signed with. */
  async prune (retiredBefore: number): Promise<void> {
    await guard('signing key', () => this.context.db.deleteFrom('signing_keys').where('retired_at', 'is not', null).where('retired_at', '<', retiredBefore).execute())
  }
}

/* ------------------------------------------------------------------ audit */

export interface AuditQuery extends PageRequest {
  from?: number
  to?: number
  principal?: string
  tool?: string
  organization?: string
}

function toAudit (r: AuditEventRow): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    principal: r.principal,
    principalKind: r.principal_kind,
    organization: r.organization,
    clientId: r.client_id,
    tool: r.tool,
    outcome: r.outcome as AuditEvent['outcome'],
    durationMs: r.duration_ms,
    arguments: JSON.parse(r.arguments),
    error: r.error
  }
}

/** Rows per audit insert statement (at most; a power of two). */
const AUDIT_CHUNK = 32
const AUDIT_COLUMNS = ['id', 'at', 'principal', 'principal_kind', 'organization', 'client_id', 'tool', 'outcome', 'duration_ms', 'arguments', 'error'] as const

export class AuditRepository {
  constructor (private readonly context: StorageContext) {}

  /**
   * Appends events in one transaction. The statements are written here, in a few fixed shapes
   * (chunks of 32, 16, … 1 rows), rather than built by the query builder: a batch is hundreds of
   * rows on a busy server, and building, compiling and preparing one statement of that size
   * every 50 ms cost more than the inserts themselves (as profiled). Fixed shapes stay
   * prepared in the statement cache. Not `context.transaction`: its end would move the
   * generation, and an append to the log changes nothing a tool reads.
   */
  async insertMany (events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return
    await guard('audit event', () => this.context.db.transaction().execute(async (trx) => {
      for (let i = 0; i < events.length;) {
        let n = AUDIT_CHUNK
        while (n > events.length - i) n >>= 1
        const params: unknown[] = []
        for (const e of events.slice(i, i + n)) {
          params.push(e.id, e.at, e.principal, e.principalKind, e.organization, e.clientId, e.tool, e.outcome, e.durationMs, json(e.arguments ?? {}), e.error)
        }
        await trx.executeQuery(CompiledQuery.raw(this.insertSql(n), params))
        i += n
      }
    }))
  }

  private readonly insertSqls = new Map<number, string>()
  private insertSql (rows: number): string {
    let text = this.insertSqls.get(rows)
    if (text === undefined) {
      let p = 0
      const row = (): string => `(${AUDIT_COLUMNS.map(() => this.context.engine === 'postgres' ? `$${++p}` : '?').join(', ')})`
      text = `insert into "audit_events" (${AUDIT_COLUMNS.map(c => `"${c}"`).join(', ')}) values ${Array.from({ length: rows }, row).join(', ')}`
      this.insertSqls.set(rows, text)
    }
    return text
  }

  /** Newest first. The cursor is the `at:id` of the last event of the previous page. */
  async list (req: AuditQuery = {}): Promise<Page<AuditEvent>> {
    const limit = pageLimit(req.limit)
    const after = decodeCursor(req.cursor)
    let query = this.context.db.selectFrom('audit_events').selectAll()
    if (req.from !== undefined) query = query.where('at', '>=', req.from)
    if (req.to !== undefined) query = query.where('at', '<=', req.to)
    if (req.principal !== undefined) query = query.where('principal', '=', req.principal)
    if (req.tool !== undefined) query = query.where('tool', '=', req.tool)
    if (req.organization !== undefined) query = query.where('organization', '=', req.organization)
    if (after !== undefined) {
      const sep = after.indexOf(':')
      const at = Number(after.slice(0, sep))
      const id = after.slice(sep + 1)
      if (sep < 0 || !Number.isFinite(at)) throw new StoreError('invalid', 'invalid cursor')
      query = query.where(eb => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', id)])]))
    }
    const rows = await guard('audit event', () => query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute())
    return toPage(rows, limit, r => `${r.at}:${r.id}`, toAudit)
  }
}

/* ------------------------------------------------------------------ settings */

export class SettingRepository {
  constructor (private readonly context: StorageContext) {}

  async get (key: string, q: Queryable = this.context.db): Promise<string | undefined> {
    const row = await guard('setting', () => q.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())
    return row?.value
  }

  async set (key: string, value: string, q: Queryable = this.context.db): Promise<void> {
    await guard('setting', () => q.insertInto('settings').values({ key, value }).onConflict(oc => oc.column('key').doUpdateSet({ value })).execute())
  }

  /** The stored value, or `make()` stored now; the first instance to store wins. */
  async getOrCreate (key: string, make: () => string, q: Queryable = this.context.db): Promise<{ value: string, created: boolean }> {
    const candidate = make()
    const result = await guard('setting', () => q.insertInto('settings').values({ key, value: candidate }).onConflict(oc => oc.column('key').doNothing()).executeTakeFirst())
    const created = Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
    const value = created ? candidate : await this.get(key, q)
    if (value === undefined) throw new StoreError('unavailable', `setting ${key} could not be read`)
    return { value, created }
  }
}

/* ------------------------------------------------------------------ login failures */

export class LoginFailureRepository {
  constructor (private readonly context: StorageContext) {}

  async lockedUntil (key: string): Promise<number> {
    const row = await guard('login', () => this.context.db.selectFrom('login_failures').selectAll().where('key', '=', key).executeTakeFirst())
    return row?.locked_until ?? 0
  }

  /** Counts a failure; past `max` failures the account locks for `lockSeconds`, then the count restarts. */
  async fail (key: string, max: number, lockSeconds: number): Promise<{ failures: number, lockedUntil: number }> {
    const now = Date.now()
    return await this.context.transaction(async (trx) => {
      const row = await trx.selectFrom('login_failures').selectAll().where('key', '=', key).executeTakeFirst()
      const failures = (row === undefined || (row.locked_until > 0 && row.locked_until <= now)) ? 1 : row.failures + 1
      const lockedUntil = failures >= max ? now + lockSeconds * 1000 : 0
      const values = { key, failures: failures >= max ? 0 : failures, first_at: row?.first_at ?? now, locked_until: lockedUntil }
      await trx.insertInto('login_failures').values(values).onConflict(oc => oc.column('key').doUpdateSet({ failures: values.failures, locked_until: values.locked_until })).execute()
      return { failures, lockedUntil }
    })
  }

  async reset (key: string): Promise<void> {
    await guard('login', () => this.context.db.deleteFrom('login_failures').where('key', '=', key).execute())
  }
}

/** The setting that holds the key client-secret and session digests use. */
const DIGEST_KEY_SETTING = 'secret_digest_key'

/** Every repository, over one storage context. */
export class Store {
  private readonly context: StorageContext
  readonly organizations: OrganizationRepository
  readonly users: UserRepository
  readonly applications: ApplicationRepository
  readonly roles: RoleRepository
  readonly permissions: PermissionRepository
  readonly tokens: TokenRepository
  readonly codes: AuthorizationCodeRepository
  readonly consents: ConsentRepository
  readonly sessions: SessionRepository
  readonly signingKeys: SigningKeyRepository
  readonly audit: AuditRepository
  readonly settings: SettingRepository
  readonly loginFailures: LoginFailureRepository

  /** See StorageContext: `durable` resolves once earlier commits are on stable storage. */
  constructor (db: DB, engine: Engine, durable?: () => Promise<void>) {
    const context = this.context = new StorageContext(db, engine, durable)
    this.organizations = new OrganizationRepository(context)
    this.users = new UserRepository(context, this.organizations)
    this.applications = new ApplicationRepository(context, this.organizations)
    this.roles = new RoleRepository(context, this.organizations, this.users)
    this.permissions = new PermissionRepository(context, this.organizations)
    this.tokens = new TokenRepository(context)
    this.codes = new AuthorizationCodeRepository(context)
    this.consents = new ConsentRepository(context)
    this.sessions = new SessionRepository(context)
    this.signingKeys = new SigningKeyRepository(context)
    this.audit = new AuditRepository(context)
    this.settings = new SettingRepository(context)
    this.loginFailures = new LoginFailureRepository(context)
  }

  get db (): DB { return this.context.db }
  get engine (): Engine { return this.context.engine }
  get durable (): () => Promise<void> { return this.context.durable }
  get changes (): ChangeFeed { return this.context.changes }
  /** Moves on every write tools can read back, every transaction's end and every change event. */
  get generation (): number { return this.context.generation }

  /** Loads (or creates, once for every instance) the key that secret digests use. */
  async init (): Promise<void> {
    this.context.useDigestKey((await this.settings.getOrCreate(DIGEST_KEY_SETTING, () => randomToken(32))).value)
  }

  digest (secret: string): string {
    return this.context.digest(secret)
  }

  async transaction<T> (work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return await this.context.transaction(work)
  }
}
