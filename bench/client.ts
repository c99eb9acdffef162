/**
 * The few calls the benchmark makes to set up its data, through the real API only: the token
 * endpoint (client_credentials) and MCP JSON-RPC on /api/mcp.
 */

import { basic, jsonRpc, MCP_PATH, mcpHeaders, TOKEN_PATH, tokenRequestBody } from './requests.js'

/** A client_credentials access token, the client authenticating with HTTP Basic; DPoP-bound when a proof is given. */
export async function mintToken (base: string, clientId: string, clientSecret: string, scope?: string, dpopProof?: string): Promise<{ token: string, scope: string }> {
  const res = await fetch(base + TOKEN_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, clientSecret), ...(dpopProof === undefined ? {} : { dpop: dpopProof }) },
    body: tokenRequestBody(scope)
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${text.slice(0, 300)}`)
  const body = JSON.parse(text) as { access_token?: string, scope?: string }
  if (typeof body.access_token !== 'string') throw new Error(`token endpoint gave no access_token: ${text.slice(0, 300)}`)
  return { token: body.access_token, scope: body.scope ?? '' }
}

export interface RpcAnswer {
  status: number
  bytes: number
  text: string
  body: { result?: Record<string, unknown>, error?: { code: number, message: string } } | undefined
}

let nextId = 1

export async function rpc (base: string, authorization: string | undefined, method: string, params?: unknown): Promise<RpcAnswer> {
  const res = await fetch(base + MCP_PATH, {
    method: 'POST',
    headers: mcpHeaders(authorization),
    body: jsonRpc(method, params, nextId++)
  })
  const buffer = Buffer.from(await res.arrayBuffer())
  const text = buffer.toString('utf8')
  let body: RpcAnswer['body']
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, bytes: buffer.length, text, body }
}

/** Calls a tool and returns its structured result; throws on any error or `isError` result. */
export async function callTool (base: string, authorization: string, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const answer = await rpc(base, authorization, 'tools/call', { name, arguments: args })
  const result = answer.body?.result as { isError?: boolean, structuredContent?: Record<string, unknown>, content?: Array<{ type: string, text?: string }> } | undefined
  if (answer.status !== 200 || result === undefined || result.isError === true) {
    throw new Error(`${name} failed: HTTP ${answer.status} ${answer.text.slice(0, 400)}`)
  }
  if (result.structuredContent !== undefined) return result.structuredContent
  const text = result.content?.find(c => c.type === 'text')?.text
  return text !== undefined ? JSON.parse(text) : {}
}
