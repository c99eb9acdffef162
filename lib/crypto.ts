import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto'

function scrypt (password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => err ? reject(err) : resolve(key))
  })
}

const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }

/** scrypt, with its parameters in the stored string so they can be raised later. */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password.normalize('NFKC'), salt, 32, SCRYPT)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, n, r, p, salt, hash] = parts
  const expected = Buffer.from(hash, 'base64url')
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem
  })
  return timingSafeEqual(key, expected)
}

/** A password hash to compare against when the user does not exist, so timing says nothing. */
export const DUMMY_PASSWORD_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

/** A high-entropy, URL-safe random string (secrets, ids, codes). */
export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * Keyed digest of a server-generated secret (client secrets, refresh tokens, codes). These
 * are high-entropy, so a slow password hash buys nothing and would make every request slow.
 */
export function secretDigest (key: string, secret: string): string {
  return createHmac('sha256', key).update(secret).digest('base64url')
}

export function sha256 (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual (a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb) && a.length === b.length
}

// Random bytes for ids, drawn from the CSPRNG 4 kB at a time.
let idPool = Buffer.alloc(0)
let idPoolOffset = 0

/**
 * A UUID version 7 (RFC 9562 §5.7): the time in milliseconds, then 74 random bits. Rows keyed
 * by these go in at the end of their primary-key index instead of at random places in it —
 * about four times cheaper per insert on SQLite for the append-heavy tables (audit events,
 * tokens, the change feed), and friendlier to PostgreSQL's B-trees too.
 */
export function uuidv7 (now = Date.now()): string {
  if (idPoolOffset + 10 > idPool.length) {
    idPool = randomBytes(4096)
    idPoolOffset = 0
  }
  const b = Buffer.allocUnsafe(16)
  b.writeUIntBE(now, 0, 6)
  idPool.copy(b, 6, idPoolOffset, idPoolOffset + 10)
  idPoolOffset += 10
  b[6] = 0x70 | (b[6] & 0x0f)
  b[8] = 0x80 | (b[8] & 0x3f)
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
