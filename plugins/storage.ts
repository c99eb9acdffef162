import fp from 'fastify-plugin'
import { createDatabase, migrate, ping, type DB, type Engine } from '../lib/storage/db.js'
import { Store } from '../lib/storage/store.js'
import { bootstrap, type SecretPrinter } from '../lib/bootstrap.js'
import { atRestEncryption, sealStoredSecrets, type AtRestEncryption } from '../lib/keys.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: DB
    dbEngine: Engine
    store: Store
    /** Secrets that are either configured or generated once and shared through the database. */
    secrets: {
      cookie: string
      /** How signing keys are encrypted in the database (KEY_ENCRYPTION_SECRET or the key file). */
      atRest: AtRestEncryption
    }
    /** Resolves when the database answers a trivial query; rejects otherwise. */
    pingDatabase: () => Promise<void>
  }
}

export interface StoragePluginOptions {
  /** Where generated bootstrap secrets are printed (stderr by default). */
  printSecret?: SecretPrinter
}

export default fp<StoragePluginOptions>(async function storage (fastify, opts) {
  const handle = createDatabase(fastify.config.database)
  const store = new Store(handle.db, handle.engine, handle.durable)
  let cookie = fastify.config.COOKIE_SECRET
  let atRest: AtRestEncryption
  try {
    const { encryption, warning } = await atRestEncryption(fastify.config)
    if (warning !== undefined) fastify.log.warn(warning)
    atRest = encryption
    await migrate(handle, async () => {
      await bootstrap(store, fastify.config, opts.printSecret, encryption)
      // Under the migration lock: one instance encrypts what an older start kept in clear.
      const stored = await sealStoredSecrets(store, encryption, cookie === undefined)
      cookie ??= stored
    }, message => fastify.log.warn(message))
    if (cookie === undefined) throw new Error('no cookie secret was configured or stored')
  } catch (err) {
    await handle.close()
    throw err
  }

  fastify.decorate('db', handle.db)
  fastify.decorate('dbEngine', handle.engine)
  fastify.decorate('store', store)
  fastify.decorate('secrets', { cookie, atRest })
  fastify.decorate('pingDatabase', () => ping(handle.db))
  fastify.addHook('onClose', async () => { await handle.close() })
}, { name: 'storage', dependencies: ['config'], fastify: '5.x' })
