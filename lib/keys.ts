import { createCipheriv, createDecipheriv, createHash, generateKeyPair as generateKeyPairCb, hkdfSync, randomBytes, createPublicKey } from 'node:crypto'
import type { SigningKey } from './storage/models.js'

const ENC_PREFIX = 'enc:v1:'

function encryptionKey (secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'iam-mcp', 'signing-key-encryption', 32))
}

/** AES-256-GCM under a key derived from KEY_ENCRYPTION_SECRET. */
export function encryptPrivateKey (pem: string, secret: string | undefined): string {
  if (secret === undefined) return pem
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(secret), iv)
  const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()])
  return ENC_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

export function decryptPrivateKey (stored: string, secret: string | undefined): string {
  if (!stored.startsWith(ENC_PREFIX)) return stored
  if (secret === undefined) throw new Error('signing keys are encrypted at rest: set KEY_ENCRYPTION_SECRET')
  const raw = Buffer.from(stored.slice(ENC_PREFIX.length), 'base64')
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey(secret), raw.subarray(0, 12))
  decipher.setAuthTag(raw.subarray(12, 28))
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    throw new Error('KEY_ENCRYPTION_SECRET does not decrypt the stored signing keys')
  }
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
export async function generateSigningKey (encryptionSecret: string | undefined): Promise<Omit<SigningKey, 'createdAt' | 'retiredAt'>> {
  const { publicKey, privateKey } = await generateRsa()
  const jwk = createPublicKey(publicKey).export({ format: 'jwk' }) as { n: string, e: string, kty: string }
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url')
  return {
    kid,
    algorithm: 'RS256',
    publicPem: publicKey,
    publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' },
    privatePem: encryptPrivateKey(privateKey, encryptionSecret)
  }
}
