import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Fastify from 'fastify'
import { test } from 'tap'
import app, { serverOptions } from '../../app.js'
import { readConfig } from '../../lib/config.js'
import { ToolLoadError, loadTools } from '../../lib/mcp/registry.js'
import { testEnv, WITHOUT_TAP } from '../helper.js'
import { callTool, principalFor } from '../tool-helper.js'
import { BASE, REPO_ROOT, buildMcp, rpc, tempToolsDir } from './fixtures/util.js'

const run = promisify(execFile)

const TOOL = (fields: string): string => `import { Type } from '@sinclair/typebox'
export default {
  title: 'T', description: 'D', annotations: {},
  input: Type.Object({}), output: Type.Object({}),
  async handler () { return {} },
  ${fields}
}
`

test('a broken tool module stops start-up with a message naming the file', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['bad_name.ts', TOOL("name: 'bad name!', scopes: ['demo:read']"), /name "bad name!" must be 1-128/],
    ['no_scopes.ts', TOOL("name: 'no_scopes', scopes: []"), /declares no scopes/],
    ['bad_scope.ts', TOOL("name: 'bad_scope', scopes: ['everything']"), /scope "everything" must look like/],
    ['no_handler.ts', TOOL("name: 'no_handler', scopes: ['demo:read'], handler: undefined"), /handler must be an async function/],
    ['bad_schema.ts', TOOL("name: 'bad_schema', scopes: ['demo:read'], input: Type.String()"), /input must be a TypeBox object schema/],
    ['uncompilable.ts', TOOL("name: 'uncompilable', scopes: ['demo:read'], output: Type.Object({ x: { type: 'string' } as never })"), /schema that does not compile/],
    ['no_default.ts', 'export const tool = {}\n', /has no default export/],
    ['throws.ts', 'throw new Error(\'broken at import\')\nexport default {}\n', /cannot be loaded: broken at import/]
  ]
  for (const [file, source, problem] of cases) {
    const dir = tempToolsDir(t)
    writeFileSync(join(dir, file), source)
    const err = await loadTools(dir).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ToolLoadError, file)
    t.match((err as Error).message, `tool module ${join(dir, file)}: `, `${file}: names the file`)
    t.match((err as Error).message, problem, file)
  }

  t.test('a duplicate name names both files', async (t) => {
    const dir = tempToolsDir(t)
    writeFileSync(join(dir, 'a.ts'), TOOL("name: 'same', scopes: ['demo:read']"))
    writeFileSync(join(dir, 'b.ts'), TOOL("name: 'same', scopes: ['demo:read']"))
    await t.rejects(loadTools(dir), { name: 'ToolLoadError', message: /b\.ts: duplicate tool name "same" \(also in .*a\.ts\)/ })
  })

  t.test('the whole service refuses to start (no half-registered server)', async (t) => {
    const dir = tempToolsDir(t)
    writeFileSync(join(dir, 'fine.ts'), TOOL("name: 'fine', scopes: ['demo:read']"))
    writeFileSync(join(dir, 'no_handler.ts'), TOOL("name: 'no_handler', scopes: ['demo:read'], handler: 42"))
    const env = await testEnv(t)
    const fastify = Fastify(serverOptions(readConfig(env)))
    t.teardown(() => fastify.close())
    fastify.register(app, { env, toolsDir: dir, printSecret: () => {} })
    await t.rejects(async () => { await fastify.ready() }, { name: 'ToolLoadError', message: /no_handler\.ts: handler must be/ })
  })
})

test('adding a tool is adding a file: new:tool writes it, a fresh tools folder lists and calls it', async (t) => {
  const root = tempToolsDir(t)
  // The generated files import ../lib and ../helper: give the scratch root the real ones.
  symlinkSync(join(REPO_ROOT, 'lib'), join(root, 'lib'))
  mkdirSync(join(root, 'test'))
  writeFileSync(join(root, 'test', 'helper.ts'), `import { fileURLToPath } from 'node:url'
import { build as buildService, type TestContext } from '${join(REPO_ROOT, 'test', 'helper.js')}'
export async function build (t: TestContext) {
  return await buildService(t, { toolsDir: fileURLToPath(new URL('../tools', import.meta.url)) })
}
`)
  writeFileSync(join(root, 'test', 'tool-helper.ts'), `export * from '${join(REPO_ROOT, 'test', 'tool-helper.js')}'\n`)
  const script = join(REPO_ROOT, 'scripts', 'new-tool.js')
  const newTool = (...args: string[]): Promise<{ stdout: string, stderr: string }> => run(process.execPath, [script, ...args, '--root', root], { cwd: root })

  const made = await newTool('get_widget_count', '--scope', 'widget:read')
  t.match(made.stdout, 'wrote tools/get_widget_count.ts')
  t.match(made.stdout, 'wrote test/tools/get_widget_count.test.ts')
  const source = readFileSync(join(root, 'tools', 'get_widget_count.ts'), 'utf8')
  t.match(source, "name: 'get_widget_count'")
  t.match(source, "scopes: ['widget:read']")
  t.match(source, "title: 'Get widget count'")

  t.test('refuses bad names, bad scopes and what exists', async (t) => {
    for (const args of [['Bad-Name'], ['1abc'], ['has space'], ['x'.repeat(64)], [], ['a', 'b'], ['ok_name', '--scope', 'admin'], ['get_widget_count']]) {
      const err = await newTool(...args).then(() => undefined, (e: { code: number, stderr: string }) => e)
      t.equal(err?.code, 1, JSON.stringify(args))
      t.match(err?.stderr, /^new:tool: /)
    }
    writeFileSync(join(root, 'tools', 'renamed.ts'), "export default { name: 'taken_name' }\n")
    const taken = await newTool('taken_name').then(() => undefined, (e: { stderr: string }) => e)
    t.match(taken?.stderr, 'tools/renamed.ts already declares a tool named "taken_name"')
  })

  t.test('the generated test passes as generated', async (t) => {
    const { rmSync } = await import('node:fs')
    rmSync(join(root, 'tools', 'renamed.ts'), { force: true })
    // Run as a plain node script (a tap test file is one): a nested tap run would reset this
    // run's .tap/ state, coverage included.
    const result = await run('/usr/bin/env', [...WITHOUT_TAP, process.execPath, '--import', 'tsx', join(root, 'test', 'tools', 'get_widget_count.test.ts')], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } })
      .catch((e: { stdout: string }) => e)
    t.match(result.stdout, /^ok 1 - get_widget_count/m, 'the generated test passes', { stdout: result.stdout.slice(0, 3000) })
    t.match(result.stdout, /ok 3 - refuses arguments its input schema does not allow/)
    t.notMatch(result.stdout, /not ok/)
  })

  t.test('dropped into a tools folder, with nothing else edited, it is listed and callable', async (t) => {
    const dir = tempToolsDir(t)
    copyFileSync(join(root, 'tools', 'get_widget_count.ts'), join(dir, 'get_widget_count.ts'))
    const service = await buildMcp(t, { toolsDir: dir })
    const list = await rpc(service, { jsonrpc: '2.0', id: 1, method: 'tools/list' })
    t.same(list.json().result.tools.map((tool: { name: string }) => tool.name), ['get_widget_count'])
    const called = await rpc(service, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_widget_count', arguments: {} } })
    t.same(called.json().result.structuredContent, { kind: 'application', id: 'built-in/app-built-in', organization: 'built-in' })
    const unauthenticated = await rpc(service, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { headers: { authorization: undefined } })
    t.match(unauthenticated.headers['www-authenticate'], 'scope="widget:read"', 'its scope is known everywhere at once')
    t.equal(BASE, 'http://iam.test')
  })
})

test('the tool test helper calls through the endpoint\'s path', async (t) => {
  const service = await buildMcp(t)
  const admin = principalFor(service)
  t.match(admin, { kind: 'user', id: 'built-in/admin', isAdmin: true, isGlobalAdmin: true, via: 'test' })
  t.same([...(admin.scopes ?? [])].sort(), ['demo:read', 'demo:write', 'other:read'])
  t.match(principalFor(service, { id: 'acme/bob' }), { organization: 'acme', name: 'bob', isAdmin: false, isGlobalAdmin: false })
  t.equal(principalFor(service, { scopes: null }).scopes, null)

  const ok = await callTool(service, 'echo', { text: 'x' })
  t.same(ok.structured, { text: 'x', caller: 'built-in/admin' })
  t.equal(ok.text, JSON.stringify(ok.structured))
  t.equal(ok.isError, false)
  const denied = await callTool(service, 'echo', { text: 'x' }, { scopes: ['demo:write'] })
  t.match(denied.outcome, { kind: 'denied', tool: 'echo', required: ['demo:read'], granted: ['demo:write'] })
  const invalid = await callTool(service, 'echo', {}, principalFor(service, { id: 'acme/bob', scopes: ['demo:read'] }))
  t.equal(invalid.isError, true)
  t.match(invalid.text, /^invalid arguments: \/text/)
  t.match((await callTool(service, 'missing')).outcome, { kind: 'unknown_tool' })
})

test('the guide\'s complete example (docs/adding-a-tool.md) works as written', async (t) => {
  const guide = readFileSync(join(REPO_ROOT, 'docs', 'adding-a-tool.md'), 'utf8')
  const example = /`tools\/count_users\.ts`:\n\n```ts\n([\s\S]*?)```/.exec(guide)?.[1]
  t.ok(example, 'the guide holds the example file')
  const dir = tempToolsDir(t)
  writeFileSync(join(dir, 'count_users.ts'), example ?? '')
  const service = await buildMcp(t, { toolsDir: dir })
  const ok = await callTool(service, 'count_users', { organization: 'built-in' })
  t.same(ok.structured, { organization: 'built-in', count: 1, more: false })
  const plain = await callTool(service, 'count_users', { organization: 'built-in' }, { id: 'acme/bob', scopes: ['user:read'] })
  t.equal(plain.isError, true)
  t.match(plain.text, 'you may not read the users of organization "built-in"')
  t.equal((await callTool(service, 'count_users', { organization: 'x' }, { scopes: [] })).outcome.kind, 'denied')
  const listed = await rpc(service, { jsonrpc: '2.0', id: 1, method: 'tools/list' })
  t.same(listed.json().result.tools.map((tool: { name: string }) => tool.name), ['count_users'])
})
