import { test } from 'tap'
import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance, InjectOptions } from 'fastify'
import type { LightMyRequestResponse } from 'fastify'
import { AuthorizeQuerySchema } from '../../lib/oauth/authorize-query.js'
import { ClientMetadataSchema } from '../../lib/oauth/registration.js'
import { BOOTSTRAP_CLIENT, build } from '../helper.js'
import { BASE, basic, HOST, rpc, sessionCookieFor } from '../mcp/fixtures/util.js'

/**
 * U+0000 and a lone surrogate in every string field of every tool and of every OAuth endpoint
 * (DESIGN: "bad text … is a 4xx or an isError result on both engines, never a 500"), each in
 * the surface's own error shape. Run with TEST_DATABASE=postgres too: there U+0000 cannot be
 * stored, so anything that reaches a query unrefused shows up as a 500 or a stray error.
 */

const BAD = { nul: 'a\u0000b', surrogate: 'a\ud800b' } as const
type Kind = keyof typeof BAD

/** Whether a schema accepts a string, an array of strings, or neither (then skipped). */
function stringShape (schema: TSchema): 'string' | 'array' | undefined {
  if (schema.type === 'string') return 'string'
  if (schema.type === 'array' && schema.items !== undefined && stringShape(schema.items as TSchema) === 'string') return 'array'
  for (const member of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])] as TSchema[]) {
    const shape = stringShape(member)
    if (shape !== undefined) return shape
  }
  return undefined
}

/** The string fields of an object schema, with how to put a bad value in each. */
function stringFields (schema: TSchema): Array<{ field: string, value: (bad: string) => unknown }> {
  const fields: Array<{ field: string, value: (bad: string) => unknown }> = []
  for (const [field, property] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    const shape = stringShape(property)
    if (shape === 'string') fields.push({ field, value: bad => bad })
    else if (shape === 'array') fields.push({ field, value: bad => [bad] })
  }
  return fields
}

/** Arguments that pass the schema as far as can be made without knowing the tool. */
function plausible (schema: TSchema): Record<string, unknown> {
  try {
    return Value.Create(schema) as Record<string, unknown>
  } catch {
    return {}
  }
}

function form (fields: Record<string, unknown>): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(fields)) {
    for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item))
  }
  return params.toString()
}

async function send (app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
  return await app.inject({ ...options, headers: { host: HOST, ...options.headers } })
}

test('bad text: never a 500, always the surface\'s own refusal', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: BASE, RATE_LIMIT_MAX: '1000000', LOGIN_MAX_FAILURES: '1000000' } })
  const cookie = await sessionCookieFor(app)

  await t.test('every string field of every tool: an isError "invalid arguments" result', async (t) => {
    let calls = 0
    for (const tool of app.tools.all) {
      const schema = tool.definition.input as TSchema
      for (const { field, value } of stringFields(schema)) {
        for (const kind of Object.keys(BAD) as Kind[]) {
          const args = { ...plausible(schema), [field]: value(BAD[kind]) }
          const res = await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool.definition.name, arguments: args } }, { headers: { authorization: undefined, cookie } })
          calls++
          const what = `${tool.definition.name}.${field} (${kind})`
          t.equal(res.statusCode, 200, what)
          const result = res.json().result
          t.equal(result?.isError, true, `${what}: isError`)
          t.match(result?.content?.[0]?.text, /^invalid arguments/, `${what}: ${result?.content?.[0]?.text}`)
        }
      }
      // A bad key beside the fields.
      const res = await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool.definition.name, arguments: { ...plausible(schema), 'k\u0000': 'v' } } }, { headers: { authorization: undefined, cookie } })
      t.match(res.json().result, { isError: true, content: [{ text: /^invalid arguments/ }] }, `${tool.definition.name}: a bad key`)
    }
    t.ok(calls > 100, `${calls} calls over ${app.tools.all.length} tools`)
    const unknown = await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_user\u0000', arguments: {} } }, { headers: { authorization: undefined, cookie } })
    t.equal(unknown.json().error?.code, -32602, 'a bad tool name is an unknown tool')
  })

  const tokenFields = ['grant_type', 'client_id', 'client_secret', 'scope', 'resource', 'code', 'redirect_uri', 'code_verifier', 'refresh_token']
  const clientFields = ['token', 'token_type_hint', 'client_id', 'client_secret']
  const oauthBodies: Array<{ url: string, fields: string[], base: Record<string, string> }> = [
    { url: '/api/login/oauth/access_token', fields: tokenFields, base: { grant_type: 'client_credentials', client_id: BOOTSTRAP_CLIENT.id, client_secret: BOOTSTRAP_CLIENT.secret } },
    { url: '/api/login/oauth/introspect', fields: clientFields, base: { token: 'x', client_id: BOOTSTRAP_CLIENT.id, client_secret: BOOTSTRAP_CLIENT.secret } },
    { url: '/api/login/oauth/revoke', fields: clientFields, base: { token: 'x', client_id: BOOTSTRAP_CLIENT.id, client_secret: BOOTSTRAP_CLIENT.secret } }
  ]

  await t.test('token, introspection, revocation: RFC 6749 invalid_request', async (t) => {
    for (const { url, fields, base } of oauthBodies) {
      for (const field of fields) {
        for (const kind of Object.keys(BAD) as Kind[]) {
          const body = { ...base, [field]: BAD[kind] }
          const json = await send(app, { method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
          t.equal(json.statusCode, 400, `${url} ${field} (${kind}, JSON)`)
          t.equal(json.json().error, 'invalid_request')
          // A form cannot carry a lone surrogate (it is encoded as U+FFFD): only below 500 then.
          const formed = await send(app, { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(body) })
          if (kind === 'nul') t.same([formed.statusCode, formed.json().error], [400, 'invalid_request'], `${url} ${field} (form)`)
          else t.ok(formed.statusCode < 500, `${url} ${field} (${kind}, form): ${formed.statusCode}`)
        }
      }
      // Bad text inside HTTP Basic credentials: wrong credentials.
      for (const [id, secret] of [['x\u0000', 'secret'], [BOOTSTRAP_CLIENT.id, `${BOOTSTRAP_CLIENT.secret}\u0000`], ['x%00', 'y']]) {
        const res = await send(app, { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) }, payload: url.endsWith('access_token') ? 'grant_type=client_credentials' : 'token=x' })
        t.same([res.statusCode, res.json().error], [401, 'invalid_client'], `${url}: Basic ${JSON.stringify(id)}`)
      }
    }
    const mcp = await rpc(app, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { headers: { authorization: basic('x\u0000', 'y') } })
    t.equal(mcp.statusCode, 401, '/api/mcp: Basic with U+0000 is wrong credentials')
  })

  await t.test('registration and RFC 7592: invalid_client_metadata', async (t) => {
    const created = await send(app, { method: 'POST', url: '/api/oauth/register', headers: { 'content-type': 'application/json' }, payload: { redirect_uris: ['http://127.0.0.1:9/cb'], client_name: 'fuzz' } })
    t.equal(created.statusCode, 201)
    const { client_id: clientId, registration_access_token: token } = created.json()
    const auth = { authorization: `Bearer ${token as string}` }
    for (const { field, value } of stringFields(ClientMetadataSchema)) {
      for (const kind of Object.keys(BAD) as Kind[]) {
        const body = { redirect_uris: ['http://127.0.0.1:9/cb'], [field]: value(BAD[kind]) }
        const res = await send(app, { method: 'POST', url: '/api/oauth/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
        t.same([res.statusCode, res.json().error], [400, 'invalid_client_metadata'], `register ${field} (${kind})`)
        const put = await send(app, { method: 'PUT', url: `/api/oauth/register/${clientId as string}`, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ client_id: clientId, ...body }) })
        t.same([put.statusCode, put.json().error], [400, 'invalid_client_metadata'], `RFC 7592 PUT ${field} (${kind})`)
      }
    }
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await send(app, { method, url: '/api/oauth/register/x%00y', headers: { ...auth, 'content-type': 'application/json' }, payload: method === 'PUT' ? '{}' : undefined })
      t.same([res.statusCode, res.json().error], [400, 'invalid_client_metadata'], `RFC 7592 ${method} with U+0000 in the client id`)
    }
    t.equal((await send(app, { method: 'GET', url: `/api/oauth/register/${clientId as string}`, headers: auth })).statusCode, 200, 'the client is untouched')
  })

  await t.test('authorization, login and consent pages: an HTML error page', async (t) => {
    const query = { response_type: 'code', client_id: BOOTSTRAP_CLIENT.id, redirect_uri: 'http://127.0.0.1:9/cb', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', scope: 'user:read', state: 's' }
    for (const { field } of stringFields(AuthorizeQuerySchema)) {
      const res = await send(app, { method: 'GET', url: `/login/oauth/authorize?${form({ ...query, [field]: BAD.nul })}` })
      t.equal(res.statusCode, 400, `authorize ${field}`)
      t.match(res.headers['content-type'], /text\/html/)
      t.notOk(res.headers.location, 'no redirect')
      const surrogate = await send(app, { method: 'GET', url: `/login/oauth/authorize?${form({ ...query, [field]: BAD.surrogate })}` })
      t.ok(surrogate.statusCode < 500, `authorize ${field} (surrogate): ${surrogate.statusCode}`)
    }
    const pages = { '/login/oauth/authorize/login': ['csrf_token', 'request', 'username', 'password', 'organization'], '/login/oauth/authorize/consent': ['csrf_token', 'request', 'decision', 'scope'] }
    for (const [url, fields] of Object.entries(pages)) {
      for (const field of fields) {
        for (const kind of Object.keys(BAD) as Kind[]) {
          const body = { [field]: BAD[kind] }
          for (const [type, payload] of [['application/json', JSON.stringify(body)], ['application/x-www-form-urlencoded', form(body)]]) {
            const res = await send(app, { method: 'POST', url, headers: { 'content-type': type, cookie }, payload })
            t.ok(res.statusCode >= 400 && res.statusCode < 500, `${url} ${field} (${kind}, ${type}): ${res.statusCode}`)
            t.match(res.headers['content-type'], /text\/html/)
          }
        }
      }
    }
  })

  await t.test('POST /api/login: its own JSON refusal', async (t) => {
    for (const field of ['username', 'password', 'organization']) {
      for (const kind of Object.keys(BAD) as Kind[]) {
        const body = { username: 'admin', password: 'x', organization: 'built-in', [field]: BAD[kind] }
        const res = await send(app, { method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
        t.same([res.statusCode, res.json()], [400, { status: 'error', error: 'invalid_request' }], `${field} (${kind})`)
        t.notOk(res.headers['set-cookie'])
      }
    }
  })

  await t.test('userinfo and discovery: below 500', async (t) => {
    for (const request of [
      { method: 'GET', url: '/api/userinfo?x=a%00b' },
      { method: 'POST', url: '/api/userinfo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ access_token: BAD.nul }) },
      { method: 'GET', url: '/api/userinfo', headers: { authorization: 'Bearer a%00b' } },
      { method: 'GET', url: '/.well-known/a%00b/oauth-protected-resource' },
      { method: 'GET', url: '/.well-known/a%00b/jwks' }
    ] as InjectOptions[]) {
      const res = await send(app, request)
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `${request.method as string} ${request.url as string}: ${res.statusCode}`)
    }
  })
})
