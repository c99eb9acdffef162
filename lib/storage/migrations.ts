import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import { secretDigest } from '../crypto.js'
import { foldedNameKey, nameKey } from './name-key.js'

/**
 * Versioned schema changes, in order. A migration is never edited once released: add a new
 * one. Names sort lexically, so keep the numeric prefix.
 */
const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up (db: Kysely<any>) {
      const ts = 'bigint'
      await db.schema.createTable('organizations')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('owner', 'text', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull().unique())
        .addColumn('display_name', 'text', c => c.notNull())
        .addColumn('website_url', 'text', c => c.notNull().defaultTo(''))
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('updated_at', ts, c => c.notNull())
        .execute()

      await db.schema.createTable('users')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('owner', 'text', c => c.notNull().references('organizations.name'))
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('name_key', 'text', c => c.notNull())
        .addColumn('display_name', 'text', c => c.notNull())
        .addColumn('email', 'text', c => c.notNull())
        .addColumn('phone', 'text', c => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('is_admin', 'integer', c => c.notNull())
        .addColumn('is_forbidden', 'integer', c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('updated_at', ts, c => c.notNull())
        .addUniqueConstraint('users_owner_name_key', ['owner', 'name_key'])
        .execute()

      await db.schema.createTable('applications')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('owner', 'text', c => c.notNull().references('organizations.name'))
        .addColumn('name', 'text', c => c.notNull().unique())
        .addColumn('display_name', 'text', c => c.notNull())
        .addColumn('client_id', 'text', c => c.notNull().unique())
        .addColumn('client_secret_digest', 'text')
        .addColumn('token_endpoint_auth_method', 'text', c => c.notNull())
        .addColumn('redirect_uris', 'text', c => c.notNull())
        .addColumn('grant_types', 'text', c => c.notNull())
        .addColumn('scopes', 'text', c => c.notNull())
        .addColumn('is_disabled', 'integer', c => c.notNull())
        .addColumn('is_dynamic', 'integer', c => c.notNull())
        .addColumn('registration_token_digest', 'text')
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('updated_at', ts, c => c.notNull())
        .execute()

      await db.schema.createTable('roles')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('owner', 'text', c => c.notNull().references('organizations.name'))
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('display_name', 'text', c => c.notNull())
        .addColumn('description', 'text', c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('updated_at', ts, c => c.notNull())
        .execute()

      await db.schema.createTable('user_roles')
        .addColumn('user_id', 'text', c => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role_id', 'text', c => c.notNull().references('roles.id').onDelete('cascade'))
        .addColumn('created_at', ts, c => c.notNull())
        .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
        .execute()

      await db.schema.createTable('permissions')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('owner', 'text', c => c.notNull().references('organizations.name'))
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('display_name', 'text', c => c.notNull())
        .addColumn('description', 'text', c => c.notNull())
        .addColumn('roles', 'text', c => c.notNull())
        .addColumn('resources', 'text', c => c.notNull())
        .addColumn('actions', 'text', c => c.notNull())
        .addColumn('effect', 'text', c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('updated_at', ts, c => c.notNull())
        .execute()

      await db.schema.createTable('tokens')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('subject', 'text', c => c.notNull())
        .addColumn('subject_kind', 'text', c => c.notNull())
        .addColumn('client_id', 'text', c => c.notNull())
        .addColumn('scope', 'text', c => c.notNull())
        .addColumn('audience', 'text', c => c.notNull())
        .addColumn('family_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('code_id', 'text')
        .addColumn('expires_at', ts, c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('revoked_at', ts)
        .addColumn('used_at', ts)
        .execute()
      await db.schema.createIndex('tokens_subject').on('tokens').column('subject').execute()
      await db.schema.createIndex('tokens_family').on('tokens').column('family_id').execute()
      await db.schema.createIndex('tokens_code').on('tokens').column('code_id').execute()
      await db.schema.createIndex('tokens_revoked').on('tokens').columns(['revoked_at', 'expires_at']).execute()

      await db.schema.createTable('sessions')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('user_id', 'text', c => c.notNull())
        .addColumn('user_agent', 'text', c => c.notNull())
        .addColumn('ip', 'text', c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('expires_at', ts, c => c.notNull())
        .addColumn('ended_at', ts)
        .execute()
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute()

      await db.schema.createTable('signing_keys')
        .addColumn('kid', 'text', c => c.primaryKey())
        .addColumn('algorithm', 'text', c => c.notNull())
        .addColumn('public_pem', 'text', c => c.notNull())
        .addColumn('public_jwk', 'text', c => c.notNull())
        .addColumn('private_pem', 'text', c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('retired_at', ts)
        .execute()

      await db.schema.createTable('audit_events')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('at', ts, c => c.notNull())
        .addColumn('principal', 'text', c => c.notNull())
        .addColumn('principal_kind', 'text', c => c.notNull())
        .addColumn('organization', 'text', c => c.notNull())
        .addColumn('client_id', 'text', c => c.notNull())
        .addColumn('tool', 'text', c => c.notNull())
        .addColumn('outcome', 'text', c => c.notNull())
        .addColumn('duration_ms', 'real', c => c.notNull())
        .addColumn('arguments', 'text', c => c.notNull())
        .addColumn('error', 'text', c => c.notNull())
        .execute()
      await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'id']).execute()

      await db.schema.createTable('authorization_codes')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('client_id', 'text', c => c.notNull())
        .addColumn('user_id', 'text', c => c.notNull())
        .addColumn('session_id', 'text')
        .addColumn('redirect_uri', 'text', c => c.notNull())
        .addColumn('scope', 'text', c => c.notNull())
        .addColumn('resource', 'text', c => c.notNull())
        .addColumn('code_challenge', 'text', c => c.notNull())
        .addColumn('nonce', 'text')
        .addColumn('expires_at', ts, c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addColumn('used_at', ts)
        .execute()

      await db.schema.createTable('consents')
        .addColumn('user_id', 'text', c => c.notNull())
        .addColumn('client_id', 'text', c => c.notNull())
        .addColumn('scope', 'text', c => c.notNull())
        .addColumn('created_at', ts, c => c.notNull())
        .addPrimaryKeyConstraint('consents_pk', ['user_id', 'client_id'])
        .execute()

      await db.schema.createTable('settings')
        .addColumn('key', 'text', c => c.primaryKey())
        .addColumn('value', 'text', c => c.notNull())
        .execute()

      await db.schema.createTable('changes')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('at', ts, c => c.notNull())
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('ref', 'text', c => c.notNull())
        .execute()
      await db.schema.createIndex('changes_at').on('changes').column('at').execute()

      await db.schema.createTable('login_failures')
        .addColumn('key', 'text', c => c.primaryKey())
        .addColumn('failures', 'integer', c => c.notNull())
        .addColumn('first_at', ts, c => c.notNull())
        .addColumn('locked_until', ts, c => c.notNull())
        .execute()
    },
    async down (db: Kysely<any>) {
      for (const table of ['login_failures', 'changes', 'settings', 'consents', 'authorization_codes',
        'audit_events', 'signing_keys', 'sessions', 'tokens', 'permissions', 'user_roles', 'roles',
        'applications', 'users', 'organizations']) {
        await sql`drop table if exists ${sql.table(table)}`.execute(db)
      }
    }
  }
}

migrations['0002_code_replay_marker'] = {
  // A replayed code is marked, so that an exchange still in flight revokes what it issues.
  async up (db: Kysely<any>) {
    await db.schema.alterTable('authorization_codes').addColumn('replayed_at', 'bigint').execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.alterTable('authorization_codes').dropColumn('replayed_at').execute()
  }
}

migrations['0003_session_digests'] = {
  // Session ids were the cookie's value itself, so a database reader could present one. The
  // row id becomes the keyed digest of that value (what `store.digest` computes), and so do the
  // references to it. Computed here, in JS, with the key from the settings table: without it,
  // no session can have been opened, and there is nothing to convert.
  async up (db: Kysely<any>) {
    // Ending a session revokes the tokens issued through it: find them without a scan.
    await db.schema.createIndex('tokens_session').on('tokens').column('session_id').execute()
    const key = await db.selectFrom('settings').select('value').where('key', '=', 'secret_digest_key').executeTakeFirst() as { value: string } | undefined
    if (key === undefined) return
    const digest = (id: string): string => secretDigest(key.value, id)
    const sessions = await db.selectFrom('sessions').select('id').execute() as Array<{ id: string }>
    for (const { id } of sessions) await db.updateTable('sessions').set({ id: digest(id) }).where('id', '=', id).execute()
    for (const table of ['tokens', 'authorization_codes']) {
      const rows = await db.selectFrom(table).select(['id', 'session_id']).where('session_id', 'is not', null).execute() as Array<{ id: string, session_id: string }>
      for (const row of rows) await db.updateTable(table).set({ session_id: digest(row.session_id) }).where('id', '=', row.id).execute()
    }
  }
}

/**
 * Sets `users.name_key` for every user to `keyOf(name)`. Two users whose keys now coincide (a
 * look-alike pair accepted before) both stay: the earlier-created keeps the plain key, the
 * later gets it suffixed with `/` and its id (no name holds `/`), so the unique constraint
 * holds and nobody is lost. Every key is first set to a placeholder (`/` + id), so that no
 * new key meets a row's old one on the way.
 */
async function rekeyUsers (db: Kysely<any>, keyOf: (name: string) => string): Promise<void> {
  const users = await db.selectFrom('users').select(['id', 'owner', 'name']).orderBy('created_at').orderBy('id').execute() as Array<{ id: string, owner: string, name: string }>
  const taken = new Set<string>()
  const keys = users.map(user => {
    let key = keyOf(user.name)
    if (taken.has(`${user.owner}\n${key}`)) key = `${key}/${user.id}`
    taken.add(`${user.owner}\n${key}`)
    return key
  })
  const write = async (trx: Kysely<any>): Promise<void> => {
    for (const user of users) await trx.updateTable('users').set({ name_key: `/${user.id}` }).where('id', '=', user.id).execute()
    for (const [i, user] of users.entries()) await trx.updateTable('users').set({ name_key: keys[i] }).where('id', '=', user.id).execute()
  }
  // The migrator runs this inside its own transaction where the engine has transactional DDL.
  if (db.isTransaction) await write(db)
  else await db.transaction().execute(write)
}

migrations['0004_user_name_skeletons'] = {
  // Look-alike names (Cyrillic а for a, dotless ı for i) conflict: keys become TR39 skeletons.
  async up (db: Kysely<any>) {
    await rekeyUsers(db, nameKey)
  },
  async down (db: Kysely<any>) {
    // Skeleton-distinct names are distinct once only folded, so the old keys are unique again.
    await rekeyUsers(db, foldedNameKey)
  }
}

migrations['0005_client_kinds'] = {
  // Clients the 2026 way: metadata-document clients, private_key_jwt keys, DPoP binding, and a
  // table of one-time values (assertion and proof `jti`s) that every instance checks.
  async up (db: Kysely<any>) {
    await db.schema.alterTable('applications').addColumn('application_type', 'text', c => c.notNull().defaultTo('web')).execute()
    await db.schema.alterTable('applications').addColumn('jwks', 'text').execute()
    await db.schema.alterTable('applications').addColumn('jwks_uri', 'text').execute()
    await db.schema.alterTable('applications').addColumn('dpop_bound_access_tokens', 'integer', c => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('applications').addColumn('is_metadata_document', 'integer', c => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('applications').addColumn('metadata_expires_at', 'bigint').execute()
    // A public client's refresh token bound to a DPoP key: its JWK thumbprint.
    await db.schema.alterTable('tokens').addColumn('jkt', 'text').execute()
    await db.schema.createTable('used_values')
      .addColumn('kind', 'text', c => c.notNull())
      .addColumn('value', 'text', c => c.notNull())
      .addColumn('expires_at', 'bigint', c => c.notNull())
      .addPrimaryKeyConstraint('used_values_pk', ['kind', 'value'])
      .execute()
    await db.schema.createIndex('used_values_expires').on('used_values').column('expires_at').execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.dropTable('used_values').execute()
    await db.schema.alterTable('tokens').dropColumn('jkt').execute()
    for (const column of ['metadata_expires_at', 'is_metadata_document', 'dpop_bound_access_tokens', 'jwks_uri', 'jwks', 'application_type']) {
      await db.schema.alterTable('applications').dropColumn(column).execute()
    }
  }
}

/** Owner-scoped tables whose lists page by id within one organization. */
const OWNED_TABLES = ['users', 'applications', 'roles', 'permissions'] as const

/**
 * The organization part of an `<organization>/<name>` column, as SQL (NULL when there is no
 * `/`): the same rule as `ownerOf` in names.ts, but NULL rather than '' so that it never
 * equals an owner a query names. Frozen here: a migration is never edited.
 */
function ownerPart (engine: 'sqlite' | 'postgres', column: string): string {
  const at = engine === 'postgres' ? `strpos(${column}, '/')` : `instr(${column}, '/')`
  return `case when ${at} > 0 then substr(${column}, 1, ${at} - 1) end`
}

/** The columns the SQLite trigram index covers, per table: what `filter` searches. */
const SEARCH_COLUMNS: Record<string, string[]> = {
  users: ['name', 'display_name', 'email'],
  applications: ['name', 'display_name'],
  roles: ['name', 'display_name'],
  permissions: ['name', 'display_name']
}

migrations['0006_scale_indexes'] = {
  // Lists page by id within one organization, the audit log is read newest first narrowed to
  // one principal, tool or organization, and tokens are listed (and revoked) by client and by
  // the organization of their subject: each gets an index in that order, so that a page reads
  // about a page of rows however large the tables grow.
  async up (db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter
    const engine = postgres ? 'postgres' : 'sqlite'
    for (const table of OWNED_TABLES) {
      await db.schema.createIndex(`${table}_owner_id`).on(table).columns(['owner', 'id']).execute()
    }
    await db.schema.createIndex('tokens_client_id').on('tokens').columns(['client_id', 'id']).execute()
    // `get_tokens` for one organization and `get_sessions` for one organization: the owner of
    // the subject (user) id, kept by the database itself so that no writer can forget it, and
    // compared with `=`, which an index serves (a prefix test on the id cannot be, portably).
    const generated = postgres ? 'stored' : 'virtual'
    await sql.raw(`alter table tokens add column subject_owner text generated always as (${ownerPart(engine, 'subject')}) ${generated}`).execute(db)
    await db.schema.createIndex('tokens_subject_owner_id').on('tokens').columns(['subject_owner', 'id']).execute()
    await sql.raw(`alter table sessions add column user_owner text generated always as (${ownerPart(engine, 'user_id')}) ${generated}`).execute(db)
    await db.schema.createIndex('sessions_user_owner_id').on('sessions').columns(['user_owner', 'id']).execute()
    for (const column of ['principal', 'tool', 'organization']) {
      await db.schema.createIndex(`audit_events_${column}_at`).on('audit_events').columns([column, 'at', 'id']).execute()
    }
    if (postgres) return
    // SQLite: substring filters through an FTS5 trigram index over the searched columns (an
    // external-content table: the text stays in the entity table, the index follows its rowid
    // through triggers). PostgreSQL's pg_trgm indexes are made after migrations instead
    // (lib/storage/search.ts): the extension may be missing, and must not fail a migration.
    for (const [table, columns] of Object.entries(SEARCH_COLUMNS)) {
      const search = `${table}_search`
      const cols = columns.join(', ')
      const values = (row: string): string => columns.map(c => `${row}.${c}`).join(', ')
      await sql.raw(`create virtual table ${search} using fts5(${cols}, content='${table}', content_rowid='rowid', tokenize='trigram case_sensitive 0')`).execute(db)
      await sql.raw(`create trigger ${search}_insert after insert on ${table} begin insert into ${search}(rowid, ${cols}) values (new.rowid, ${values('new')}); end`).execute(db)
      await sql.raw(`create trigger ${search}_delete after delete on ${table} begin insert into ${search}(${search}, rowid, ${cols}) values ('delete', old.rowid, ${values('old')}); end`).execute(db)
      await sql.raw(`create trigger ${search}_update after update of ${cols} on ${table} begin insert into ${search}(${search}, rowid, ${cols}) values ('delete', old.rowid, ${values('old')}); insert into ${search}(rowid, ${cols}) values (new.rowid, ${values('new')}); end`).execute(db)
      await sql.raw(`insert into ${search}(${search}) values ('rebuild')`).execute(db)
    }
  }
}

migrations['0007_retention'] = {
  // The retention purger (lib/storage/retention.ts) deletes rows past their time in small
  // batches: each batch must find them by index, not by a scan of the live rows.
  async up (db: Kysely<any>) {
    await db.schema.createIndex('tokens_expires').on('tokens').column('expires_at').execute()
    await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute()
    await db.schema.createIndex('sessions_ended').on('sessions').column('ended_at').execute()
    await db.schema.createIndex('authorization_codes_expires').on('authorization_codes').column('expires_at').execute()
    await db.schema.createIndex('login_failures_first').on('login_failures').column('first_at').execute()
  },
  async down (db: Kysely<any>) {
    for (const index of ['login_failures_first', 'authorization_codes_expires', 'sessions_ended', 'sessions_expires', 'tokens_expires']) {
      await db.schema.dropIndex(index).ifExists().execute()
    }
  }
}

migrations['0009_pkjwt_audit_client_kind'] = {
  // Audit events name the kind of client a call came through: an administrator's application,
  // a self-registered one, or one known by its metadata document.
  async up (db: Kysely<any>) {
    await db.schema.alterTable('audit_events').addColumn('client_kind', 'text', c => c.notNull().defaultTo('')).execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.alterTable('audit_events').dropColumn('client_kind').execute()
  }
}

migrations['0011_enterprise_managed_authorization'] = {
  // Identity providers an organization trusts (ID-JAG issuers), the connections that say which
  // MCP servers its users may reach through this service, and which provider a token came from
  // (so that disabling one ends what it bought).
  async up (db: Kysely<any>) {
    const ts = 'bigint'
    await db.schema.createTable('identity_providers')
      .addColumn('id', 'text', c => c.primaryKey())
      .addColumn('owner', 'text', c => c.notNull().references('organizations.name'))
      .addColumn('name', 'text', c => c.notNull())
      .addColumn('display_name', 'text', c => c.notNull())
      .addColumn('issuer', 'text', c => c.notNull().unique())
      .addColumn('jwks_uri', 'text')
      .addColumn('jwks', 'text')
      .addColumn('link_by', 'text', c => c.notNull())
      .addColumn('provision_users', 'integer', c => c.notNull())
      .addColumn('is_disabled', 'integer', c => c.notNull())
      .addColumn('created_at', ts, c => c.notNull())
      .addColumn('updated_at', ts, c => c.notNull())
      .execute()
    await db.schema.createIndex('identity_providers_owner').on('identity_providers').columns(['owner', 'id']).execute()
    await db.schema.createTable('connections')
      .addColumn('id', 'text', c => c.primaryKey())
      .addColumn('owner', 'text', c => c.notNull().references('organizations.name'))
      .addColumn('name', 'text', c => c.notNull())
      .addColumn('display_name', 'text', c => c.notNull())
      .addColumn('audience', 'text', c => c.notNull())
      .addColumn('resource', 'text', c => c.notNull())
      .addColumn('scopes', 'text', c => c.notNull())
      .addColumn('clients', 'text', c => c.notNull())
      .addColumn('target_client_id', 'text', c => c.notNull())
      .addColumn('created_at', ts, c => c.notNull())
      .addColumn('updated_at', ts, c => c.notNull())
      .execute()
    await db.schema.createIndex('connections_owner').on('connections').columns(['owner', 'id']).execute()
    await db.schema.alterTable('tokens').addColumn('provider_id', 'text').execute()
    await db.schema.createIndex('tokens_provider').on('tokens').column('provider_id').execute()
    // Assertions linked by email find their user without reading the organization.
    await sql`create index users_owner_email on users (owner, lower(email))`.execute(db)
  },
  async down (db: Kysely<any>) {
    await db.schema.dropIndex('users_owner_email').execute()
    await db.schema.dropIndex('tokens_provider').execute()
    await db.schema.alterTable('tokens').dropColumn('provider_id').execute()
    await db.schema.dropTable('connections').execute()
    await db.schema.dropTable('identity_providers').execute()
  }
}

migrations['0012_audit_identity_provider'] = {
  // A call made with a token an identity provider's assertion bought names that provider and
  // the person's subject there, so that the enterprise can trace it to its own records.
  async up (db: Kysely<any>) {
    await db.schema.alterTable('audit_events').addColumn('provider', 'text', c => c.notNull().defaultTo('')).execute()
    await db.schema.alterTable('audit_events').addColumn('external_subject', 'text', c => c.notNull().defaultTo('')).execute()
  },
  async down (db: Kysely<any>) {
    await db.schema.alterTable('audit_events').dropColumn('external_subject').execute()
    await db.schema.alterTable('audit_events').dropColumn('provider').execute()
  }
}

/**
 * The longest searched text a short-filter index spells out position by position: far above
 * the sum of the searched columns' limits (names 64, display names 200, e-mails 254). A longer
 * text is marked as such, and a short filter always considers it.
 */
const GRAM_SPAN = 1024

/** Frozen copy of what 0013 indexes for one- and two-character filters (lib/storage/search.ts). */
const GRAM_COLUMNS: Record<string, string[]> = {
  users: ['name', 'display_name', 'email'],
  applications: ['name', 'display_name'],
  roles: ['name', 'display_name'],
  permissions: ['name', 'display_name']
}

/**
 * SQLite: the space-separated tokens of a row's one- and two-character substrings of its
 * lowered searched columns (joined by a line feed, whose grams only widen the candidates), each
 * spelt in hex so that any character is a word the `ascii` tokenizer keeps whole; `long` when
 * the text runs past GRAM_SPAN. `row` is `new`, `old` or the table's name.
 */
function sqliteGrams (row: string, columns: string[]): string {
  const text = `lower(${columns.map(c => `coalesce(${row}.${c}, '')`).join(' || char(10) || ')})`
  // One row per position carrying both of its grams: half the rows of one per gram, and about
  // 30 % less time an insert.
  return `coalesce((select group_concat(hex(substr(s.v, p.n, 1)) || ' ' || hex(substr(s.v, p.n, 2)), ' ') from (select ${text} as v) s join search_positions p on p.n <= length(s.v)), '') || case when length(${text}) > ${GRAM_SPAN} then ' long' else '' end`
}

migrations['0013_short_filter_grams'] = {
  // A filter of one or two characters has no trigram: the trigram indexes of 0006 cannot find
  // its rows, and one that matches almost nothing read a whole organization to say so. Each
  // searched table gets an index of its rows' one- and two-character substrings.
  async up (db: Kysely<any>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      // An array of grams per row under a GIN index. The function is the index's expression:
      // queries call it with the same columns in the same order (lib/storage/queries.ts).
      await sql.raw(`create function iam_short_grams(variadic parts text[]) returns text[] language sql immutable parallel safe as $$
        select coalesce(array_agg(distinct substr(lower(p), i, k)), '{}') from unnest(parts) p, generate_series(1, length(p)) i, (values (1), (2)) w(k) where p is not null
      $$`).execute(db)
      for (const [table, columns] of Object.entries(GRAM_COLUMNS)) {
        await sql.raw(`create index ${table}_grams on ${table} using gin (iam_short_grams(${columns.join(', ')})) with (fastupdate = off)`).execute(db)
      }
      return
    }
    // SQLite: a contentless FTS5 table per searched table (`detail=none`: only which rows hold a
    // gram, about a byte a row per gram; a gram repeated in a row is recorded once, so the
    // triggers need not deduplicate), kept by triggers. Triggers cannot use a recursive query,
    // so the positions come from a table of the numbers 1 to GRAM_SPAN. Measured: about 60 µs
    // added to a user's insert in a transaction of its own, most of it FTS5 writing the commit's
    // segment (the trigram index costs about 50 µs the same way).
    await sql`create table search_positions (n integer primary key)`.execute(db)
    await sql.raw(`with recursive p(n) as (select 1 union all select n + 1 from p where n < ${GRAM_SPAN}) insert into search_positions (n) select n from p`).execute(db)
    for (const [table, columns] of Object.entries(GRAM_COLUMNS)) {
      const grams = `${table}_grams`
      await sql.raw(`create virtual table ${grams} using fts5(grams, content='', contentless_delete=1, detail=none, tokenize='ascii')`).execute(db)
      await sql.raw(`create trigger ${grams}_insert after insert on ${table} begin insert into ${grams}(rowid, grams) values (new.rowid, ${sqliteGrams('new', columns)}); end`).execute(db)
      await sql.raw(`create trigger ${grams}_delete after delete on ${table} begin delete from ${grams} where rowid = old.rowid; end`).execute(db)
      await sql.raw(`create trigger ${grams}_update after update of ${columns.join(', ')} on ${table} begin delete from ${grams} where rowid = old.rowid; insert into ${grams}(rowid, grams) values (new.rowid, ${sqliteGrams('new', columns)}); end`).execute(db)
      await sql.raw(`insert into ${grams}(rowid, grams) select rowid, ${sqliteGrams(table, columns)} from ${table}`).execute(db)
    }
  },
  async down (db: Kysely<any>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      for (const table of Object.keys(GRAM_COLUMNS)) await sql.raw(`drop index if exists ${table}_grams`).execute(db)
      await sql`drop function if exists iam_short_grams(text[])`.execute(db)
      return
    }
    for (const table of Object.keys(GRAM_COLUMNS)) {
      // The triggers live on the entity table: dropping the index alone would leave them failing every write.
      for (const event of ['insert', 'delete', 'update']) await sql.raw(`drop trigger if exists ${table}_grams_${event}`).execute(db)
      await sql.raw(`drop table if exists ${table}_grams`).execute(db)
    }
    await sql`drop table if exists search_positions`.execute(db)
  }
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () {
    return migrations
  }
}
