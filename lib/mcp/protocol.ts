/**
 * JSON-RPC 2.0 and MCP framing for `POST /api/mcp`: the versions we speak, the error codes,
 * what a valid message looks like, and the bodies of refusals. No Fastify here.
 */

/**
 * The legacy revisions (an `initialize` handshake), newest first; `initialize` echoes one of
 * these, else answers with the first. It never answers the modern revision, which has no
 * handshake.
 */
export const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const
export type ProtocolVersion = typeof PROTOCOL_VERSIONS[number]
export const LATEST_VERSION: ProtocolVersion = PROTOCOL_VERSIONS[0]
/** What a request without `MCP-Protocol-Version` is taken to speak (the transport's rule). */
export const DEFAULT_VERSION: ProtocolVersion = '2025-03-26'

/**
 * The modern revision: no handshake, no session; every request names its version and the
 * client's capabilities in `params._meta`, and the HTTP headers mirror the body.
 */
export const MODERN_VERSION = '2026-07-28'
/** Every version this endpoint serves, newest first: `server/discover` and -32022 list them. */
export const SUPPORTED_VERSIONS: readonly string[] = [MODERN_VERSION, ...PROTOCOL_VERSIONS]

const SUPPORTED: ReadonlySet<string> = new Set(PROTOCOL_VERSIONS)
/** Versions that still allow JSON-RPC batches (removed in 2025-06-18). */
const BATCHING: ReadonlySet<string> = new Set(['2025-03-26', '2024-11-05'])

export function isSupportedVersion (version: string): version is ProtocolVersion {
  return SUPPORTED.has(version)
}

export function allowsBatches (version: ProtocolVersion): boolean {
  return BATCHING.has(version)
}

/**
 * The version a request other than `initialize` speaks, from its `MCP-Protocol-Version`
 * header: the transport's default when there is none, undefined when we do not speak it.
 * The one place a request is assigned a version, so an era with other rules starts here.
 */
export function requestVersion (header: string | undefined): ProtocolVersion | undefined {
  if (header === undefined) return DEFAULT_VERSION
  return isSupportedVersion(header) ? header : undefined
}

/** The reserved `_meta` keys of the modern revision. */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion'
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities'
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo'

/**
 * Which rules a request is answered by:
 * - `legacy`: the handshake revisions, at the version its header names (or the default);
 * - `modern`: 2026-07-28, named by the header or by `_meta` (the rest is checked later,
 *   so a disagreement between them is a -32020, not a guess);
 * - `unsupported`: a version nobody here speaks, and where it was named (-32022).
 */
export type Era =
  | { era: 'legacy', version: ProtocolVersion }
  | { era: 'modern' }
  | { era: 'unsupported', requested: string, source: 'header' | 'meta' }

/** The version a message's `params._meta` names, when it names one as a string. */
export function metaVersion (params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const meta = params?._meta
  if (meta === null || typeof meta !== 'object') return undefined
  const version = (meta as Record<string, unknown>)[META_PROTOCOL_VERSION]
  return typeof version === 'string' ? version : undefined
}

/**
 * The era of a request from its `MCP-Protocol-Version` header and its `_meta` version.
 * Either naming the modern revision makes it modern; otherwise a version we do not speak
 * in either place is unsupported; otherwise it is legacy, at the header's version.
 */
export function requestEra (header: string | undefined, named: string | undefined): Era {
  if (header === MODERN_VERSION || named === MODERN_VERSION) return { era: 'modern' }
  if (header !== undefined && !isSupportedVersion(header)) return { era: 'unsupported', requested: header, source: 'header' }
  if (named !== undefined && !isSupportedVersion(named)) return { era: 'unsupported', requested: named, source: 'meta' }
  return { era: 'legacy', version: header ?? DEFAULT_VERSION }
}

const SENTINEL_START = '=?base64?'
const SENTINEL_END = '?='
/** Canonical, padded Base64 (RFC 4648 §4): the only payload the sentinel form may carry. */
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A mirrored header's value (`Mcp-Name`) as the body would hold it: optional whitespace
 * around it dropped, the `=?base64?…?=` sentinel form decoded (its payload must be
 * canonical Base64 of valid UTF-8). Undefined for a sentinel that does not decode.
 */
export function decodeHeaderValue (raw: string): string | undefined {
  const value = raw.replace(/^[ \t]+|[ \t]+$/g, '')
  if (!value.startsWith(SENTINEL_START) || !value.endsWith(SENTINEL_END) || value.length < SENTINEL_START.length + SENTINEL_END.length) return value
  const payload = value.slice(SENTINEL_START.length, value.length - SENTINEL_END.length)
  if (!CANONICAL_BASE64.test(payload)) return undefined
  try {
    return utf8.decode(Buffer.from(payload, 'base64'))
  } catch {
    return undefined
  }
}

/** The most messages one batch may hold: each may be a slow write, and a batch runs in order. */
export const MAX_BATCH_SIZE = 20

export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600
export const METHOD_NOT_FOUND = -32601
export const INVALID_PARAMS = -32602
export const INTERNAL_ERROR = -32603
/** Not authenticated, or not allowed (insufficient scope): the MCP servers' customary code. */
export const UNAUTHORIZED = -32001
/** A mirrored HTTP header is missing or disagrees with the body (2026-07-28, HTTP 400). */
export const HEADER_MISMATCH = -32020
/** A protocol version we do not speak, in either era; `data` lists what we do (HTTP 400). */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022

export type JsonRpcId = string | number

export interface JsonRpcError {
  code: number
  message: string
  data?: unknown
}

/** A request (has an id) or a notification (has none), already checked for shape. */
export interface JsonRpcRequest {
  jsonrpc: '2.0'
  id?: JsonRpcId
  method: string
  params?: Record<string, unknown>
}

/**
 * What one message in a POST body is:
 * - `request` / `notification`: a well-formed call;
 * - `response`: a client's answer to a server request (we send none; accepted and ignored);
 * - `invalid`: not JSON-RPC 2.0, with the id when one could be read.
 */
export type Classified =
  | { kind: 'request', message: JsonRpcRequest & { id: JsonRpcId } }
  | { kind: 'notification', message: JsonRpcRequest }
  | { kind: 'response' }
  | { kind: 'invalid', id: JsonRpcId | null, reason: string }

function isId (value: unknown): value is JsonRpcId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
}

export function classify (value: unknown): Classified {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'invalid', id: null, reason: 'a JSON-RPC message must be an object' }
  }
  const message = value as Record<string, unknown>
  const hasId = message.id !== undefined
  const id = isId(message.id) ? message.id : null
  if (message.jsonrpc !== '2.0') return { kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' }
  // MCP forbids a null id; JSON-RPC allows only strings and numbers.
  if (hasId && id === null) return { kind: 'invalid', id: null, reason: 'id must be a string or a number' }
  if (message.method === undefined) {
    if (hasId && ('result' in message || 'error' in message)) return { kind: 'response' }
    return { kind: 'invalid', id, reason: 'method is required' }
  }
  if (typeof message.method !== 'string' || message.method === '') return { kind: 'invalid', id, reason: 'method must be a non-empty string' }
  const params = message.params
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
    return { kind: 'invalid', id, reason: 'params must be an object' }
  }
  if (hasId) return { kind: 'request', message: message as unknown as JsonRpcRequest & { id: JsonRpcId } }
  return { kind: 'notification', message: message as unknown as JsonRpcRequest }
}

/** `{"jsonrpc":"2.0","id":…,"error":{…}}` as a string: the one error shape of this surface. */
export function errorBody (id: JsonRpcId | null, error: JsonRpcError): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`
}

/** A result whose JSON is already serialized (cached pages, tool results). */
export function resultBody (id: JsonRpcId, resultJson: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${resultJson}}`
}

/** The body of a transport refusal (403, 405, 406, 413, 415, 400 version): -32600, id null. */
export function transportRefusal (message: string): string {
  return errorBody(null, { code: INVALID_REQUEST, message })
}

const acceptCache = new Map<string, boolean>()

/**
 * Whether an `Accept` header lets us answer with JSON. No header, `*\/*`, `application/*` and
 * `application/json` (with q > 0) do; `text/event-stream` alone does not (we offer no stream).
 */
export function acceptsJson (accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return true
  const known = acceptCache.get(accept)
  if (known !== undefined) return known
  let ok = false
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';')
    const essence = type.trim().toLowerCase()
    if (essence !== 'application/json' && essence !== 'application/*' && essence !== '*/*') continue
    const q = params.map(p => p.trim().toLowerCase()).find(p => p.startsWith('q='))
    if (q === undefined || Number(q.slice(2)) > 0) { ok = true; break }
  }
  // Clients send a handful of distinct values; never let a caller grow this without bound.
  if (acceptCache.size < 256) acceptCache.set(accept, ok)
  return ok
}

/** Whether a `Content-Type` header names JSON (`application/json`, any parameters). */
export function isJsonContentType (contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const semi = contentType.indexOf(';')
  const essence = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  return essence === 'application/json'
}
