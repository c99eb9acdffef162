import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import type { Bindings, ChildLoggerOptions, DestinationStream, Level, LogFn, Logger } from 'pino'
import type { AppConfig } from './config.js'
import { SECRET_NAMES } from './secret-names.js'

/**
 * What plain code in lib/ logs through: the levels it writes at, with pino's call shapes. A
 * Fastify or pino logger is one; a test passes any object with these methods.
 */
export interface Log {
  debug: LogMethod
  info: LogMethod
  warn: LogMethod
  error: LogMethod
}

export interface LogMethod {
  (object: object, message?: string): void
  (message: string): void
}

/**
 * Query parameters whose values are secrets when a client misplaces them in a URL (compared
 * lower-cased): the secret names, and `code`, an authorization code there (in a log object,
 * `code` is an error's code and stays readable).
 */
const SECRET_PARAMS = new Set([...SECRET_NAMES, 'code'].map(name => name.toLowerCase()))

/** The request URL with the values of secret-bearing query parameters replaced. */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const params = new URLSearchParams(url.slice(q + 1))
  for (const key of [...params.keys()]) if (SECRET_PARAMS.has(key.toLowerCase())) params.set(key, '[Redacted]')
  return `${url.slice(0, q)}?${params.toString()}`
}

/** Keys whose values are secrets, at the top of a log object and one level down. */
const SECRET_KEYS = new Set(SECRET_NAMES)
/** Under a `headers` object these carry credentials (compared lower-cased). */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie'])
const CENSOR = '[Redacted]'

/** A copy of an error that keeps what the err serializer shows (message, stack are not enumerable). */
function errorCopy (err: Error): Record<string, unknown> {
  return { ...err, type: err.name, message: err.message, stack: err.stack }
}

/** `value` with its secret-named children censored: a copy when there is one, else `value` itself. */
function censorChildren (value: object, headers: boolean): unknown {
  let out: Record<string, unknown> | undefined
  for (const key of Object.keys(value)) {
    if (SECRET_KEYS.has(key) || (headers && SECRET_HEADERS.has(key.toLowerCase()))) {
      out ??= value instanceof Error ? errorCopy(value) : { ...(value as Record<string, unknown>) }
      out[key] = CENSOR
    }
  }
  return out ?? value
}

/**
 * What pino's `redact` with wildcard paths did, at a fraction of its cost (it cloned every
 * logged value on every line: about 30 µs of each request's two log lines, as profiled under load;
 * the top-level keys stay with pino's `redact`, which also covers child loggers' bindings).
 * Secret-named keys are censored at the top and one level down, and credential headers under
 * any top-level `headers`. `req` and `res` are left to their serializers, which keep only
 * method, URL (secret query parameters redacted) and address, and the status code.
 */
export function redactLogObject<T extends object> (object: T): T {
  let out: Record<string, unknown> | undefined
  for (const key of Object.keys(object)) {
    if (key === 'req' || key === 'res') continue
    const value = (object as Record<string, unknown>)[key]
    let replacement = value
    if (SECRET_KEYS.has(key)) replacement = CENSOR
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) replacement = censorChildren(value, key === 'headers')
    if (replacement !== value) {
      out ??= { ...(object as Record<string, unknown>) }
      out[key] = replacement
    }
  }
  return (out ?? object) as T
}

/**
 * pino options: structured JSON, and no credential ever written — headers that carry them,
 * and any field named like a secret, are redacted wherever they appear.
 */
export function loggerOptions (level: AppConfig['LOG_LEVEL'], stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream === undefined ? {} : { stream }),
    // Top-level keys only: cheap (checked only when present), and they also cover child
    // loggers' bindings, which no formatter sees.
    redact: { paths: [...SECRET_KEYS], censor: CENSOR },
    formatters: { log: redactLogObject },
    serializers: {
      req (request) {
        return {
          method: request.method,
          url: redactUrl(request.url),
          remoteAddress: request.ip
        }
      }
    }
  }
}

/**
 * A request's logger that becomes a real pino child (with the request id bound) only when a
 * line is actually written at an enabled level. Fastify makes a child logger for every request;
 * most requests write nothing but the access line, which goes through the root logger
 * (plugins/request-log.ts), so building one each time was pure cost on the hot path.
 */
class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined
  constructor (private readonly parent: Logger, private readonly bindings: Bindings, private readonly options: ChildLoggerOptions) {}

  private get real (): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options)
    return this.made
  }

  private log (level: Level, args: Parameters<LogFn>): void {
    if (this.made === undefined && !this.parent.isLevelEnabled(level)) return
    ;(this.real[level] as (...a: unknown[]) => void)(...args)
  }

  get level (): string { return this.made?.level ?? this.parent.level }
  set level (level: string) { this.real.level = level }
  // Methods on the prototype, not arrow fields: one of these is made per request.
  fatal (...args: Parameters<LogFn>): void { this.log('fatal', args) }
  error (...args: Parameters<LogFn>): void { this.log('error', args) }
  warn (...args: Parameters<LogFn>): void { this.log('warn', args) }
  info (...args: Parameters<LogFn>): void { this.log('info', args) }
  debug (...args: Parameters<LogFn>): void { this.log('debug', args) }
  trace (...args: Parameters<LogFn>): void { this.log('trace', args) }
  silent (): void {}
  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options)
  }
}

/** Fastify's `childLoggerFactory`: lazy request loggers (a route with its own level gets a real child at once). */
export function lazyChildLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined) return logger.child(bindings, options)
  return new LazyChildLogger(logger as Logger, bindings, options)
}

/**
 * Request ids: unique per process start (a random prefix) and cheap — a counter, not a UUID
 * from the CSPRNG per request. They name log lines; they are not secrets.
 */
export function requestIds (): () => string {
  const prefix = randomBytes(6).toString('base64url')
  let next = 0
  return () => `${prefix}-${(next++).toString(36)}`
}
