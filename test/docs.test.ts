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
