import { createPrivateKey } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { Change } from '../lib/storage/store.js'
import type { SigningKey } from '../lib/storage/models.js'
import { iso } from '../lib/storage/models.js'
import type { SigningKeyInfo, ToolServices } from '../lib/tool-kit/tool.js'
import { generateSigningKey } from '../lib/keys.js'
import { ACCESS_TOKEN_TYP, ACCESS_TOKEN_VERIFY_OPTIONS, CLOCK_TOLERANCE_MS, JWT_ALGORITHM, signOptions, UnknownSigningKeyError } from '../lib/jwt.js'

/** A signing key as this instance holds it: its public half (the current key's private half is kept apart). */
export interface LoadedKey {
  kid: string
  algorithm: string
  publicJwk: Record<string, unknown>
  createdAt: number
  retiredAt: number | null
  /** The public key (PEM) the verifier is handed for this `kid`, made once per key rather than per token. */
  publicKey: Buffer
}

/** An RSA public key as the JWKS publishes it. */
export interface PublicJwk {
  kty: string
  kid: string
  use: string
  alg: string
  n: string
  e: string
}

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

  let byKid = new Map<string, LoadedKey>()
  let currentKey: LoadedKey | undefined
  let currentPrivatePem: string | undefined
  let jwksDocument: { keys: PublicJwk[] } = { keys: [] }

  function load (row: SigningKey): LoadedKey {
    const known = byKid.get(row.kid)
    if (known !== undefined) return { ...known, retiredAt: row.retiredAt }
    return {
      kid: row.kid,
      algorithm: row.algorithm,
      publicJwk: row.publicJwk,
      createdAt: row.createdAt,
      retiredAt: row.retiredAt,
      publicKey: Buffer.from(row.publicPem, 'utf8')
    }
  }

  function stillVerifies (key: { retiredAt: number | null }, now: number): boolean {
    return key.retiredAt === null || key.retiredAt + keyLifetimeMs > now
  }

  async function reload (): Promise<void> {
    const rows = await store.signingKeys.list()
    const now = Date.now()
    const current = rows.find(r => r.retiredAt === null)
    if (current === undefined) throw new Error('no current signing key in the database')
    const next = new Map<string, LoadedKey>()
    for (const row of rows) if (stillVerifies(row, now)) next.set(row.kid, load(row))
    if (currentKey?.kid !== current.kid) {
      const privatePem = fastify.secrets.atRest.decrypt(current.privatePem)
      // A key that does not parse fails the reload, not every token endpoint request after it.
      createPrivateKey(privatePem)
      currentPrivatePem = privatePem
    }
    byKid = next
    currentKey = next.get(current.kid)
    jwksDocument = {
      keys: [...next.values()].map(k => ({
        kty: String(k.publicJwk.kty),
        kid: k.kid,
        use: 'sig',
        alg: k.algorithm,
        n: String(k.publicJwk.n),
        e: String(k.publicJwk.e)
      }))
    }
  }

  await reload()

  function info (key: { kid: string, algorithm: string, createdAt: number, retiredAt: number | null }): SigningKeyInfo {
    return {
      kid: key.kid,
      algorithm: key.algorithm,
      createdTime: iso(key.createdAt),
      ...(key.retiredAt === null ? {} : { retiredTime: iso(key.retiredAt) }),
      current: key.retiredAt === null
    }
  }

  let reloading: Promise<void> | undefined
  let lastUnknownReload = 0
  function reloadOnce (): Promise<void> {
    reloading ??= reload().finally(() => { reloading = undefined })
    return reloading
  }

  // Our tokens are signed and verified by @fastify/jwt. Signing always names the current key
  // (`sign` below): a bare `fastify.jwt.sign(payload)` has no key and fails, so nothing can
  // mint a token without a `kid`. Verification looks the public key up by the token's `kid`.
  await fastify.register(fastifyJwt, {
    secret: {
      private: (): never => { throw new Error('sign through fastify.signingKeys') },
      public: async (decoded: { header: Record<string, unknown> }) => {
        const { kid } = decoded.header
        const key = typeof kid === 'string' ? await service.resolve(kid) : undefined
        if (key === undefined) throw new UnknownSigningKeyError()
        return key.publicKey
      }
    },
    sign: { algorithm: JWT_ALGORITHM },
    verify: ACCESS_TOKEN_VERIFY_OPTIONS
  })

  function sign (claims: Record<string, unknown>, typ: string): string {
    if (currentKey === undefined || currentPrivatePem === undefined) throw new Error('signing keys are not loaded')
    return fastify.jwt.sign(claims, signOptions(currentPrivatePem, currentKey.kid, typ))
  }

  const service: SigningKeyService = {
    current () {
      if (currentKey === undefined) throw new Error('signing keys are not loaded')
      return currentKey
    },
    signAccessToken (claims) {
      return sign(claims, ACCESS_TOKEN_TYP)
    },
    signIdToken (claims) {
      return sign(claims, 'JWT')
    },
    find (kid) {
      const key = byKid.get(kid)
      if (key === undefined || !stillVerifies(key, Date.now())) return undefined
      return key
    },
    async resolve (kid) {
      const known = service.find(kid)
      if (known !== undefined) return known
      const now = Date.now()
      if (now - lastUnknownReload < 1000) return undefined
      lastUnknownReload = now
      await reloadOnce()
      return service.find(kid)
    },
    jwks: () => jwksDocument,
    reload: reloadOnce,
    async list () {
      const rows = await store.signingKeys.list()
      const now = Date.now()
      return rows.filter(r => stillVerifies(r, now)).map(info)
    },
    async rotate () {
      const created = await store.signingKeys.rotate(await generateSigningKey(fastify.secrets.atRest))
      await reloadOnce()
      return info(created)
    }
  }
  fastify.decorate('signingKeys', service)

  // A rotation here or on another instance (the auth-state poller replays other instances'
  // changes into this feed) makes the new key current everywhere.
  const onChange = (change: Change): void => {
    if (change.kind !== 'key.rotated' || currentKey?.kid === change.ref) return
    reloadOnce().catch(err => { fastify.log.error({ err }, 'could not reload signing keys') })
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
