import type { StorageContext } from '../context.js'
import { guard } from '../errors.js'
import { json } from '../columns.js'
import { toSigningKey, type SigningKey, type SigningKeyRow } from './signing-keys.schema.js'

export class SigningKeyRepository {
  constructor (private readonly context: StorageContext) {}

  async list (): Promise<SigningKey[]> {
    const rows = await guard('signing key', () => this.context.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute())
    return rows.map(toSigningKey)
  }

  async find (kid: string): Promise<SigningKey | undefined> {
    const row = await guard('signing key', () => this.context.db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst())
    return row === undefined ? undefined : toSigningKey(row)
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
    return toSigningKey(row)
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
