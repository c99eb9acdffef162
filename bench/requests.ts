/**
 * What the benchmark's requests look like: paths, headers and bodies, as a stock MCP client and
 * an OAuth client send them. Pure, so test/bench checks them.
 */

export const MCP_PATH = '/api/mcp'
export const TOKEN_PATH = '/api/login/oauth/access_token'
export const PROTOCOL_VERSION = '2025-06-18'

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
