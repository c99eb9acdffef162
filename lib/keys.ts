import { createCipheriv, createDecipheriv, createHash, generateKeyPair as generateKeyPairCb, hkdfSync, randomBytes, createPublicKey } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import type { SigningKey } from './storage/models.js'
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
