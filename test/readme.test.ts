import { test } from 'tap'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { ADMIN, BOOTSTRAP_CLIENT, listen } from './helper.js'

/**
 * The README's curl examples, run as written against a listening service. The only
 * substitutions are the ones a reader makes: the address, and the secrets printed at first
 * start (the README says where they come from).
 */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const start = readme.indexOf('## Using it with curl')
const section = readme.slice(start, readme.indexOf('\n## ', start + 1))
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1])

/** Runs one example with bash, asynchronously: the service answers from this same process. */
function run (script: string, base: string, cwd: string): Promise<string> {
  const body = script.replaceAll('http://127.0.0.1:8000', base).replaceAll('the printed admin password', ADMIN.password)
  return new Promise((resolve, reject) => {
    execFile('bash', ['--noprofile', '--norc', '-c', `set -euo pipefail\n${body}`], {
      cwd,
      env: { PATH: process.env.PATH, CLIENT_ID: BOOTSTRAP_CLIENT.id, CLIENT_SECRET: BOOTSTRAP_CLIENT.secret },
      encoding: 'utf8',
      timeout: 30000
    }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`example failed: ${err.message}\n${stderr.slice(-500)}\n${body}`))
      else resolve(stdout)
    })
  })
}

test('the README curl examples work as written', async (t) => {
  t.ok(blocks.length >= 5, 'the section has its examples')
  const { base } = await listen(t)
  const cwd = mkdtempSync(join(tmpdir(), 'iam-readme-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))

  const unauthenticated = blocks.find(b => b.includes('curl -i') && !b.includes('Authorization') && !b.includes(' -u '))!
  const out = await run(unauthenticated, base, cwd)
  t.match(out, /^HTTP\/1\.1 401/)
  t.match(out, /www-authenticate: Bearer realm="\/\.well-known\/oauth-protected-resource", resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource"/i)
  t.match(out, /\{"jsonrpc":"2\.0","id":1,"error":\{"code":-32001,"message":"Unauthorized","data":"Unauthorized operation"\}\}/)

  const discovery = blocks.find(b => b.includes('.well-known/oauth-authorization-server'))!
  const docs = await run(discovery, base, cwd)
  t.match(docs, /"authorization_servers"/)
  t.match(docs, /"issuer"/)

  const basic = blocks.find(b => b.includes('-u "$CLIENT_ID:$CLIENT_SECRET"') && b.includes('/api/mcp') && !b.includes('TOKEN='))!
  const listed = JSON.parse(await run(basic, base, cwd))
  t.ok(listed.result.tools.length > 20, 'the bootstrap application sees every tool')

  const bearer = blocks.find(b => b.includes('TOKEN=$('))!
  const lines = (await run(bearer, base, cwd)).replace(/\}\{"jsonrpc"/g, '}\n{"jsonrpc"').trim().split('\n').filter(Boolean).map(l => JSON.parse(l))
  const names = lines[0].result.tools.map((tool: { name: string }) => tool.name).sort()
  t.same(names, ['get_account', 'get_user', 'get_users'], 'user:read and account:read decide the tools')
  t.equal(lines[1].result.isError ?? false, false)
  t.ok(Array.isArray(lines[1].result.structuredContent.items))

  const modern = blocks.find(b => b.includes('MCP-Protocol-Version: 2026-07-28'))!
  const [discovered, called] = (await run(modern, base, cwd)).replace(/\}\{"jsonrpc"/g, '}\n{"jsonrpc"').trim().split('\n').filter(Boolean).map(l => JSON.parse(l))
  t.equal(discovered.result.supportedVersions[0], '2026-07-28', 'server/discover answers the current revision first')
  t.equal(called.result.resultType, 'complete')
  t.match(called.result.structuredContent, { kind: 'application' })

  const session = blocks.find(b => b.includes('cookies.txt'))!
  const sessionOut = await run(session, base, cwd)
  t.match(sessionOut, /"status":"ok"/)
  t.match(sessionOut, /"built-in\/admin"/)
})
