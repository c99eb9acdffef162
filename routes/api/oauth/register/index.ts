import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { randomBytes } from 'node:crypto'
import { randomToken, safeEqual } from '../../../../lib/crypto.js'
import { ClientMetadataSchema, RegistrationError, checkMetadata, clientInformation } from '../../../../lib/oauth/registration.js'
import { refuse } from './refusal.js'

function bearer (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header)
  return match === null ? undefined : match[1]
}

const ClientParamsSchema = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 256 }) })

/**
 * POST /api/oauth/register — RFC 7591 dynamic client registration; GET, PUT and DELETE at
 * `registration_client_uri` — RFC 7592 management with the `registration_access_token`.
 * REGISTRATION says whether anyone may register (`open`), only holders of the initial access
 * token (`token`), or no one (`closed`). Clients land in REGISTRATION_ORGANIZATION and get the
 * authorization code and refresh token grants only. Error bodies, cache headers and rate
 * limits: this folder's autohooks.ts.
 */
const register: FastifyPluginAsyncTypebox = async function (fastify) {
  const { config, store } = fastify

  const clientUri = (request: FastifyRequest, clientId: string): string =>
    `${fastify.publicBase(request)}/api/oauth/register/${encodeURIComponent(clientId)}`

  fastify.post('/', {
    schema: { body: ClientMetadataSchema }
  }, async (request, reply) => {
    if (config.REGISTRATION === 'closed') {
      return refuse(reply, 403, 'access_denied', 'dynamic client registration is closed on this service')
    }
    if (config.REGISTRATION === 'token') {
      const presented = bearer(request)
      if (presented === undefined || config.REGISTRATION_INITIAL_TOKEN === undefined || !safeEqual(presented, config.REGISTRATION_INITIAL_TOKEN)) {
        return refuse(reply, 401, 'invalid_token', 'registration needs a valid initial access token (Authorization: Bearer …)')
      }
    }
    let checked
    try {
      checked = checkMetadata(request.body, fastify.tools.scopes)
    } catch (err) {
      if (err instanceof RegistrationError) return refuse(reply, 400, err.code, err.message)
      throw err
    }
    const registrationToken = randomToken(32)
    const { application, clientSecret } = await store.applications.create({
      owner: config.REGISTRATION_ORGANIZATION,
      name: `client-${randomBytes(8).toString('hex')}`,
      displayName: checked.clientName ?? 'Unnamed client',
      tokenEndpointAuthMethod: checked.authMethod,
      redirectUris: checked.redirectUris,
      grantTypes: checked.grantTypes,
      scopes: checked.scopes,
      applicationType: checked.applicationType,
      isDynamic: true,
      registrationToken
    })
    request.log.info({ clientId: application.clientId, authMethod: checked.authMethod }, 'client registered')
    const body = {
      ...clientInformation(application, fastify.tools.scopes, clientUri(request, application.clientId), registrationToken),
      ...(clientSecret === undefined ? {} : { client_secret: clientSecret, client_secret_expires_at: 0 })
    }
    return reply.code(201).send(body)
  })

  async function authorized (request: FastifyRequest, clientId: string, reply: FastifyReply) {
    const token = bearer(request)
    const client = token === undefined ? undefined : await store.applications.checkRegistrationToken(clientId, token)
    if (token === undefined || client === undefined || !client.isDynamic) {
      refuse(reply, 401, 'invalid_token', 'a valid registration access token for this client is required')
      return undefined
    }
    return { client, token }
  }

  fastify.get('/:clientId', {
    schema: { params: ClientParamsSchema }
  }, async (request, reply) => {
    const found = await authorized(request, request.params.clientId, reply)
    if (found === undefined) return reply
    return reply.send(clientInformation(found.client, fastify.tools.scopes, clientUri(request, found.client.clientId), found.token))
  })

  fastify.put('/:clientId', {
    schema: { params: ClientParamsSchema, body: ClientMetadataSchema }
  }, async (request, reply) => {
    const found = await authorized(request, request.params.clientId, reply)
    if (found === undefined) return reply
    const { client, token } = found
    if (request.body.client_id !== client.clientId) {
      return refuse(reply, 400, 'invalid_client_metadata', 'client_id must be repeated unchanged in an update')
    }
    let checked
    try {
      checked = checkMetadata({ token_endpoint_auth_method: client.tokenEndpointAuthMethod, ...request.body }, fastify.tools.scopes)
    } catch (err) {
      if (err instanceof RegistrationError) return refuse(reply, 400, err.code, err.message)
      throw err
    }
    if (checked.authMethod !== client.tokenEndpointAuthMethod && (checked.authMethod === 'none' || client.tokenEndpointAuthMethod === 'none')) {
      return refuse(reply, 400, 'invalid_client_metadata', 'a public client cannot become confidential, nor the reverse: register a new client')
    }
    const updated = await store.applications.update(client.id, {
      displayName: checked.clientName ?? client.displayName,
      redirectUris: checked.redirectUris,
      grantTypes: checked.grantTypes,
      scopes: checked.scopes,
      applicationType: checked.applicationType,
      tokenEndpointAuthMethod: checked.authMethod
    })
    return reply.send(clientInformation(updated, fastify.tools.scopes, clientUri(request, updated.clientId), token))
  })

  fastify.delete('/:clientId', {
    schema: { params: ClientParamsSchema }
  }, async (request, reply) => {
    const found = await authorized(request, request.params.clientId, reply)
    if (found === undefined) return reply
    await store.applications.delete(found.client.id)
    request.log.info({ clientId: found.client.clientId }, 'client deregistered')
    return reply.code(204).send()
  })
}

export default register
