import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { Change } from '../lib/storage/store.js'
import type { ToolServices } from '../lib/tool-kit/tool.js'
import { generateSigningKey, signingKeyInfo, SigningKeyRing, stillVerifies, type LoadedKey, type PublicJwk } from '../lib/keys.js'
import { ACCESS_TOKEN_TYP, ACCESS_TOKEN_VERIFY_OPTIONS, CLOCK_TOLERANCE_MS, JWT_ALGORITHM, signOptions, UnknownSigningKeyError } from '../lib/jwt.js'

export type { LoadedKey, PublicJwk }

type ToolSigningKeys = ToolServices['signingKeys']

export interface SigningKeyService extends ToolSigningKeys {
  /** The key that signs new tokens. */
  current: () => LoadedKey
  /** Signs an access token (typ `at+jwt`) with the current key. */
  signAccessToken: (claims: Record<string, unknown>) => string
  /** Signs an ID token (typ `JWT`) with the current key. */
  signIdToken: (claims: Record<string, unknown>) => string
  /** A key that may still verify tokens, by `kid`; undefined for unknown or expired keys. */
  find: (kid: string) => LoadedKey | undefined
  /**
   * Like `find`, but an unknown `kid` (a rotation on another instance this one has not polled
   * yet) triggers one reload, at most once a second whatever callers send.
   */
  resolve: (kid: string) => Promise<LoadedKey | undefined>
  /** RFC 7517 JWK Set: the current key and the retired ones whose tokens may still be valid. */
  jwks: () => { keys: PublicJwk[] }
  /** Re-reads the keys from the database (after a rotation elsewhere). */
  reload: () => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    signingKeys: SigningKeyService
  }
}

/** How often retired keys past their tokens' lifetime are pruned from the database. */
const PRUNE_INTERVAL_MS = 10 * 60_000

export default fp(async function keys (fastify) {
  const { store, config } = fastify
  // A retired key keeps verifying until every token it signed has expired (plus clock leeway).
  const keyLifetimeMs = config.ACCESS_TOKEN_TTL * 1000 + CLOCK_TOLERANCE_MS + 60_000
  const ring = new SigningKeyRing(() => store.signingKeys.list(), stored => fastify.secrets.atRest.decrypt(stored), keyLifetimeMs)
  await ring.reload()

  // Our tokens are signed and verified by @fastify/jwt. Signing always names the current key
  // (`sign` below): a bare `fastify.jwt.sign(payload)` has no key and fails, so nothing can
  // mint a token without a `kid`. Verification looks the public key up by the token's `kid`.
  await fastify.register(fastifyJwt, {
    secret: {
      private: (): never => { throw new Error('sign through fastify.signingKeys') },
      public: async (decoded: { header: Record<string, unknown> }) => {
        const { kid } = decoded.header
        const key = typeof kid === 'string' ? await ring.resolve(kid) : undefined
        if (key === undefined) throw new UnknownSigningKeyError()
        return key.publicKey
      }
    },
    sign: { algorithm: JWT_ALGORITHM },
    verify: ACCESS_TOKEN_VERIFY_OPTIONS
  })

  function sign (claims: Record<string, unknown>, typ: string): string {
    const { kid, privatePem } = ring.signer()
    return fastify.jwt.sign(claims, signOptions(privatePem, kid, typ))
  }

  const service: SigningKeyService = {
    current: () => ring.current(),
    signAccessToken: claims => sign(claims, ACCESS_TOKEN_TYP),
    signIdToken: claims => sign(claims, 'JWT'),
    find: kid => ring.find(kid),
    resolve: kid => ring.resolve(kid),
    jwks: () => ring.jwks(),
    reload: () => ring.reload(),
    async list () {
      const rows = await store.signingKeys.list()
      const now = Date.now()
      return rows.filter(r => stillVerifies(r, keyLifetimeMs, now)).map(signingKeyInfo)
    },
    async rotate () {
      const created = await store.signingKeys.rotate(await generateSigningKey(fastify.secrets.atRest))
      await ring.reload()
      return signingKeyInfo(created)
    }
  }
  fastify.decorate('signingKeys', service)

  // A rotation here or on another instance (the auth-state poller replays other instances'
  // changes into this feed) makes the new key current everywhere.
  const onChange = (change: Change): void => {
    if (change.kind !== 'key.rotated' || ring.current().kid === change.ref) return
    ring.reload().catch(err => { fastify.log.error({ err }, 'could not reload signing keys') })
  }
  store.changes.on('change', onChange)

  const pruner = setInterval(() => {
    store.signingKeys.prune(Date.now() - keyLifetimeMs).catch(err => { fastify.log.warn({ err }, 'could not prune retired signing keys') })
  }, PRUNE_INTERVAL_MS)
  pruner.unref()

  fastify.addHook('onClose', async () => {
    clearInterval(pruner)
    store.changes.off('change', onChange)
  })
}, { name: 'keys', dependencies: ['config', 'storage'], fastify: '5.x' })
