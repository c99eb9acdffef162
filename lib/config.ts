import { isIP } from 'node:net'
import envSchema from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'
import { BUILT_IN } from './storage/names.js'

/**
 * Every setting the service reads, with its default. `.env.example` mirrors this list; a value
 * that fails the schema stops start-up with a message naming the setting.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+/?$' })),
  TRUST_PROXY: Type.Optional(Type.String()),
  DATABASE_URL: Type.String({ default: 'sqlite:./data/iam.db', pattern: '^(sqlite:.+|postgres(ql)?://.+)$' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://.+' })),
  ALLOWED_ORIGINS: Type.String({ default: '' }),
  ALLOWED_HOSTS: Type.String({ default: '' }),
  BODY_LIMIT: Type.Integer({ default: 1048576, minimum: 1024 }),
  COOKIE_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  KEY_ENCRYPTION_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  ACCESS_TOKEN_TTL: Type.Integer({ default: 3600, minimum: 60 }),
  REFRESH_TOKEN_TTL: Type.Integer({ default: 2592000, minimum: 60 }),
  AUTHORIZATION_CODE_TTL: Type.Integer({ default: 60, minimum: 10, maximum: 600 }),
  SESSION_TTL: Type.Integer({ default: 86400, minimum: 60 }),
  REQUEST_TIMEOUT: Type.Integer({ default: 30000, minimum: 100 }),
  SHUTDOWN_TIMEOUT: Type.Integer({ default: 10000, minimum: 100 }),
  LOG_LEVEL: Type.Union([
    Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
    Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')
  ], { default: 'info' }),
  REGISTRATION: Type.Union([Type.Literal('open'), Type.Literal('token'), Type.Literal('closed')], { default: 'open' }),
  REGISTRATION_ORGANIZATION: Type.String({ default: BUILT_IN, minLength: 1 }),
  REGISTRATION_INITIAL_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  CLIENT_ID_METADATA: Type.Union([Type.Literal('open'), Type.Literal('allowlist'), Type.Literal('off')], { default: 'open' }),
  CLIENT_ID_METADATA_HOSTS: Type.String({ default: '' }),
  CLIENT_ID_METADATA_INSECURE: Type.Boolean({ default: false }),
  RATE_LIMIT_MAX: Type.Integer({ default: 300, minimum: 1 }),
  RATE_LIMIT_WINDOW: Type.Integer({ default: 60000, minimum: 1000 }),
  RATE_LIMIT_MCP_MAX: Type.Integer({ default: 600, minimum: 1 }),
  LOGIN_MAX_FAILURES: Type.Integer({ default: 5, minimum: 1 }),
  LOGIN_LOCKOUT_SECONDS: Type.Integer({ default: 900, minimum: 1 }),
  REVOCATION_POLL_INTERVAL: Type.Integer({ default: 250, minimum: 20, maximum: 900 }),
  READ_CACHE_TTL: Type.Integer({ default: 1000, minimum: 0, maximum: 1000 }),
  TOKEN_CACHE_BYTES: Type.Integer({ default: 67108864, minimum: 1048576 }),
  AUDIT_RETENTION_DAYS: Type.Integer({ default: 365, minimum: 0 }),
  IAM_BOOTSTRAP_ADMIN_USERNAME: Type.String({ default: 'admin', minLength: 1 }),
  IAM_BOOTSTRAP_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8 })),
  IAM_BOOTSTRAP_CLIENT_ID: Type.Optional(Type.String({ minLength: 8, pattern: '^[A-Za-z0-9._~-]+$' })),
  IAM_BOOTSTRAP_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 16 }))
})
export type Env = Static<typeof EnvSchema>

/**
 * Whom to believe about the client's address: nobody (false), the first `n` hops before this
 * service (a number), or the proxies at these addresses and CIDR ranges.
 */
export type TrustedProxies = false | number | string[]

export interface AppConfig extends Env {
  /** `PUBLIC_URL` without a trailing slash, when set. */
  publicUrl: string | undefined
  trustProxy: TrustedProxies
  allowedOrigins: string[]
  allowedHosts: string[]
  /** `CLIENT_ID_METADATA_HOSTS`, lower-cased: host names, `*.example.com` for its subdomains. */
  clientIdMetadataHosts: string[]
  database: { engine: 'sqlite', path: string } | { engine: 'postgres', url: string }
}

export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

function list (value: string): string[] {
  return value.split(',').map(s => s.trim()).filter(Boolean)
}

/**
 * Reads and validates the configuration from `data` (the environment, plus a `.env` file when
 * `dotenv` is set). Throws a ConfigError that names the first bad setting.
 */
export function readConfig (data: Record<string, string | undefined> = process.env, dotenv = false): AppConfig {
  let env: Env
  try {
    env = envSchema<Env>({ schema: EnvSchema, data, dotenv })
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`)
  }
  return deriveConfig(env)
}

/** proxy-addr's names for address ranges, which Fastify accepts beside addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isProxyAddress (entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry) || isIP(entry) !== 0) return true
  const slash = entry.indexOf('/')
  if (slash < 0 || !/^\d{1,3}$/.test(entry.slice(slash + 1))) return false
  const family = isIP(entry.slice(0, slash))
  const bits = Number(entry.slice(slash + 1))
  return family !== 0 && bits <= (family === 4 ? 32 : 128)
}

/**
 * `TRUST_PROXY`: unset (or `false`) trusts no proxy; a whole number is how many proxies stand
 * in front; otherwise a comma list of the proxies' addresses and CIDR ranges. The old `true`
 * believed any client's forwarded headers: it is refused, not reinterpreted, so that an
 * operator decides whom to trust.
 */
export function parseTrustProxy (value: string | undefined): TrustedProxies {
  const text = (value ?? '').trim()
  if (text === '' || text.toLowerCase() === 'false') return false
  if (text.toLowerCase() === 'true') {
    throw new ConfigError('invalid configuration: TRUST_PROXY=true (believe every forwarded header) is no longer accepted; ' +
      'name the proxies instead: their addresses or CIDR ranges (e.g. TRUST_PROXY=10.0.0.0/8 or TRUST_PROXY=127.0.0.1,::1), ' +
      'or how many proxies stand in front of the service (e.g. TRUST_PROXY=1); set PUBLIC_URL to the public origin')
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text)
    if (!Number.isSafeInteger(hops)) throw new ConfigError('invalid configuration: TRUST_PROXY hop count is too large')
    return hops === 0 ? false : hops
  }
  const entries = list(text)
  for (const entry of entries) {
    if (!isProxyAddress(entry)) {
      throw new ConfigError(`invalid configuration: TRUST_PROXY entry "${entry}" must be an IP address, a CIDR range (10.0.0.0/8), loopback, linklocal or uniquelocal; or TRUST_PROXY is a hop count`)
    }
  }
  return entries
}

/** Checks what the schema cannot say and adds the parsed forms of list and URL settings. */
export function deriveConfig (env: Env): AppConfig {
  for (const origin of list(env.ALLOWED_ORIGINS)) {
    if (!/^https?:\/\/[^/?#]+$/.test(origin)) {
      throw new ConfigError(`invalid configuration: ALLOWED_ORIGINS entry "${origin}" must be an origin like https://example.com`)
    }
  }
  if (env.REGISTRATION === 'token' && env.REGISTRATION_INITIAL_TOKEN === undefined) {
    throw new ConfigError('invalid configuration: REGISTRATION_INITIAL_TOKEN is required when REGISTRATION=token')
  }
  const clientIdMetadataHosts = list(env.CLIENT_ID_METADATA_HOSTS).map(h => h.toLowerCase())
  for (const host of clientIdMetadataHosts) {
    if (!/^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(host)) {
      throw new ConfigError(`invalid configuration: CLIENT_ID_METADATA_HOSTS entry "${host}" must be a host name (example.com) or *. and a domain for its subdomains (*.example.com)`)
    }
  }
  if (env.CLIENT_ID_METADATA === 'allowlist' && clientIdMetadataHosts.length === 0) {
    throw new ConfigError('invalid configuration: CLIENT_ID_METADATA_HOSTS must name at least one host when CLIENT_ID_METADATA=allowlist')
  }
  const database: AppConfig['database'] = env.DATABASE_URL.startsWith('sqlite:')
    ? { engine: 'sqlite', path: env.DATABASE_URL.slice('sqlite:'.length) }
    : { engine: 'postgres', url: env.DATABASE_URL }
  const trustProxy = parseTrustProxy(env.TRUST_PROXY)
  return {
    ...env,
    publicUrl: env.PUBLIC_URL?.replace(/\/$/, ''),
    trustProxy,
    allowedOrigins: list(env.ALLOWED_ORIGINS).map(o => o.toLowerCase()),
    allowedHosts: list(env.ALLOWED_HOSTS).map(h => h.toLowerCase()),
    clientIdMetadataHosts,
    database
  }
}
