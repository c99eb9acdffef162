/**
 * What the benchmark's requests look like: paths, headers and bodies, as a stock MCP client and
 * an OAuth client send them. Pure, so test/bench checks them.
 */

export const MCP_PATH = '/api/mcp'
export const TOKEN_PATH = '/api/login/oauth/access_token'
export const PROTOCOL_VERSION = '2025-06-18'
/** The current revision: no handshake, every request says its version and the client's capabilities. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28'

/** Headers a stock MCP client sends on every JSON-RPC POST. */
export function mcpHeaders (authorization?: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL_VERSION
  }
  if (authorization !== undefined) headers.authorization = authorization
  return headers
}

export function basic (clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`
}

export function tokenRequestBody (scope?: string): string {
  const form = new URLSearchParams({ grant_type: 'client_credentials' })
  if (scope !== undefined) form.set('scope', scope)
  return form.toString()
}

/** A JSON-RPC 2.0 request body. */
export function jsonRpc (method: string, params?: unknown, id: number | string = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) })
}

/**
 * A 2026-07-28 request as the SDK v2 client sends it: the body's `_meta` envelope (protocol
 * version, client capabilities and identity) and the headers that mirror it — the version,
 * `Mcp-Method`, and on `tools/call` `Mcp-Name`.
 */
export function modernRequest (method: string, params: Record<string, unknown> = {}, authorization?: string, id: number | string = 1): { headers: Record<string, string>, body: string } {
  const headers: Record<string, string> = {
    ...mcpHeaders(authorization),
    'mcp-protocol-version': MODERN_PROTOCOL_VERSION,
    'mcp-method': method
  }
  if (method === 'tools/call' && typeof params.name === 'string') headers['mcp-name'] = params.name
  const meta = {
    'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'iam-mcp-bench', version: '1.0.0' }
  }
  return { headers, body: jsonRpc(method, { ...params, _meta: meta }, id) }
}
