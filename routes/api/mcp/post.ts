import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AuthFailure, Principal } from '../../../lib/principal.js'
import { unauthorizedChallenge } from '../../../lib/challenge.js'
import { createDispatch, errorAnswer, unexpected, type Answer } from '../../../lib/mcp/dispatch.js'
import { UNAUTHORIZED, transportRefusal, type JsonRpcId } from '../../../lib/mcp/protocol.js'

export const JSON_TYPE = 'application/json; charset=utf-8'

/** The client id an `Authorization: Basic` header claims (for counting failures); undefined for other schemes. */
function basicClientId (header: string | undefined): string | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return (colon < 0 ? decoded : decoded.slice(0, colon)).slice(0, 256)
}

function send (reply: FastifyReply, answer: Answer): FastifyReply {
  // Answers are per caller and may carry credentials (add_application, rotate_application_secret).
  reply.code(answer.status).header('content-type', JSON_TYPE).header('cache-control', 'no-store')
  if (answer.challenge !== undefined) reply.header('www-authenticate', answer.challenge)
  if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter))
  return reply.send(answer.body)
}

/**
 * `POST /api/mcp` after the transport checks (Host/Origin, Content-Type, Accept, size, JSON),
 * which the route's hooks and error handler do: the HTTP half. Credentials (401, and the
 * lockout of Basic secret guessing) are checked here; the JSON-RPC is lib/mcp/dispatch.ts's.
 */
export function createMcpPost (fastify: FastifyInstance): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  const dispatch = createDispatch({
    listAnswer: fastify.tools.listAnswer,
    callTool: fastify.callTool,
    toolCallLimit: { max: fastify.config.RATE_LIMIT_MCP_MAX, windowMs: fastify.config.RATE_LIMIT_WINDOW }
  })

  let challengeBase = ''
  let missingChallenge = ''

  /** The 401 challenge; the common one (no credentials) is made once per public origin. */
  function challengeFor (request: FastifyRequest, failure: AuthFailure | undefined): string {
    const base = fastify.publicBase(request)
    if (failure !== undefined && (failure.reason === 'invalid_token' || failure.reason === 'invalid_dpop_proof')) return unauthorizedChallenge(base, fastify.tools.scopes, failure)
    if (base !== challengeBase) {
      challengeBase = base
      missingChallenge = unauthorizedChallenge(base, fastify.tools.scopes)
    }
    return missingChallenge
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
        return send(reply, { ...errorAnswer(401, bodyId, UNAUTHORIZED, 'Unauthorized', 'Unauthorized operation'), challenge: challengeFor(request, auth.failure) })
      }
      principal = auth.principal
    } catch (err) {
      return send(reply, unexpected(request.log, err, bodyId))
    }

    const answer = await dispatch({
      body,
      principal,
      // Strings or absent: the route's header schema has checked them.
      protocolVersion: request.headers['mcp-protocol-version'] as string | undefined,
      mcpMethod: request.headers['mcp-method'] as string | undefined,
      mcpName: request.headers['mcp-name'] as string | undefined,
      publicBase: fastify.publicBase(request),
      countToolCalls: (calls) => fastify.limits.toolCalls(request, `${principal.kind}:${principal.id}`, calls),
      log: request.log
    })
    return answer === undefined ? reply.code(202).send() : send(reply, answer)
  }
}
