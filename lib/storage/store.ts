import type { Transaction } from 'kysely'
import type { DB, Engine } from './db.js'
import type { Database } from './schema.js'
import { StorageContext } from './context.js'
import type { ChangeFeed } from './changes.js'
import { OrganizationRepository } from './repositories/organizations.js'
import { UserRepository } from './repositories/users.js'
import { ApplicationRepository } from './repositories/applications.js'
import { RoleRepository } from './repositories/roles.js'
import { PermissionRepository } from './repositories/permissions.js'
import { TokenRepository } from './repositories/tokens.js'
import { AuthorizationCodeRepository } from './repositories/authorization-codes.js'
import { ConsentRepository } from './repositories/consents.js'
import { SessionRepository } from './repositories/sessions.js'
import { SigningKeyRepository } from './repositories/signing-keys.js'
import { AuditRepository } from './repositories/audit.js'
import { SettingRepository } from './repositories/settings.js'
import { LoginFailureRepository } from './repositories/login-failures.js'
import { UsedValueRepository } from './repositories/used-values.js'
import { IdentityProviderRepository } from './repositories/identity-providers.js'
import { ConnectionRepository } from './repositories/connections.js'
import { randomToken } from '../crypto.js'

export { nameKey } from './name-key.js'
export type { Change, ChangeKind } from './changes.schema.js'
export type { ListRequest } from './queries.js'
export type { OrganizationInput } from './repositories/organizations.js'
export type { UserInput, UserPatch } from './repositories/users.js'
export type { ApplicationInput, ApplicationPatch } from './repositories/applications.js'
export type { PermissionInput } from './repositories/permissions.js'
export type { TokenInput, TokenListRequest } from './repositories/tokens.js'
export type { AuditQuery } from './repositories/audit.js'
export type { IdentityProviderInput, IdentityProviderPatch } from './repositories/identity-providers.js'
export type { ConnectionInput, ConnectionPatch } from './repositories/connections.js'

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
  readonly usedValues: UsedValueRepository
  readonly identityProviders: IdentityProviderRepository
  readonly connections: ConnectionRepository

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
    this.usedValues = new UsedValueRepository(context)
    this.identityProviders = new IdentityProviderRepository(context, this.organizations)
    this.connections = new ConnectionRepository(context, this.organizations)
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
