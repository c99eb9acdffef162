import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'
import AutoLoad from '@fastify/autoload'
import type { AppConfig, TrustedProxies } from './lib/config.js'
import { lazyChildLogger, loggerOptions, requestIds } from './lib/logger.js'
import type { SecretPrinter } from './lib/bootstrap.js'
import { isUnavailable } from './lib/storage/errors.js'

const here = dirname(fileURLToPath(import.meta.url))

export interface AppOptions {
  /** The environment to configure from; `process.env` (plus `.env`) when absent. */
  env?: Record<string, string | undefined>
  /** Where generated bootstrap secrets are printed; stderr when absent. */
  printSecret?: SecretPrinter
  /** The folder tool modules are loaded from; `tools/` beside this file when absent. */
  toolsDir?: string
}

/**
 * `TRUST_PROXY` as Fastify's `trustProxy`: the client address is then the rightmost entry of
 * `X-Forwarded-For` that no trusted proxy added (proxy-addr). Fastify ignores a bare hop count
 * (it cannot tell a proxy from a client), so a count is given as "the first n hops": right only
 * when nothing reaches the service except through those proxies, as the setting says.
 */
function trustProxyOption (proxies: TrustedProxies): FastifyServerOptions['trustProxy'] {
  if (typeof proxies !== 'number') return proxies
  return (_address: string, hop: number) => hop < proxies
}

/**
 * Fastify's own options for this service; server.ts and the tests both start from these.
 * `logStream` is where log lines go (pino's synchronous stdout when absent).
 */
export function serverOptions (config: AppConfig, logStream?: DestinationStream): FastifyServerOptions {
  return {
    logger: loggerOptions(config.LOG_LEVEL, logStream),
    bodyLimit: config.BODY_LIMIT,
    requestTimeout: config.REQUEST_TIMEOUT,
    connectionTimeout: config.REQUEST_TIMEOUT,
    trustProxy: trustProxyOption(config.trustProxy),
    // One access-log line per request (plugins/request-log.ts) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Request ids come from the server, never from the caller.
    requestIdHeader: false,
    genReqId: requestIds(),
    childLoggerFactory: lazyChildLogger,
    return503OnClosing: true,
    // Start-up runs migrations, the bootstrap and loads every tool: give it room on a busy machine.
    pluginTimeout: 60000,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } }
  }
}

/** The whole service as one plugin: plugins/ (autoloaded), then routes/ (autoloaded). */
const app: FastifyPluginAsync<AppOptions> = async function app (fastify: FastifyInstance, opts) {
  await fastify.register(AutoLoad, {
    dir: join(here, 'plugins'),
    options: { ...opts },
    ignorePattern: /(^|\/)(.*\.d\.ts|.*\.test\.[jt]s)$/
  })

  fastify.setErrorHandler(function (err: Error & { statusCode?: number, code?: string }, request, reply) {
    if (isUnavailable(err)) {
      request.log.error({ err }, 'database unavailable')
      return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable' })
    }
    const statusCode = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500
    if (statusCode >= 500) {
      request.log.error({ err }, 'request failed')
      return reply.code(statusCode).send({ statusCode, error: 'Internal Server Error', message: 'internal error' })
    }
    request.log.info({ err: { message: err.message, code: err.code } }, 'request refused')
    return reply.code(statusCode).send({ statusCode, error: err.code ?? 'Bad Request', message: err.message })
  })

  fastify.setNotFoundHandler(function (request, reply) {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route for ${request.method} ${request.url.split('?')[0]}` })
  })

  await fastify.register(AutoLoad, {
    dir: join(here, 'routes'),
    options: { ...opts },
    autoHooks: true,
    cascadeHooks: true,
    ignorePattern: /(^|\/)(.*\.d\.ts|.*\.test\.[jt]s)$/
  })
}

export default app
