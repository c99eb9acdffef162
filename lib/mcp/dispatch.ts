import type { Log } from '../logger.js'
import type { Principal } from '../principal.js'
import { insufficientScopeChallenge } from '../challenge.js'
import { isUnavailable } from '../storage/errors.js'
import type { CallOutcome } from './call.js'
import {
  INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, LATEST_VERSION, MAX_BATCH_SIZE, METHOD_NOT_FOUND, PROTOCOL_VERSIONS, UNAUTHORIZED,
  allowsBatches, classify, errorBody, isSupportedVersion, requestVersion, resultBody, transportRefusal,
  type JsonRpcId, type JsonRpcRequest
} from './protocol.js'
import { initializeResult, packageVersion } from './server-info.js'

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
   */
  listAnswer: (scopes: ReadonlySet<string> | null, cursor: string | undefined, id: JsonRpcId) => Buffer | undefined
  /** Calls a tool as the principal (the registry's caller, lib/mcp/call.ts). */
  callTool: (principal: Principal, name: string, args: Record<string, unknown>, log: Log) => Promise<CallOutcome>
  /** The tool-call rate limit, for the words of its 429. */
  toolCallLimit: { max: number, windowMs: number }
  /** The version `initialize` reports; the package's when absent. */
  serverVersion?: string
}

/** One POST body to answer, its caller already authenticated, and what answering it may use. */
export interface DispatchInput {
  /** The parsed JSON body: one message or a batch. */
  body: unknown
  principal: Principal
  /** The `MCP-Protocol-Version` header as sent, if any. */
  protocolVersion: string | undefined
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

/** A method's handler: one request (it has an id) that passed the shape and version checks. */
type Method = (input: DispatchInput, id: JsonRpcId, params: Readonly<Record<string, unknown>>) => Answer | Promise<Answer>

/**
 * JSON-RPC over MCP after authentication, with no HTTP in it: the POST body in, the answer
 * out. From here, in the contract's order: JSON-RPC shape (-32600) → protocol version (400) →
 * tool-call rate limit (429) → method and scope. The transport checks and credentials come
 * before, in the route.
 */
export function createDispatch (options: DispatchOptions): Dispatch {
  const { listAnswer, callTool } = options
  const serverVersion = options.serverVersion ?? packageVersion()
  // Everything that does not depend on the request is serialized once.
  const initializeResults = new Map<string, string>(PROTOCOL_VERSIONS.map(v => [v, initializeResult(v, serverVersion)]))
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

  async function toolsCall (input: DispatchInput, id: JsonRpcId, params: Readonly<Record<string, unknown>>): Promise<Answer> {
    const { name, arguments: args } = params
    if (typeof name !== 'string') return errorAnswer(200, id, INVALID_PARAMS, 'params.name must be a string')
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
      return errorAnswer(200, id, INVALID_PARAMS, 'params.arguments must be an object')
    }
    const { principal } = input
    const outcome = await callTool(principal, name, (args ?? {}) as Record<string, unknown>, input.log)
    switch (outcome.kind) {
      case 'result':
        return ok(id, outcome.json ?? JSON.stringify(outcome.result))
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

  /** The methods we answer, by name; anything else is -32601. */
  const methods = new Map<string, Method>([
    ['tools/list', (input, id, params) => {
      const cursor = params.cursor
      if (cursor !== undefined && typeof cursor !== 'string') return errorAnswer(200, id, INVALID_PARAMS, 'params.cursor must be a string')
      // Pages are cached as bytes, whole answers too for small ids (lib/mcp/list.ts).
      const body = listAnswer(input.principal.scopes, cursor, id)
      return body === undefined ? errorAnswer(200, id, INVALID_PARAMS, 'Invalid cursor') : { status: 200, body }
    }],
    ['tools/call', toolsCall],
    ['ping', (_input, id) => ok(id, '{}')],
    ['initialize', (_input, id, params) => {
      const wanted = params.protocolVersion
      if (typeof wanted !== 'string') return errorAnswer(200, id, INVALID_PARAMS, 'params.protocolVersion must be a string')
      // Echo a version we speak; otherwise offer our latest and let the client decide.
      return ok(id, initializeResults.get(isSupportedVersion(wanted) ? wanted : LATEST_VERSION) as string)
    }]
  ])

  async function answer (input: DispatchInput, message: JsonRpcRequest & { id: JsonRpcId }): Promise<Answer> {
    const { id } = message
    const method = methods.get(message.method)
    if (method === undefined) return errorAnswer(200, id, METHOD_NOT_FOUND, `Method not found: ${clip(message.method)}`)
    try {
      return await method(input, id, message.params ?? NO_PARAMS)
    } catch (err) {
      return unexpected(input.log, err, id)
    }
  }

  function badVersion (input: DispatchInput): Answer {
    const header = String(input.protocolVersion)
    return { status: 400, body: transportRefusal(`Unsupported MCP-Protocol-Version: ${clip(header, 40)} (supported: ${PROTOCOL_VERSIONS.join(', ')})`) }
  }

  async function batch (input: DispatchInput, messages: unknown[]): Promise<Answer | undefined> {
    if (messages.length === 0) return errorAnswer(400, null, INVALID_REQUEST, 'an empty batch is not a JSON-RPC request')
    const version = requestVersion(input.protocolVersion)
    if (version === undefined) return badVersion(input)
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
    if (c.kind !== 'request' || c.message.method !== 'initialize') {
      if (requestVersion(input.protocolVersion) === undefined) return badVersion(input)
    }
    // Notifications and a client's responses get no answer.
    if (c.kind !== 'request') return undefined
    if (c.message.method === 'tools/call') {
      const limited = await overLimit(input, 1)
      if (limited !== undefined) return limited
    }
    return await answer(input, c.message)
  }
}
