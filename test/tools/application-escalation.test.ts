import { test } from 'tap'
import { ADMIN, BOOTSTRAP_CLIENT, listen } from '../helper.js'
import { basic, tokenRequest } from '../oauth/flow.js'

/*
 * No escalation through an application: creating one, changing its scopes, grant types or
 * redirect URIs, or rotating its secret needs the caller to hold every scope it may be granted.
 */
test('application:write alone cannot take over a wider application', async (t) => {
  const { app, base } = await listen(t)
  const { store } = app

  async function mcp (headers: Record<string, string>, name: string, args: Record<string, unknown>): Promise<{ isError: boolean, text: string, structured: Record<string, any> | undefined }> {
    const res = await fetch(`${base}/api/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } })
    })
    if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${await res.text()}`)
    const { result } = await res.json() as { result: { isError?: boolean, content: Array<{ text: string }>, structuredContent?: Record<string, any> } }
    return { isError: result.isError === true, text: result.content[0]?.text ?? '', structured: result.structuredContent }
  }

  // An agent allowed only to manage applications, acting for itself in built-in.
  const deployer = await store.applications.create({ owner: 'built-in', name: 'deployer', scopes: ['application:write', 'application:read'], grantTypes: ['client_credentials'] })
  const issued = await tokenRequest(base, { grant_type: 'client_credentials' }, basic(deployer.application.clientId, deployer.clientSecret ?? ''))
  t.equal(issued.status, 200)
  const narrow = { authorization: `Bearer ${issued.body.access_token as string}` }
  // An application allowed everything, that runs only user flows.
  await store.applications.create({ owner: 'built-in', name: 'wide-web', scopes: ['admin'], grantTypes: ['authorization_code'], redirectUris: ['https://wide.example/cb'] })

  await t.test('rotating the secret of a wider application is refused', async (t) => {
    const res = await mcp(narrow, 'rotate_application_secret', { id: 'built-in/app-built-in' })
    t.ok(res.isError)
    t.match(res.text, /scopes you do not hold yourself/)
    const basicAdmin = await fetch(`${base}/api/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...basic(BOOTSTRAP_CLIENT.id, BOOTSTRAP_CLIENT.secret) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_account', arguments: {} } })
    })
    t.equal(basicAdmin.status, 200, 'the bootstrap secret still works')
  })

  await t.test('new grant types or redirect URIs for a wider application are refused', async (t) => {
    const grant = await mcp(narrow, 'update_application', { id: 'built-in/wide-web', grantTypes: ['authorization_code', 'client_credentials'] })
    t.ok(grant.isError)
    t.match(grant.text, /user:write/)
    const redirect = await mcp(narrow, 'update_application', { id: 'built-in/wide-web', redirectUris: ['https://attacker.example/cb'] })
    t.ok(redirect.isError)
    const stored = await store.applications.get('built-in/wide-web')
    t.same(stored.grantTypes, ['authorization_code'])
    t.same(stored.redirectUris, ['https://wide.example/cb'])
    const renamed = await mcp(narrow, 'update_application', { id: 'built-in/wide-web', displayName: 'Wide web' })
    t.notOk(renamed.isError, 'a display name hands nothing out')
  })

  await t.test('what the caller holds it may hand out; a narrowed application becomes its to change', async (t) => {
    const wider = await mcp(narrow, 'add_application', { owner: 'built-in', name: 'wider', scopes: ['user:read'] })
    t.ok(wider.isError)
    const same = await mcp(narrow, 'add_application', { owner: 'built-in', name: 'same', scopes: ['application:read', 'openid'] })
    t.notOk(same.isError, same.text)
    t.notOk((await mcp(narrow, 'rotate_application_secret', { id: 'built-in/same' })).isError)
    t.notOk((await mcp(narrow, 'update_application', { id: 'built-in/same', grantTypes: ['client_credentials'] })).isError)
    const widen = await mcp(narrow, 'update_application', { id: 'built-in/same', scopes: ['admin'] })
    t.ok(widen.isError, 'nor may it widen one it could change')
  })

  await t.test('a login session holds what its role reaches', async (t) => {
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    const cookie = (login.headers.getSetCookie().find(c => c.startsWith('iam_session=')) ?? '').split(';')[0]
    const res = await mcp({ cookie }, 'rotate_application_secret', { id: 'built-in/wide-web' })
    t.notOk(res.isError, res.text)
    t.type(res.structured?.clientSecret, 'string')
  })
})
