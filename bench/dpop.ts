/**
 * DPoP proofs for the load generator (RFC 9449 §4.2), signed ahead of each run: every request
 * needs a fresh proof (its `jti` is used once), and signing them while the load runs would make
 * the client, which shares the machine, the bottleneck being measured.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'

/** Proofs older than this are not handed out: the server accepts `iat` within 60 s. */
const MAX_AGE_MS = 45_000

function part (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

export class DpopSigner {
  private readonly privateKey: KeyObject
  private readonly header: string
  private pool: string[] = []
  private signedAt = 0
  /** Proofs signed while the load ran because the pool was empty or stale: should stay 0. */
  signedDuringRun = 0

  constructor () {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = privateKey
    const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
    this.header = part({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })
  }

  /** One ES256 proof for `htm` `htu`, with `ath` when an access token is given. */
  proof (htm: string, htu: string, accessToken?: string): string {
    const claims: Record<string, unknown> = { htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID() }
    if (accessToken !== undefined) claims.ath = createHash('sha256').update(accessToken).digest('base64url')
    const input = `${this.header}.${part(claims)}`
    const signature = sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
    return `${input}.${signature.toString('base64url')}`
  }

  /** Signs `count` proofs for the coming run (replacing what is left of the last pool). */
  refill (count: number, htm: string, htu: string, accessToken: string): void {
    this.pool = Array.from({ length: count }, () => this.proof(htm, htu, accessToken))
    this.signedAt = Date.now()
  }

  /** The next unused proof; signed on the spot (and counted) when the pool is empty or stale. */
  next (htm: string, htu: string, accessToken: string): string {
    const ready = this.pool.pop()
    if (ready !== undefined && Date.now() - this.signedAt < MAX_AGE_MS) return ready
    this.signedDuringRun++
    return this.proof(htm, htu, accessToken)
  }
}
