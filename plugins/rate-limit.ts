import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where a request's limiter key is put for the shared limiter's key generator. */
const rateLimitKey = Symbol('rateLimitKey')
/** Where `limitRoutes` keeps a surface's route limit: on its context, seen by the contexts inside it. */
const surfaceRouteLimit = Symbol('surfaceRouteLimit')

/** A route's own @fastify/rate-limit count: `max` requests per `timeWindow` ms per address. */
export interface RouteRateLimit {
  max: number
  timeWindow: number
}

/**
 * A client id or account name as seen from this request's address. Limits are never kept per
 * client alone: a stranger's failures would then lock the real client out from everywhere.
 */
function sourced (request: FastifyRequest, client: string): string {
  return `${request.ip} ${client}`
}

/** A group of routes whose callers share their limits (login apart from the token endpoint). */
export type RateLimitBucket = 'login' | 'token' | 'oauth'

export interface RateLimiter {
  /**
   * Counts this request against its IP's limit and, when `client` is given (a client id or an
   * account name), the limit of that client from that IP. When one is exceeded, answers 429
   * with `Retry-After` and `body`, and returns false; the caller then stops.
   */
  check: (request: FastifyRequest, reply: FastifyReply, bucket: RateLimitBucket, client: string | undefined, body: unknown) => Promise<boolean>
  /**
   * Failed client-secret checks where every request carries the secret (HTTP Basic on
   * /api/mcp), counted per IP and per (IP, claimed client id) in memory: only failures count, so
   * service accounts calling at full speed are never slowed. Past RATE_LIMIT_MAX failures in
   * RATE_LIMIT_WINDOW, `blocked` gives the seconds to wait, and the caller refuses without
   * checking the secret — a right guess then gains nothing.
   */
  failures: {
    blocked: (request: FastifyRequest, client: string) => number | undefined
    record: (request: FastifyRequest, client: string) => void
  }
  /**
   * Counts `count` tool calls (a whole batch at once) of one caller on /api/mcp against
   * RATE_LIMIT_MCP_MAX per RATE_LIMIT_WINDOW. Returns the seconds to wait when that is
   * exceeded, else undefined; the caller then refuses the whole request.
   */
  toolCalls: (request: FastifyRequest, caller: string, count: number) => Promise<number | undefined>
}

declare module 'fastify' {
  interface FastifyInstance {
    limits: RateLimiter
    /**
     * Gives every route declared from this context down (a folder's autohooks.ts: its surface)
     * this route limit, each route counting on its own, unless the route sets its own
     * `config.rateLimit` (`false`: none).
     */
    limitRoutes: (limit: RouteRateLimit) => void
  }
}

/**
 * Per-IP and per-(IP, client) limits (RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW ms each) for
 * the login and token endpoints, and per-caller tool calls on /api/mcp (RATE_LIMIT_MCP_MAX),
 * through @fastify/rate-limit: shared by every instance in Redis when REDIS_URL is set, in memory
 * otherwise. Nothing is limited unless a route asks (`global: false`).
 */
export default fp(async function limits (fastify) {
  const { config } = fastify
  let redis: Redis | undefined
  if (config.REDIS_URL !== undefined) {
    // Fail fast: a slow Redis must not hold requests (the limiter then lets them through).
    redis = new Redis(config.REDIS_URL, { connectTimeout: 500, maxRetriesPerRequest: 1, enableAutoPipelining: true })
    redis.on('error', (err: Error) => { fastify.log.warn({ err: { message: err.message } }, 'rate-limit store unreachable') })
    fastify.addHook('onClose', async () => { redis?.disconnect() })
  }
  // Added before @fastify/rate-limit's own onRoute hook, which reads `config.rateLimit` when the
  // route is declared: a surface's limit must be in place by then.
  fastify.addHook('onRoute', function (this: FastifyInstance, routeOptions) {
    const limit = (this as FastifyInstance & { [surfaceRouteLimit]?: RouteRateLimit })[surfaceRouteLimit]
    if (limit !== undefined && routeOptions.config?.rateLimit === undefined) {
      routeOptions.config = { ...routeOptions.config, rateLimit: { ...limit } }
    }
  })
  fastify.decorate('limitRoutes', function (this: FastifyInstance, limit: RouteRateLimit) {
    (this as FastifyInstance & { [surfaceRouteLimit]?: RouteRateLimit })[surfaceRouteLimit] = limit
  })
  await fastify.register(rateLimit, {
    global: false,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW,
    nameSpace: 'iam-mcp-rl-',
    skipOnError: true,
    ...(redis === undefined ? {} : { redis })
  })

  // The key is built by the callers below: bucket, kind and value.
  const keyGenerator = (request: FastifyRequest): string => (request as FastifyRequest & { [rateLimitKey]?: string })[rateLimitKey] ?? request.ip
  const limiter = fastify.createRateLimit({ max: config.RATE_LIMIT_MAX, timeWindow: config.RATE_LIMIT_WINDOW, skipOnError: true, keyGenerator })
  const toolCallLimiter = fastify.createRateLimit({ max: config.RATE_LIMIT_MCP_MAX, timeWindow: config.RATE_LIMIT_WINDOW, skipOnError: true, keyGenerator })

  async function exceeded (request: FastifyRequest, key: string, count = 1, limit = limiter): Promise<number | undefined> {
    (request as FastifyRequest & { [rateLimitKey]?: string })[rateLimitKey] = key
    // The store adds one at a time; a batch's calls go together (pipelined on Redis).
    const results = count === 1 ? [await limit(request)] : await Promise.all(Array.from({ length: count }, () => limit(request)))
    let wait: number | undefined
    for (const result of results) {
      if (!result.isAllowed && result.isExceeded) wait = Math.max(wait ?? 1, result.ttlInSeconds)
    }
    return wait
  }

  // key → failures in the current window; bounded, so a flood of fake client ids cannot exhaust memory.
  const failures = new Map<string, { count: number, resetAt: number }>()
  const MAX_FAILURE_KEYS = 100_000
  const failureKeys = (request: FastifyRequest, client: string): string[] => [`ip:${request.ip}`, `client:${sourced(request, client)}`]

  fastify.decorate('limits', {
    async toolCalls (request, caller, count) {
      return count < 1 ? undefined : await exceeded(request, `mcp:${caller}`, count, toolCallLimiter)
    },
    failures: {
      blocked (request, client) {
        const now = Date.now()
        let wait: number | undefined
        for (const key of failureKeys(request, client)) {
          const entry = failures.get(key)
          if (entry !== undefined && entry.resetAt > now && entry.count >= config.RATE_LIMIT_MAX) {
            wait = Math.max(wait ?? 0, Math.ceil((entry.resetAt - now) / 1000))
          }
        }
        return wait
      },
      record (request, client) {
        const now = Date.now()
        if (failures.size >= MAX_FAILURE_KEYS) {
          for (const [key, entry] of failures) if (entry.resetAt <= now) failures.delete(key)
          if (failures.size >= MAX_FAILURE_KEYS) failures.delete(failures.keys().next().value as string)
        }
        for (const key of failureKeys(request, client)) {
          const entry = failures.get(key)
          if (entry === undefined || entry.resetAt <= now) failures.set(key, { count: 1, resetAt: now + config.RATE_LIMIT_WINDOW })
          else entry.count++
        }
      }
    },
    async check (request, reply, bucket, client, body) {
      let retryAfter = await exceeded(request, `${bucket}:ip:${request.ip}`)
      if (retryAfter === undefined && client !== undefined && client !== '') {
        retryAfter = await exceeded(request, `${bucket}:client:${sourced(request, client)}`)
      }
      if (retryAfter === undefined) return true
      request.log.info({ bucket }, 'rate limit exceeded')
      await reply.code(429).header('retry-after', String(retryAfter)).header('cache-control', 'no-store').send(body)
      return false
    }
  })
}, { name: 'rate-limit', dependencies: ['config'], fastify: '5.x' })
