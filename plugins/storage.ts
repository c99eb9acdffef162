import fp from 'fastify-plugin'
import { createDatabase, migrate, ping, type DB, type Engine } from '../lib/storage/db.js'
import { Store } from '../lib/storage/store.js'
import { bootstrap, type SecretPrinter } from '../lib/bootstrap.js'
import { randomToken } from '../lib/crypto.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: DB
    dbEngine: Engine
    store: Store
    /** Secrets that are either configured or generated once and shared through the database. */
    secrets: { cookie: string }
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
  try {
    await migrate(handle, async () => {
      await bootstrap(store, fastify.config, opts.printSecret)
    })
  } catch (err) {
    await handle.close()
    throw err
  }
  const cookie = fastify.config.COOKIE_SECRET ?? (await store.settings.getOrCreate('cookie_secret', () => randomToken(32))).value

  fastify.decorate('db', handle.db)
  fastify.decorate('dbEngine', handle.engine)
  fastify.decorate('store', store)
  fastify.decorate('secrets', { cookie })
  fastify.decorate('pingDatabase', () => ping(handle.db))
  fastify.addHook('onClose', async () => { await handle.close() })
}, { name: 'storage', dependencies: ['config'], fastify: '5.x' })
