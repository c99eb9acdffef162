import { createPublicKey } from 'node:crypto'
import fp from 'fastify-plugin'
import { jwtVerify, type JWTPayload } from 'jose'
import fastifyJwt from '@fastify/jwt'
import type { Change } from '../lib/storage/store.js'
import type { ToolServices } from '../lib/tool-kit/tool.js'
import { generateSigningKey, signingKeyInfo, SigningKeyRing, stillVerifies, type LoadedKey, type PublicJwk } from '../lib/keys.js'
import { ACCESS_TOKEN_TYP, ACCESS_TOKEN_VERIFY_OPTIONS, CLOCK_TOLERANCE_MS, createKeySigner, JWT_ALGORITHM, type SignJwt, UnknownSigningKeyError } from '../lib/jwt.js'
import { ID_JAG_TYP } from '../lib/oauth/id-jag.js'

export type { LoadedKey, PublicJwk }

type ToolSigningKeys = ToolServices['signingKeys']

export interface SigningKeyService extends ToolSigningKeys {
  /** The key that signs new tokens. */
  current: () => LoadedKey
  /** Signs an access token (typ `at+jwt`) with the current key. */
  signAccessToken: (claims: Record<string, unknown>) => string
  /** Signs an ID token (typ `JWT`) with the current key. */
  signIdToken: (claims: Record<string, unknown>) => string
  /** Signs an identity assertion grant (typ `oauth-id-jag+jwt`) with the current key. */
  signIdJag: (claims: Record<string, unknown>) => string
  /**
   * Verifies an ID token this service signed (typ `JWT`: an access token or an ID-JAG never
   * passes), RS256 with one of our keys, `exp`/`nbf`/`iat`; its claims, or throws.
   */
  verifyIdToken: (token: string) => Promise<JWTPayload>
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

  // Our access tokens are verified by @fastify/jwt, which looks the public key up by the
  // token's `kid`. It does not sign them: it would parse the private key for every token (a
  // signer per call, as keys rotate), several times the cost of the signature itself; the
  // signers below are built once per current key. Its own `sign` has no key and fails.
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
    verify: ACCESS_TOKEN_VERIFY_OPTIONS
  })

  let signers: { kid: string, access: SignJwt, id: SignJwt, idJag: SignJwt } | undefined
  function sign (claims: Record<string, unknown>, what: 'access' | 'id' | 'idJag'): string {
    const { kid, privatePem } = ring.signer()
    if (signers?.kid !== kid) {
      signers = { kid, access: createKeySigner(privatePem, kid, ACCESS_TOKEN_TYP), id: createKeySigner(privatePem, kid, 'JWT'), idJag: createKeySigner(privatePem, kid, ID_JAG_TYP) }
    }
    return signers[what](claims)
  }

  const service: SigningKeyService = {
    current: () => ring.current(),
    signAccessToken: claims => sign(claims, 'access'),
    signIdToken: claims => sign(claims, 'id'),
    signIdJag: claims => sign(claims, 'idJag'),
    async verifyIdToken (token) {
      const { payload } = await jwtVerify(token, async (header) => {
        const key = typeof header.kid === 'string' ? await ring.resolve(header.kid) : undefined
        if (key === undefined) throw new UnknownSigningKeyError()
        return createPublicKey(key.publicKey)
      }, { algorithms: [JWT_ALGORITHM], typ: 'JWT', clockTolerance: CLOCK_TOLERANCE_MS / 1000, requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'] })
      return payload
    },
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
