import { test } from 'tap'
import { Client, PrivateKeyJwtProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { exportJWK, generateKeyPair } from 'jose'
import { listen } from '../helper.js'

/*
 * The SDK v2 client's PrivateKeyJwtProvider, unchanged, against a listening server: from a bare
 * 401 to a called tool with nothing but the URL, its client id and its private key, and no
 * secret anywhere.
 */
test('the SDK v2 client connects with private_key_jwt and calls a tool', async (t) => {
  const { app, base } = await listen(t)
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const { application } = await app.store.applications.create({
    owner: 'built-in',
    name: 'sdk-machine',
    grantTypes: ['client_credentials'],
    scopes: ['user:read', 'account:read'],
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: { keys: [{ ...await exportJWK(publicKey), kid: 'sdk-1', alg: 'ES256' }] }
  })
  const tokenBodies: URLSearchParams[] = []
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    if (url.pathname === '/api/login/oauth/access_token') tokenBodies.push(new URLSearchParams(String(init?.body)))
    return await fetch(input, init)
  }
  const provider = new PrivateKeyJwtProvider({ clientId: application.clientId, privateKey: { ...await exportJWK(privateKey), kid: 'sdk-1' }, algorithm: 'ES256', expectedIssuer: base })
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/api/mcp`), { authProvider: provider, fetch: recording })
  const client = new Client({ name: 'iam-mcp-pkjwt-tests', version: '1.0.0' })
  await client.connect(transport)
  t.teardown(() => client.close())

  const account = await client.callTool({ name: 'get_account', arguments: {} })
  t.notOk(account.isError, 'a tool call succeeds')
  t.match(JSON.stringify(account.structuredContent), /sdk-machine/, 'as the machine client itself')
  t.ok(tokenBodies.length >= 1, 'it went through the token endpoint')
  for (const body of tokenBodies) {
    t.equal(body.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    t.ok(body.get('client_assertion'), 'with a signed assertion')
    t.equal(body.get('client_secret'), null, 'and no secret')
  }
  const names = (await client.listTools()).tools.map(tool => tool.name)
  t.ok(names.includes('get_users') && !names.includes('add_user'), 'it sees the tools its scopes allow')
})
