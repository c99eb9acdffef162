import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { AddressInfo } from 'node:net'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * `{base}`, the public origin: `PUBLIC_URL`, else the listen address. Never a header: not
     * the caller's `Host`, nor `X-Forwarded-Host` / `-Proto`, even from a trusted proxy (a
     * proxy passes on what its client sent). The request argument is accepted and ignored.
     */
    publicBase: (request?: FastifyRequest) => string
    /**
     * Whether the raw `Host` header names this service (the public origin, or an allowed host);
     * `X-Forwarded-Host` is never read, so a rebinding host cannot pass as a forwarded one.
     */
    isAllowedHost: (request: FastifyRequest) => boolean
    /** Whether an `Origin` header is the public origin or one of `ALLOWED_ORIGINS`. */
    isAllowedOrigin: (request: FastifyRequest, origin: string) => boolean
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

export function normalizeOrigin (url: string): string | undefined {
  try {
    const u = new URL(url)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
    return `${u.protocol}//${u.host}`.toLowerCase()
  } catch {
    return undefined
  }
}

export default fp(async function publicUrl (fastify) {
  const { config } = fastify
  let listenBase: string | undefined

  function listenAddress (): string {
    if (listenBase !== undefined) return listenBase
    const address = fastify.server.address() as AddressInfo | null
    const port = address?.port ?? config.PORT
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    if (address !== null) listenBase = base
    return base
  }

  fastify.decorate('publicBase', function publicBase (): string {
    return config.publicUrl ?? listenAddress()
  })

  fastify.decorate('isAllowedHost', function isAllowedHost (request: FastifyRequest): boolean {
    // request.host would follow X-Forwarded-Host from a trusted proxy: the raw header only.
    const host = (request.headers.host ?? '').toLowerCase()
    if (host === '') return false
    if (config.allowedHosts.includes(host)) return true
    const base = new URL(fastify.publicBase())
    if (host === base.host) return true
    const [name, port] = splitHost(host)
    const [baseName, basePort] = splitHost(base.host)
    if (config.allowedHosts.includes(name)) return true
    // Loopback names for the same port are one another when the public origin is loopback.
    const defaultPort = base.protocol === 'https:' ? '443' : '80'
    return LOOPBACK.has(baseName) && LOOPBACK.has(name) && (port || defaultPort) === (basePort || defaultPort)
  })

  fastify.decorate('isAllowedOrigin', function isAllowedOrigin (request: FastifyRequest, origin: string): boolean {
    const normalized = normalizeOrigin(origin)
    if (normalized === undefined) return false
    if (config.allowedOrigins.includes(normalized)) return true
    return normalized === normalizeOrigin(fastify.publicBase(request))
  })
}, { name: 'public-url', dependencies: ['config'], fastify: '5.x' })

function splitHost (host: string): [string, string] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host)
  if (m === null) return [host, '']
  return [m[1], m[2] ?? '']
}
