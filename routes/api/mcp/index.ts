import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { unexpected } from '../../../lib/mcp/dispatch.js'
import { PARSE_ERROR, acceptsJson, errorBody, isJsonContentType, transportRefusal } from '../../../lib/mcp/protocol.js'
import { JSON_TYPE, createMcpPost } from './post.js'

/**
 * Headers the endpoint reads. Deliberately lenient: their values are judged by the handler, in
 * the contract's order (a bad `MCP-Protocol-Version` is a 400 only after credentials are checked).
 */
const McpHeaders = Type.Object({
  'mcp-protocol-version': Type.Optional(Type.String()),
  'mcp-method': Type.Optional(Type.String()),
  'mcp-name': Type.Optional(Type.String()),
  'content-type': Type.Optional(Type.String()),
  accept: Type.Optional(Type.String()),
  origin: Type.Optional(Type.String())
})

const ALLOW = 'POST'
const CORS_ALLOW_HEADERS = 'Authorization, DPoP, Content-Type, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, Last-Event-ID'
/** A tool parameter mirrored into a header (`Mcp-Param-{Name}`): a name we cannot list ahead. */
const PARAM_HEADER = /^mcp-param-[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/i

/**
 * The headers a preflight may allow: the fixed list, and the `Mcp-Param-*` names it asks
 * for (CORS has no wildcard for a prefix, so those are echoed, and only those).
 */
function allowHeaders (requested: string | undefined): string {
  if (requested === undefined || !/mcp-param-/i.test(requested)) return CORS_ALLOW_HEADERS
  const params = requested.split(',').map(h => h.trim()).filter(h => PARAM_HEADER.test(h)).slice(0, 32)
  return params.length === 0 ? CORS_ALLOW_HEADERS : `${CORS_ALLOW_HEADERS}, ${params.join(', ')}`
}
const CORS_EXPOSE_HEADERS = 'WWW-Authenticate, Mcp-Session-Id'

function refuse (reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('content-type', JSON_TYPE).send(transportRefusal(message))
}

/**
 * `/api/mcp`: MCP over Streamable HTTP, stateless, JSON answers (no SSE stream is offered).
 * Refusals in the contract's order: Host/Origin 403 → Content-Type 415 (→ Accept 406) →
 * size 413 → JSON -32700 → credentials 401 → shape -32600 → version 400 → method and scope.
 */
const mcp: FastifyPluginAsyncTypebox = async function (fastify) {
  // JSON only: without the text/plain parser, any other body is a 415 (mapped below).
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, fastify.getDefaultJsonParser(fastify.initialConfig.onProtoPoisoning ?? 'error', fastify.initialConfig.onConstructorPoisoning ?? 'error'))

  // Hosts already found allowed: the check parses URLs, and every request makes it. Only
  // answers for hosts that name us are kept, so callers cannot grow it. The answer depends on
  // the raw Host header alone (never X-Forwarded-Host, and the public origin does not change
  // with the request): the header is the key, and the set is emptied if the origin changes.
  const allowedHosts = new Set<string>()
  let allowedFor = ''
  function hostAllowed (request: FastifyRequest): boolean {
    const base = fastify.publicBase()
    if (base !== allowedFor) {
      allowedHosts.clear()
      allowedFor = base
    }
    const key = request.headers.host
    if (key !== undefined && allowedHosts.has(key)) return true
    if (!fastify.isAllowedHost(request)) return false
    if (key !== undefined && allowedHosts.size < 64) allowedHosts.add(key)
    return true
  }

  // Against DNS rebinding and cross-site use of the cookie; CORS for the allowed origins.
  fastify.addHook('onRequest', function guard (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    if (!hostAllowed(request)) {
      request.log.info({ host: request.headers.host }, 'MCP request refused: Host not allowed')
      refuse(reply, 403, 'Forbidden: Host not allowed')
      return
    }
    const origin = request.headers.origin
    if (origin !== undefined) {
      if (!fastify.isAllowedOrigin(request, origin)) {
        request.log.info({ origin }, 'MCP request refused: Origin not allowed')
        refuse(reply, 403, 'Forbidden: Origin not allowed')
        return
      }
      reply.header('access-control-allow-origin', origin)
        .header('vary', 'Origin')
        .header('access-control-expose-headers', CORS_EXPOSE_HEADERS)
    }
    if (request.method === 'POST') {
      if (!isJsonContentType(request.headers['content-type'])) {
        refuse(reply, 415, 'Unsupported Media Type: Content-Type must be application/json')
        return
      }
      if (!acceptsJson(request.headers.accept)) {
        refuse(reply, 406, 'Not Acceptable: Accept must allow application/json')
        return
      }
    }
    done()
  })

  // Fastify's own refusals (body size, parsing) happen before any handler: give them the
  // contract's JSON-RPC shapes. Nothing internal ever reaches the caller.
  fastify.setErrorHandler(function (err: Error & { statusCode?: number, code?: string }, request, reply) {
    const status = err.statusCode ?? 500
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return refuse(reply, 413, `Payload Too Large: the body limit is ${fastify.config.BODY_LIMIT} bytes`)
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
      return refuse(reply, 415, 'Unsupported Media Type: Content-Type must be application/json')
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      request.log.info({ err: { message: err.message } }, 'MCP request refused: malformed JSON')
      return reply.code(400).header('content-type', JSON_TYPE).send(errorBody(null, { code: PARSE_ERROR, message: 'Parse error' }))
    }
    if (status >= 400 && status < 500) {
      request.log.info({ err: { message: err.message, code: err.code } }, 'MCP request refused')
      return refuse(reply, status, 'Bad Request')
    }
    const failure = unexpected(request.log, err, null)
    return reply.code(failure.status).header('content-type', JSON_TYPE).send(failure.body)
  })

  fastify.post('/', { schema: { headers: McpHeaders, body: Type.Unknown() } }, createMcpPost(fastify))

  // CORS preflight (the guard has already refused origins that are not allowed).
  fastify.options('/', async function (request, reply) {
    reply.header('allow', `${ALLOW}, OPTIONS`)
    if (request.headers.origin !== undefined) {
      reply.header('access-control-allow-methods', ALLOW)
        .header('access-control-allow-headers', allowHeaders(request.headers['access-control-request-headers']))
        .header('vary', 'Origin, Access-Control-Request-Headers')
        .header('access-control-max-age', '600')
    }
    return reply.code(204).send()
  })

  // No server-initiated stream and no session to delete: only POST.
  fastify.route({
    method: ['GET', 'DELETE', 'PUT', 'PATCH'],
    url: '/',
    handler: async function (request, reply) {
      return refuse(reply.header('allow', ALLOW), 405, `Method Not Allowed: ${request.method} /api/mcp; use POST`)
    }
  })
}

export default mcp
