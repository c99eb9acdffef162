import type { FastifyServerOptions } from 'fastify'
import type { AppConfig } from './config.js'

/** Query parameters whose values are secrets when a client misplaces them in a URL. */
const SECRET_PARAMS = /^(access_token|refresh_token|id_token|token|code|code_verifier|client_secret|password|registration_access_token|assertion)$/i

/** The request URL with the values of secret-bearing query parameters replaced. */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const params = new URLSearchParams(url.slice(q + 1))
  for (const key of [...params.keys()]) if (SECRET_PARAMS.test(key)) params.set(key, '[Redacted]')
  return `${url.slice(0, q)}?${params.toString()}`
}

/**
 * pino options: structured JSON, and no credential ever written — headers that carry them,
 * and any field named like a secret, are redacted wherever they appear.
 */
export function loggerOptions (level: AppConfig['LOG_LEVEL']): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
        'headers.authorization', 'headers.cookie',
        '*.password', '*.client_secret', '*.clientSecret', '*.access_token', '*.refresh_token', '*.id_token',
        '*.token', '*.code_verifier', '*.secret', '*.registration_access_token',
        'password', 'client_secret', 'clientSecret', 'access_token', 'refresh_token', 'token', 'secret'
      ],
      censor: '[Redacted]'
    },
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
