import { createCipheriv, createDecipheriv, createHash, generateKeyPair as generateKeyPairCb, hkdfSync, randomBytes, createPrivateKey, createPublicKey } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { iso, type SigningKey } from './storage/models.js'
import type { SigningKeyInfo } from './storage/repositories/signing-keys.schema.js'
import type { Store } from './storage/store.js'
import type { AppConfig } from './config.js'
import { randomToken } from './crypto.js'

const ENC_PREFIX = 'enc:v1:'

function encryptionKey (secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'iam-mcp', 'signing-key-encryption', 32))
}

/** AES-256-GCM under a key derived from `secret` (KEY_ENCRYPTION_SECRET or the key file's). */
export function encryptPrivateKey (pem: string, secret: string | undefined): string {
  if (secret === undefined) return pem
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(secret), iv)
  const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()])
  return ENC_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

/** The clear text, or undefined when `secret` does not decrypt it. */
function decryptWith (stored: string, secret: string): string | undefined {
  const raw = Buffer.from(stored.slice(ENC_PREFIX.length), 'base64')
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey(secret), raw.subarray(0, 12))
  decipher.setAuthTag(raw.subarray(12, 28))
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}

/**
 * How secrets that sign things (signing keys, the generated cookie secret) are kept in the
 * database: encrypted with the first of `secrets`, decrypted with any of them (a key file kept
 * from before KEY_ENCRYPTION_SECRET was set). No secrets: kept in clear (PostgreSQL without
 * KEY_ENCRYPTION_SECRET, which warns at start).
 */
export class AtRestEncryption {
  constructor (private readonly secrets: readonly string[], private readonly keyFile?: string) {}

  get enabled (): boolean { return this.secrets.length > 0 }

  encrypt (plain: string): string {
    return encryptPrivateKey(plain, this.secrets[0])
  }

  decrypt (stored: string): string {
    if (!stored.startsWith(ENC_PREFIX)) return stored
    if (!this.enabled) throw new Error('signing keys are encrypted at rest: set KEY_ENCRYPTION_SECRET')
    for (const secret of this.secrets) {
      const plain = decryptWith(stored, secret)
      if (plain !== undefined) return plain
    }
    const file = this.keyFile === undefined ? '' : ` (nor the key file ${this.keyFile})`
    throw new Error(`KEY_ENCRYPTION_SECRET${file} does not decrypt the stored signing keys`)
  }

  /** Whether `stored` is kept as it should be: encrypted with the current secret, when there is one. */
  isCurrent (stored: string): boolean {
    if (!this.enabled) return true
    return stored.startsWith(ENC_PREFIX) && decryptWith(stored, this.secrets[0]) !== undefined
  }
}

/** Where the key file of a SQLite database is: beside it, never inside it. */
export function keyFilePath (databasePath: string): string {
  return `${databasePath}.key`
}

/**
 * The at-rest encryption a start uses. KEY_ENCRYPTION_SECRET when set (a key file left from
 * before still decrypts). Unset on SQLite: a random key in a file beside the database, created
 * (0600) on the first start — a copy of the database alone then holds no usable key; for
 * `sqlite::memory:`, a key that lives as long as the process. Unset on PostgreSQL: none
 * (`warning` says so; several instances cannot share a file).
 */
export async function atRestEncryption (config: Pick<AppConfig, 'KEY_ENCRYPTION_SECRET' | 'database'>): Promise<{ encryption: AtRestEncryption, warning?: string }> {
  const { database } = config
  const file = database.engine === 'sqlite' && database.path !== ':memory:' ? keyFilePath(database.path) : undefined
  if (config.KEY_ENCRYPTION_SECRET !== undefined) {
    const old = file === undefined ? undefined : await readKeyFile(file)
    return { encryption: new AtRestEncryption(old === undefined ? [config.KEY_ENCRYPTION_SECRET] : [config.KEY_ENCRYPTION_SECRET, old]) }
  }
  if (database.engine === 'postgres') {
    return {
      encryption: new AtRestEncryption([]),
      warning: 'KEY_ENCRYPTION_SECRET is not set: the signing keys and the generated cookie secret are stored in clear in PostgreSQL; set it (the same value on every instance)'
    }
  }
  if (file === undefined) return { encryption: new AtRestEncryption([randomBytes(32).toString('base64url')]) }
  let secret = await readKeyFile(file)
  if (secret === undefined) {
    try {
      await writeFile(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' })
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    secret = await readKeyFile(file)
    if (secret === undefined) throw new Error(`the key file ${file} is empty`)
  }
  const encryption = new AtRestEncryption([secret], file)
  if (((await stat(file)).mode & 0o077) !== 0) return { encryption, warning: `the key file ${file} can be read by others than its owner: chmod 600 it` }
  return { encryption }
}

async function readKeyFile (file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim()
    return text === '' ? undefined : text
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The settings row of the cookie secret generated when COOKIE_SECRET is unset. */
const COOKIE_SECRET_SETTING = 'cookie_secret'

/**
 * Encrypts what an earlier start kept in clear (or under a key being replaced): the signing
 * keys, and the generated cookie secret, which signs cookies and so is a signing key too.
 * Returns the stored cookie secret in clear; with `generateCookieSecret` (COOKIE_SECRET unset), one
 * is generated and stored, encrypted, on the first start.
 */
export async function sealStoredSecrets (store: Store, encryption: AtRestEncryption, generateCookieSecret: boolean): Promise<string | undefined> {
  for (const key of await store.signingKeys.list()) {
    if (!encryption.isCurrent(key.privatePem)) await store.signingKeys.replacePrivatePem(key.kid, encryption.encrypt(encryption.decrypt(key.privatePem)))
  }
  const stored = generateCookieSecret
    ? (await store.settings.getOrCreate(COOKIE_SECRET_SETTING, () => encryption.encrypt(randomToken(32)))).value
    : await store.settings.get(COOKIE_SECRET_SETTING)
  if (stored === undefined) return undefined
  const cookie = encryption.decrypt(stored)
  if (!encryption.isCurrent(stored)) await store.settings.set(COOKIE_SECRET_SETTING, encryption.encrypt(cookie))
  return cookie
}

function generateRsa (): Promise<{ publicKey: string, privateKey: string }> {
  return new Promise((resolve, reject) => {
    generateKeyPairCb('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
    }, (err, publicKey, privateKey) => err ? reject(err) : resolve({ publicKey, privateKey }))
  })
}

/** A fresh RS256 key; its `kid` is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey (encryption: AtRestEncryption): Promise<Omit<SigningKey, 'createdAt' | 'retiredAt'>> {
  const { publicKey, privateKey } = await generateRsa()
  const jwk = createPublicKey(publicKey).export({ format: 'jwk' }) as { n: string, e: string, kty: string }
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url')
  return {
    kid,
    algorithm: 'RS256',
    publicPem: publicKey,
    publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' },
    privatePem: encryption.encrypt(privateKey)
  }
}

/** A signing key as an instance holds it: its public half (the current key's private half is kept apart). */
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

/** A stored key as the signing-keys tool lists it. */
export function signingKeyInfo (key: { kid: string, algorithm: string, createdAt: number, retiredAt: number | null }): SigningKeyInfo {
  return {
    kid: key.kid,
    algorithm: key.algorithm,
    createdTime: iso(key.createdAt),
    ...(key.retiredAt === null ? {} : { retiredTime: iso(key.retiredAt) }),
    current: key.retiredAt === null
  }
}

/** Whether a key may still verify tokens: current, or retired less than `keyLifetimeMs` ago. */
export function stillVerifies (key: { retiredAt: number | null }, keyLifetimeMs: number, now: number): boolean {
  return key.retiredAt === null || key.retiredAt + keyLifetimeMs > now
}

/**
 * The signing keys one instance holds, as read from the database: the current key (which signs)
 * and the retired ones whose tokens may still be valid (which verify). `list` reads the stored
 * rows; `decrypt` opens a private key kept at rest.
 */
export class SigningKeyRing {
  #byKid = new Map<string, LoadedKey>()
  #current: LoadedKey | undefined
  #currentPrivatePem: string | undefined
  #jwks: { keys: PublicJwk[] } = { keys: [] }
  #reloading: Promise<void> | undefined
  #lastUnknownReload = 0

  constructor (
    private readonly list: () => Promise<SigningKey[]>,
    private readonly decrypt: (stored: string) => string,
    /** How long a retired key keeps verifying: until every token it signed has expired. */
    readonly keyLifetimeMs: number
  ) {}

  /** The key that signs new tokens. */
  current (): LoadedKey {
    if (this.#current === undefined) throw new Error('signing keys are not loaded')
    return this.#current
  }

  /** The current key and its private half (PEM), to sign with. */
  signer (): { kid: string, privatePem: string } {
    if (this.#current === undefined || this.#currentPrivatePem === undefined) throw new Error('signing keys are not loaded')
    return { kid: this.#current.kid, privatePem: this.#currentPrivatePem }
  }

  /** A key that may still verify tokens, by `kid`; undefined for unknown or expired keys. */
  find (kid: string): LoadedKey | undefined {
    const key = this.#byKid.get(kid)
    if (key === undefined || !stillVerifies(key, this.keyLifetimeMs, Date.now())) return undefined
    return key
  }

  /**
   * Like `find`, but an unknown `kid` (a rotation on another instance this one has not polled
   * yet) triggers one reload, at most once a second whatever callers send.
   */
  async resolve (kid: string): Promise<LoadedKey | undefined> {
    const known = this.find(kid)
    if (known !== undefined) return known
    const now = Date.now()
    if (now - this.#lastUnknownReload < 1000) return undefined
    this.#lastUnknownReload = now
    await this.reload()
    return this.find(kid)
  }

  /** RFC 7517 JWK Set: the current key and the retired ones whose tokens may still be valid. */
  jwks (): { keys: PublicJwk[] } {
    return this.#jwks
  }

  /** Re-reads the keys from the database; concurrent callers share one read. */
  reload (): Promise<void> {
    this.#reloading ??= this.#read().finally(() => { this.#reloading = undefined })
    return this.#reloading
  }

  #load (row: SigningKey): LoadedKey {
    const known = this.#byKid.get(row.kid)
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

  async #read (): Promise<void> {
    const rows = await this.list()
    const now = Date.now()
    const current = rows.find(r => r.retiredAt === null)
    if (current === undefined) throw new Error('no current signing key in the database')
    const next = new Map<string, LoadedKey>()
    for (const row of rows) if (stillVerifies(row, this.keyLifetimeMs, now)) next.set(row.kid, this.#load(row))
    if (this.#current?.kid !== current.kid) {
      const privatePem = this.decrypt(current.privatePem)
      // A key that does not parse fails the reload, not every token endpoint request after it.
      createPrivateKey(privatePem)
      this.#currentPrivatePem = privatePem
    }
    this.#byKid = next
    this.#current = next.get(current.kid)
    this.#jwks = {
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
}
