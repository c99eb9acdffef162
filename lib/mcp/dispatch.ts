import type { Log } from '../logger.js'
import type { Principal } from '../principal.js'
import { insufficientScopeChallenge } from '../challenge.js'
import { isUnavailable } from '../storage/errors.js'
import type { CallOutcome } from './call.js'
import {
  HEADER_MISMATCH, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, LATEST_VERSION, MAX_BATCH_SIZE, META_CLIENT_CAPABILITIES,
  META_PROTOCOL_VERSION, METHOD_NOT_FOUND, MODERN_VERSION, PROTOCOL_VERSIONS, SUPPORTED_VERSIONS, UNAUTHORIZED,
  UNSUPPORTED_PROTOCOL_VERSION, allowsBatches, classify, decodeHeaderValue, errorBody, isSupportedVersion, metaVersion,
  requestEra, requestVersion, resultBody, transportRefusal, type Classified, type Era, type JsonRpcId, type JsonRpcRequest
} from './protocol.js'
import { SERVER_EXTENSIONS, discoverResult, initializeResult, modernListMembers, modernResultMembers, packageVersion } from './server-info.js'

/** One answer to one JSON-RPC message: its HTTP status (when alone) and its serialized body. */
export interface Answer {
  status: number
  body: string | Buffer
  /** `WWW-Authenticate` to send with it (insufficient scope). */
  challenge?: string
  /** `Retry-After`, in seconds (rate limit). */
  retryAfter?: number
}

/** What the dispatch is built with, once: the tools and the limits that do not change per request. */
export interface DispatchOptions {
  /**
   * The whole `tools/list` answer to request `id` for a caller with these scopes (`null`:
   * unrestricted) and cursor; undefined for a cursor we did not give out (the registry's).
   * `members` (serialized, no braces) are added to the result: the modern revision's hints.
   */
  listAnswer: (scopes: ReadonlySet<string> | null, cursor: string | undefined, id: JsonRpcId, members?: string) => Buffer | undefined
  /** Calls a tool as the principal (the registry's caller, lib/mcp/call.ts). */
  callTool: (principal: Principal, name: string, args: Record<string, unknown>, log: Log) => Promise<CallOutcome>
  /** The tool-call rate limit, for the words of its 429. */
  toolCallLimit: { max: number, windowMs: number }
  /** The version `initialize` and `serverInfo` report; the package's when absent. */
  serverVersion?: string
  /** The extensions `server/discover` advertises; lib/mcp/server-info.ts's list when absent. */
  extensions?: typeof SERVER_EXTENSIONS
}

/** One POST body to answer, its caller already authenticated, and what answering it may use. */
export interface DispatchInput {
  /** The parsed JSON body: one message or a batch. */
  body: unknown
  principal: Principal
  /** The `MCP-Protocol-Version` header as sent, if any. */
  protocolVersion: string | undefined
  /** The `Mcp-Method` header as sent, if any (checked against the body in the modern era). */
  mcpMethod?: string
  /** The `Mcp-Name` header as sent, if any (checked against `params.name` of a modern `tools/call`). */
  mcpName?: string
  /** The public base URL, for the insufficient-scope challenge. */
  publicBase: string
  /**
   * Counts this many tool calls against the caller's limit: the seconds to wait when it is
   * exceeded, else undefined.
   */
  countToolCalls: (calls: number) => Promise<number | undefined>
  log: Log
}

/** The answer to a POST body; undefined when there is nothing to answer (HTTP 202). */
export type Dispatch = (input: DispatchInput) => Promise<Answer | undefined>

function clip (text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

const NO_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({})

const ok = (id: JsonRpcId, resultJson: string): Answer => ({ status: 200, body: resultBody(id, resultJson) })

/** A JSON-RPC error answer with this HTTP status. */
export function errorAnswer (status: number, id: JsonRpcId | null, code: number, message: string, data?: unknown): Answer {
  return { status, body: errorBody(id, data === undefined ? { code, message } : { code, message, data }) }
}

/** How the MCP surface shows a failure of its own: -32603, 503 when the database is the cause, else 500. */
function serverError (id: JsonRpcId | null, unavailable: boolean): Answer {
  return unavailable ? errorAnswer(503, id, INTERNAL_ERROR, 'Service unavailable') : errorAnswer(500, id, INTERNAL_ERROR, 'Internal error')
}

/**
 * An exception nobody turned into an answer, logged in full and shown with nothing internal:
 * the MCP surface's one mapping of "database unavailable" (lib/storage/errors.ts decides), for
 * the dispatch, the route's authentication and its error handler alike.
 */
export function unexpected (log: Log, err: unknown, id: JsonRpcId | null): Answer {
  const unavailable = isUnavailable(err) || (err as { statusCode?: number })?.statusCode === 503
  log.error({ err }, unavailable ? 'MCP request failed: database unavailable' : 'MCP request failed')
  return serverError(id, unavailable)
}

/**
 * A method's handler: one request (it has an id) that passed the shape and version checks,
 * and whether it is answered by the modern revision's rules (its results carry `resultType`
 * and `_meta`).
 */
type Method = (input: DispatchInput, id: JsonRpcId, params: Readonly<Record<string, unknown>>, modern: boolean) => Answer | Promise<Answer>

/** A serialized result object with more members (serialized, no braces) at its end. */
function withMembers (json: string, members: string): string {
  return json === '{}' ? `{${members}}` : `${json.slice(0, -1)},${members}}`
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The methods of the modern revision we answer; any other (initialize, ping, …) is 404 there. */
const MODERN_METHODS: ReadonlySet<string> = new Set(['server/discover', 'tools/list', 'tools/call'])

/**
 * JSON-RPC over MCP after authentication, with no HTTP in it: the POST body in, the answer
 * out. From here, in the contract's order: JSON-RPC shape (-32600) → protocol version (the
 * era, or 400 -32022) → tool-call rate limit (429) → method and scope; a modern request checks
 * its `_meta` and mirrored headers before its method (see `modern`). The transport checks and
 * credentials come before, in the route.
 */
export function createDispatch (options: DispatchOptions): Dispatch {
  const { listAnswer, callTool } = options
  const serverVersion = options.serverVersion ?? packageVersion()
  // Everything that does not depend on the request is serialized once.
  const initializeResults = new Map<string, string>(PROTOCOL_VERSIONS.map(v => [v, initializeResult(v, serverVersion)]))
  const discover = discoverResult(serverVersion, options.extensions)
  const resultMembers = modernResultMembers(serverVersion)
  const listMembers = modernListMembers(serverVersion)
  const tooManyCalls = `Too Many Requests: more than ${options.toolCallLimit.max} tool calls in ` +
    `${options.toolCallLimit.windowMs / 1000} s; retry later`

  /**
   * Counts the request's tool calls against the caller's limit before any of them runs: the
   * 429 to send when it is exceeded, else undefined. Other methods are cheap and not counted.
   */
  async function overLimit (input: DispatchInput, calls: number): Promise<Answer | undefined> {
    if (calls === 0) return undefined
    const wait = await input.countToolCalls(calls)
    if (wait === undefined) return undefined
    input.log.info({ calls }, 'MCP request refused: tool-call rate limit exceeded')
    return { status: 429, body: transportRefusal(tooManyCalls), retryAfter: wait }
  }

  async function toolsCall (input: DispatchInput, id: JsonRpcId, params: Readonly<Record<string, unknown>>, modern: boolean): Promise<Answer> {
    const { name, arguments: args } = params
    if (typeof name !== 'string') return errorAnswer(200, id, INVALID_PARAMS, 'params.name must be a string')
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
      return errorAnswer(200, id, INVALID_PARAMS, 'params.arguments must be an object')
    }
    const { principal } = input
    const outcome = await callTool(principal, name, (args ?? {}) as Record<string, unknown>, input.log)
    switch (outcome.kind) {
      case 'result': {
        const json = outcome.json ?? JSON.stringify(outcome.result)
        return ok(id, modern ? withMembers(json, resultMembers) : json)
      }
      case 'unknown_tool':
        return errorAnswer(200, id, INVALID_PARAMS, `Unknown tool: ${clip(name)}`)
      case 'denied':
        return {
          ...errorAnswer(403, id, UNAUTHORIZED, 'insufficient_scope', { tool: outcome.tool, required_scopes: outcome.required, granted_scopes: outcome.granted }),
          challenge: insufficientScopeChallenge(input.publicBase, outcome.granted, outcome.required)
        }
      case 'failed':
        return serverError(id, outcome.unavailable)
    }
  }

  /** The methods we answer, by name; anything else is -32601. The modern era has only MODERN_METHODS. */
  const methods = new Map<string, Method>([
    ['tools/list', (input, id, params, modern) => {
      const cursor = params.cursor
      if (cursor !== undefined && typeof cursor !== 'string') return errorAnswer(200, id, INVALID_PARAMS, 'params.cursor must be a string')
      // Pages are cached as bytes, whole answers too for small ids, the modern hints inside
      // them (lib/mcp/list.ts).
      const body = modern ? listAnswer(input.principal.scopes, cursor, id, listMembers) : listAnswer(input.principal.scopes, cursor, id)
      return body === undefined ? errorAnswer(200, id, INVALID_PARAMS, 'Invalid cursor') : { status: 200, body }
    }],
    ['tools/call', toolsCall],
    // The same answer in both eras and for every caller: a legacy client may ask too.
    ['server/discover', (_input, id) => ok(id, discover)],
    ['ping', (_input, id) => ok(id, '{}')],
    ['initialize', (_input, id, params) => {
      const wanted = params.protocolVersion
      if (typeof wanted !== 'string') return errorAnswer(200, id, INVALID_PARAMS, 'params.protocolVersion must be a string')
      // Echo a version we speak; otherwise offer our latest and let the client decide.
      return ok(id, initializeResults.get(isSupportedVersion(wanted) ? wanted : LATEST_VERSION) as string)
    }]
  ])

  async function answer (input: DispatchInput, message: JsonRpcRequest & { id: JsonRpcId }, modern = false): Promise<Answer> {
    const { id } = message
    const method = methods.get(message.method)
    if (method === undefined) return errorAnswer(200, id, METHOD_NOT_FOUND, `Method not found: ${clip(message.method)}`)
    try {
      return await method(input, id, message.params ?? NO_PARAMS, modern)
    } catch (err) {
      return unexpected(input.log, err, id)
    }
  }

  /** -32022, in either era: what was asked for and every version we serve, for the client to pick from. */
  function badVersion (id: JsonRpcId | null, era: Extract<Era, { era: 'unsupported' }>): Answer {
    const where = era.source === 'header' ? 'MCP-Protocol-Version' : `params._meta["${META_PROTOCOL_VERSION}"]`
    return errorAnswer(400, id, UNSUPPORTED_PROTOCOL_VERSION, `Unsupported ${where}: ${clip(era.requested, 40)} (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
      { supported: SUPPORTED_VERSIONS, requested: era.requested })
  }

  const mismatch = (id: JsonRpcId, message: string): Answer => errorAnswer(400, id, HEADER_MISMATCH, `Header mismatch: ${message}`)

  /**
   * A request of the modern revision, in the spec's order: `_meta` (-32602) → the mirrored
   * headers (-32020) → the method (404) → the tool-call limit → the method itself. Results
   * carry `resultType` and `serverInfo`; no state is kept between requests.
   */
  async function modern (input: DispatchInput, c: Classified): Promise<Answer | undefined> {
    // Nothing the client sends without an id needs an answer (the revision defines none over HTTP).
    if (c.kind !== 'request') return undefined
    const { id, method } = c.message
    const params = c.message.params ?? NO_PARAMS
    const meta = params._meta
    if (!isObject(meta)) {
      return errorAnswer(400, id, INVALID_PARAMS, `Invalid params: protocol version ${MODERN_VERSION} requires params._meta with "${META_PROTOCOL_VERSION}" and "${META_CLIENT_CAPABILITIES}"`)
    }
    const missing = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES].filter(key => key === META_PROTOCOL_VERSION ? typeof meta[key] !== 'string' : !isObject(meta[key]))
    if (missing.length > 0) return errorAnswer(400, id, INVALID_PARAMS, `Invalid params: params._meta must carry ${missing.map(k => `"${k}"`).join(' and ')}`)
    const version = meta[META_PROTOCOL_VERSION] as string

    const header = input.protocolVersion
    if (header === undefined) return mismatch(id, `the MCP-Protocol-Version header is required; the body names ${clip(version, 40)}`)
    if (header !== version) return mismatch(id, `MCP-Protocol-Version header value '${clip(header, 40)}' does not match body value '${clip(version, 40)}'`)
    // Both name the modern revision now: one of them did, and they are equal.
    if (input.mcpMethod === undefined) return mismatch(id, `the Mcp-Method header is required; the body names ${clip(method)}`)
    if (input.mcpMethod !== method) return mismatch(id, `Mcp-Method header value '${clip(input.mcpMethod)}' does not match body value '${clip(method)}'`)
    if (method === 'tools/call' && typeof params.name === 'string') {
      if (input.mcpName === undefined) return mismatch(id, `the Mcp-Name header is required; the body names ${clip(params.name)}`)
      const name = decodeHeaderValue(input.mcpName)
      if (name === undefined) return mismatch(id, 'the Mcp-Name header holds a Base64 sentinel that does not decode')
      if (name !== params.name) return mismatch(id, `Mcp-Name header value '${clip(name)}' does not match body value '${clip(params.name)}'`)
    }

    if (!MODERN_METHODS.has(method)) return errorAnswer(404, id, METHOD_NOT_FOUND, `Method not found: ${clip(method)}`)
    if (method === 'tools/call') {
      const limited = await overLimit(input, 1)
      if (limited !== undefined) return limited
    }
    return await answer(input, c.message, true)
  }

  /** Whether a batch element claims the modern revision in its `_meta`, which has no batches. */
  function claimsModern (message: unknown): boolean {
    return isObject(message) && isObject(message.params) && metaVersion(message.params) === MODERN_VERSION
  }

  async function batch (input: DispatchInput, messages: unknown[]): Promise<Answer | undefined> {
    if (messages.length === 0) return errorAnswer(400, null, INVALID_REQUEST, 'an empty batch is not a JSON-RPC request')
    if (input.protocolVersion === MODERN_VERSION || messages.some(claimsModern)) {
      return errorAnswer(400, null, INVALID_REQUEST, `JSON-RPC batches are not supported in protocol version ${MODERN_VERSION}`)
    }
    const version = requestVersion(input.protocolVersion)
    if (version === undefined) return badVersion(null, { era: 'unsupported', requested: String(input.protocolVersion), source: 'header' })
    if (!allowsBatches(version)) return errorAnswer(400, null, INVALID_REQUEST, `JSON-RPC batches are not supported in protocol version ${version}`)
    if (messages.length > MAX_BATCH_SIZE) {
      return errorAnswer(400, null, INVALID_REQUEST, `a batch holds at most ${MAX_BATCH_SIZE} messages; this one holds ${messages.length}`)
    }
    const classified = messages.map(classify)
    const limited = await overLimit(input, classified.filter(c => c.kind === 'request' && c.message.method === 'tools/call').length)
    if (limited !== undefined) return limited
    const answers: string[] = []
    let challenge: string | undefined
    // In order, one at a time: a batch may hold writes that depend on one another.
    for (const c of classified) {
      if (c.kind === 'invalid') answers.push(errorBody(c.id, { code: INVALID_REQUEST, message: `Invalid Request: ${c.reason}` }))
      else if (c.kind === 'request') {
        if (c.message.method === 'initialize') {
          answers.push(errorBody(c.message.id, { code: INVALID_REQUEST, message: 'initialize must not be part of a batch' }))
          continue
        }
        const a = await answer(input, c.message)
        challenge ??= a.challenge
        answers.push(a.body.toString())
      }
    }
    // Only notifications and responses: nothing to answer.
    if (answers.length === 0) return undefined
    // Each answer carries its own outcome; the batch as a whole was processed.
    return { status: 200, body: `[${answers.join(',')}]`, challenge }
  }

  return async function dispatch (input: DispatchInput): Promise<Answer | undefined> {
    const { body } = input
    if (Array.isArray(body)) return await batch(input, body)
    const c = classify(body)
    if (c.kind === 'invalid') return errorAnswer(400, c.id, INVALID_REQUEST, `Invalid Request: ${c.reason}`)
    const named = c.kind === 'response' ? undefined : metaVersion(c.message.params)
    const id = c.kind === 'request' ? c.message.id : null
    // `initialize` is the legacy handshake: only a `_meta` naming the modern revision makes it
    // a modern request (where it does not exist); its header was never asked of it.
    const era = c.kind === 'request' && c.message.method === 'initialize'
      ? (named === MODERN_VERSION ? { era: 'modern' as const } : undefined)
      : requestEra(input.protocolVersion, named)
    if (era?.era === 'unsupported') return badVersion(id, era)
    if (era?.era === 'modern') return await modern(input, c)
    // Notifications and a client's responses get no answer.
    if (c.kind !== 'request') return undefined
    if (c.message.method === 'tools/call') {
      const limited = await overLimit(input, 1)
      if (limited !== undefined) return limited
    }
    return await answer(input, c.message)
  }
}
