import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../principal.js'
import { insufficientScopeChallenge, unauthorizedChallenge } from '../challenge.js'
import { isUnavailable } from '../storage/errors.js'
import {
  DEFAULT_VERSION, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, LATEST_VERSION, MAX_BATCH_SIZE, METHOD_NOT_FOUND,
  PROTOCOL_VERSIONS, UNAUTHORIZED, allowsBatches, classify, errorBody, isSupportedVersion, resultBody,
  transportRefusal, type JsonRpcId, type JsonRpcRequest, type ProtocolVersion
} from './protocol.js'

export const JSON_TYPE = 'application/json; charset=utf-8'

/** The client id an `Authorization: Basic` header claims (for counting failures); undefined for other schemes. */
function basicClientId (header: string | undefined): string | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return (colon < 0 ? decoded : decoded.slice(0, colon)).slice(0, 256)
}

/** One answer to one JSON-RPC message: its HTTP status (when alone) and its serialized body. */
export interface Answer {
  status: number
  body: string | Buffer
  /** `WWW-Authenticate` to send with it (insufficient scope). */
  challenge?: string
  /** `Retry-After`, in seconds (rate limit). */
  retryAfter?: number
}

const SERVER_NAME = 'iam-mcp'
const INSTRUCTIONS = 'Identity and access management for organizations, users, applications, roles, ' +
  'permissions, tokens, sessions, signing keys and the audit log. Objects are named "owner/name" ' +
  '(organizations are owned by "admin"). List tools are paged: pass the returned nextCursor to get ' +
  'more. The tools you see are the ones your token\'s scopes allow; get_account says who you are.'

/** The service's version, from the package.json above this file (source or dist/). */
export function packageVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string, version?: string }
      if (pkg.name === SERVER_NAME && typeof pkg.version === 'string') return pkg.version
    }
    dir = dirname(dir)
  }
  return '0.0.0'
}

function clip (text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

const NO_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({})

const ok = (id: JsonRpcId, resultJson: string): Answer => ({ status: 200, body: resultBody(id, resultJson) })
const fail = (status: number, id: JsonRpcId | null, code: number, message: string, data?: unknown): Answer =>
  ({ status, body: errorBody(id, data === undefined ? { code, message } : { code, message, data }) })

/** How the MCP surface shows a failure of its own: -32603, 503 when the database is the cause, else 500. */
function serverError (id: JsonRpcId | null, unavailable: boolean): Answer {
  return unavailable ? fail(503, id, INTERNAL_ERROR, 'Service unavailable') : fail(500, id, INTERNAL_ERROR, 'Internal error')
}

/**
 * An exception nobody turned into an answer, logged in full and shown with nothing internal:
 * the MCP surface's one mapping of "database unavailable" (lib/storage/errors.ts decides), for
 * the endpoint and the route's error handler alike.
 */
export function unexpected (log: FastifyBaseLogger, err: unknown, id: JsonRpcId | null): Answer {
  const unavailable = isUnavailable(err) || (err as { statusCode?: number })?.statusCode === 503
  log.error({ err }, unavailable ? 'MCP request failed: database unavailable' : 'MCP request failed')
  return serverError(id, unavailable)
}

/**
 * `POST /api/mcp` after the transport checks (Host/Origin, Content-Type, Accept, size, JSON),
 * which the route's hooks and error handler do. From here, in the contract's order:
 * credentials (401) → JSON-RPC shape (-32600) → protocol version (400) → method and scope.
 */
export function createMcpHandler (fastify: FastifyInstance): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const version = packageVersion()
  // Everything that does not depend on the request is serialized once.
  const initializeResults = new Map<string, string>(PROTOCOL_VERSIONS.map(v => [v, JSON.stringify({
    protocolVersion: v,
    capabilities: { tools: { listChanged: false } },
    serverInfo: { name: SERVER_NAME, title: 'IAM MCP', version },
    instructions: INSTRUCTIONS
  })]))
  let challengeBase = ''
  let missingChallenge = ''

  function challengeFor (request: FastifyRequest, failure: Parameters<typeof unauthorizedChallenge>[2]): string {
    const base = fastify.publicBase(request)
    if (failure !== undefined && failure.reason === 'invalid_token') return unauthorizedChallenge(base, fastify.tools.scopes, failure)
    if (base !== challengeBase) {
      challengeBase = base
      missingChallenge = unauthorizedChallenge(base, fastify.tools.scopes)
    }
    return missingChallenge
  }

  function send (reply: FastifyReply, answer: Answer): FastifyReply {
    // Answers are per caller and may carry credentials (add_application, rotate_application_secret).
    reply.code(answer.status).header('content-type', JSON_TYPE).header('cache-control', 'no-store')
    if (answer.challenge !== undefined) reply.header('www-authenticate', answer.challenge)
    if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter))
    return reply.send(answer.body)
  }

  const tooManyCalls = `Too Many Requests: more than ${fastify.config.RATE_LIMIT_MCP_MAX} tool calls in ` +
    `${fastify.config.RATE_LIMIT_WINDOW / 1000} s; retry later`

  /**
   * Counts the request's tool calls against the caller's limit before any of them runs: the
   * 429 to send when it is exceeded, else undefined. Other methods are cheap and not counted.
   */
  async function overLimit (request: FastifyRequest, principal: Principal, calls: number): Promise<Answer | undefined> {
    if (calls === 0) return undefined
    const wait = await fastify.limits.toolCalls(request, `${principal.kind}:${principal.id}`, calls)
    if (wait === undefined) return undefined
    request.log.info({ calls }, 'MCP request refused: tool-call rate limit exceeded')
    return { status: 429, body: transportRefusal(tooManyCalls), retryAfter: wait }
  }

  async function toolsCall (request: FastifyRequest, principal: Principal, id: JsonRpcId, params: Record<string, unknown>): Promise<Answer> {
    const { name, arguments: args } = params
    if (typeof name !== 'string') return fail(200, id, INVALID_PARAMS, 'params.name must be a string')
    if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
      return fail(200, id, INVALID_PARAMS, 'params.arguments must be an object')
    }
    const outcome = await fastify.callTool(principal, name, (args ?? {}) as Record<string, unknown>, request.log)
    switch (outcome.kind) {
      case 'result':
        return ok(id, outcome.json ?? JSON.stringify(outcome.result))
      case 'unknown_tool':
        return fail(200, id, INVALID_PARAMS, `Unknown tool: ${clip(name)}`)
      case 'denied':
        return {
          ...fail(403, id, UNAUTHORIZED, 'insufficient_scope', { tool: outcome.tool, required_scopes: outcome.required, granted_scopes: outcome.granted }),
          challenge: insufficientScopeChallenge(fastify.publicBase(request), outcome.granted, outcome.required)
        }
      case 'failed':
        return serverError(id, outcome.unavailable)
    }
  }

  /** One request (it has an id) that passed the shape and version checks. */
  async function answer (request: FastifyRequest, principal: Principal, message: JsonRpcRequest & { id: JsonRpcId }): Promise<Answer> {
    const { id } = message
    const params = message.params ?? NO_PARAMS
    try {
      switch (message.method) {
        case 'tools/list': {
          const cursor = params.cursor
          if (cursor !== undefined && typeof cursor !== 'string') return fail(200, id, INVALID_PARAMS, 'params.cursor must be a string')
          // Pages are cached as bytes, whole answers too for small ids (lib/mcp/list.ts).
          const body = fastify.tools.listAnswer(principal.scopes, cursor, id)
          return body === undefined ? fail(200, id, INVALID_PARAMS, 'Invalid cursor') : { status: 200, body }
        }
        case 'tools/call':
          return await toolsCall(request, principal, id, params)
        case 'ping':
          return ok(id, '{}')
        case 'initialize': {
          const wanted = params.protocolVersion
          if (typeof wanted !== 'string') return fail(200, id, INVALID_PARAMS, 'params.protocolVersion must be a string')
          // Echo a version we speak; otherwise offer our latest and let the client decide.
          return ok(id, initializeResults.get(isSupportedVersion(wanted) ? wanted : LATEST_VERSION) as string)
        }
        default:
          return fail(200, id, METHOD_NOT_FOUND, `Method not found: ${clip(message.method)}`)
      }
    } catch (err) {
      return unexpected(request.log, err, id)
    }
  }

  /** The version a (non-initialize) request speaks, from its header; undefined if we do not speak it. */
  function requestVersion (request: FastifyRequest): ProtocolVersion | undefined {
    const header = request.headers['mcp-protocol-version']
    if (header === undefined) return DEFAULT_VERSION
    return typeof header === 'string' && isSupportedVersion(header) ? header : undefined
  }

  function badVersion (request: FastifyRequest): Answer {
    const header = String(request.headers['mcp-protocol-version'])
    return { status: 400, body: transportRefusal(`Unsupported MCP-Protocol-Version: ${clip(header, 40)} (supported: ${PROTOCOL_VERSIONS.join(', ')})`) }
  }

  async function batch (request: FastifyRequest, principal: Principal, messages: unknown[]): Promise<Answer | undefined> {
    if (messages.length === 0) return fail(400, null, INVALID_REQUEST, 'an empty batch is not a JSON-RPC request')
    const version = requestVersion(request)
    if (version === undefined) return badVersion(request)
    if (!allowsBatches(version)) return fail(400, null, INVALID_REQUEST, `JSON-RPC batches are not supported in protocol version ${version}`)
    if (messages.length > MAX_BATCH_SIZE) {
      return fail(400, null, INVALID_REQUEST, `a batch holds at most ${MAX_BATCH_SIZE} messages; this one holds ${messages.length}`)
    }
    const classified = messages.map(classify)
    const limited = await overLimit(request, principal, classified.filter(c => c.kind === 'request' && c.message.method === 'tools/call').length)
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
        const a = await answer(request, principal, c.message)
        challenge ??= a.challenge
        answers.push(a.body.toString())
      }
    }
    // Only notifications and responses: nothing to answer.
    if (answers.length === 0) return undefined
    // Each answer carries its own outcome; the batch as a whole was processed.
    return { status: 200, body: `[${answers.join(',')}]`, challenge }
  }

  return async function mcpPost (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const body = request.body
    const single = body !== null && typeof body === 'object' && !Array.isArray(body)
    const rawId = single ? (body as { id?: unknown }).id : undefined
    const bodyId: JsonRpcId | null = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null

    let principal: Principal
    try {
      // Client-secret guessing over HTTP Basic: past the failure limit, refused unchecked.
      const claimed = basicClientId(request.headers.authorization)
      const wait = claimed === undefined ? undefined : fastify.limits.failures.blocked(request, claimed)
      if (wait !== undefined) {
        request.log.info('MCP request refused: too many failed client authentications')
        reply.header('retry-after', String(wait))
        return send(reply, { status: 429, body: transportRefusal('Too Many Requests: too many failed client authentications; retry later') })
      }
      const auth = await fastify.authenticate(request)
      if (!auth.ok) {
        if (claimed !== undefined && auth.failure.reason === 'invalid_client') fastify.limits.failures.record(request, claimed)
        // No credentials is how every OAuth client starts (discovery): not worth a line each.
        if (auth.failure.reason === 'missing') request.log.debug('MCP request refused: no credentials')
        else request.log.info({ reason: auth.failure.reason }, 'MCP request refused: not authenticated')
        return send(reply, { ...fail(401, bodyId, UNAUTHORIZED, 'Unauthorized', 'Unauthorized operation'), challenge: challengeFor(request, auth.failure) })
      }
      principal = auth.principal
    } catch (err) {
      return send(reply, unexpected(request.log, err, bodyId))
    }

    if (Array.isArray(body)) {
      const a = await batch(request, principal, body)
      return a === undefined ? reply.code(202).send() : send(reply, a)
    }

    const c = classify(body)
    if (c.kind === 'invalid') return send(reply, fail(400, c.id, INVALID_REQUEST, `Invalid Request: ${c.reason}`))
    if (c.kind !== 'request' || c.message.method !== 'initialize') {
      if (requestVersion(request) === undefined) return send(reply, badVersion(request))
    }
    // Notifications and a client's responses get no answer.
    if (c.kind !== 'request') return reply.code(202).send()
    if (c.message.method === 'tools/call') {
      const limited = await overLimit(request, principal, 1)
      if (limited !== undefined) return send(reply, limited)
    }
    return send(reply, await answer(request, principal, c.message))
  }
}
