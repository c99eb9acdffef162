import { test } from 'tap'
import { build } from './helper.js'

test('GET /docs documents the endpoint and every tool with its scopes; the metadata points at it', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: 'https://iam.example.com' } })
  const res = await app.inject({ method: 'GET', url: '/docs' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.match(res.body, /POST https:\/\/iam\.example\.com\/api\/mcp/)
  for (const tool of app.tools.all) {
    t.ok(res.body.includes(`<code>${tool.definition.name}</code>`), `lists ${tool.definition.name}`)
  }
  t.match(res.body, /<code>user:write<\/code>/)
  const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' })
  t.equal(metadata.json().resource_documentation, 'https://iam.example.com/docs')
})

test('a closed registration is not advertised', async (t) => {
  const open = await build(t)
  t.match((await open.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json().registration_endpoint, /\/api\/oauth\/register$/)
  const closed = await build(t, { env: { REGISTRATION: 'closed' } })
  for (const url of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/.well-known/app-built-in/openid-configuration']) {
    const doc = (await closed.inject({ method: 'GET', url })).json()
    t.ok(doc.issuer, url)
    t.notOk('registration_endpoint' in doc, `${url} names no registration endpoint`)
  }
})
