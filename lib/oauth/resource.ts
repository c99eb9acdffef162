import { OAuthError } from './errors.js'

/**
 * RFC 8707 resource indicator in a comparable form: scheme and host lower-cased, default port
 * and a trailing slash dropped. Undefined when it is not an absolute http(s) URI without a
 * fragment.
 */
export function normalizeResource (uri: string): string | undefined {
  if (uri.includes('#')) return undefined
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  // URL already lower-cases scheme and host and drops the scheme's default port.
  const path = url.pathname.replace(/\/+$/, '')
  return `${url.protocol}//${url.host}${path}${url.search}`
}

/** The resources this service serves: itself and its MCP endpoint. */
export function servedResources (base: string): string[] {
  return [base, `${base}/api/mcp`]
}

/**
 * The access token's `aud` for a token request's `resource` parameter(s): the normalised
 * resource when it names this service, `{base}` when absent; `invalid_target` otherwise.
 */
export function audienceFor (base: string, resource: string | string[] | undefined): string {
  if (resource === undefined) return base
  const values = [...new Set((Array.isArray(resource) ? resource : [resource]).map(r => normalizeResource(r) ?? r))]
  if (values.length === 0) return base
  if (values.length > 1) throw new OAuthError('invalid_target', 'one resource per token: this service issues a single audience')
  const served = servedResources(normalizeResource(base) ?? base)
  const index = served.indexOf(values[0])
  if (index < 0) throw new OAuthError('invalid_target', 'the requested resource is not served by this authorization server')
  return servedResources(base)[index]
}
