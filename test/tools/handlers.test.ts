import { test } from 'tap'
import { build } from '../helper.js'
import { principalFor } from '../tool-helper.js'
import type { ToolContext } from '../../lib/tool-kit/index.js'

/**
 * The handlers as plain functions, with the context the endpoint gives them: failures the
 * caller should see are ToolErrors or StoreErrors (the endpoint turns both into isError
 * results), never anything else.
 */
test('tool handlers called directly', async (t) => {
  const app = await build(t)
  const context = (principal = principalFor(app)): ToolContext => ({ principal, store: app.store, services: { signingKeys: app.signingKeys }, knownScopes: app.tools.scopes, config: app.config, log: app.log })
  const handler = (name: string) => {
    const tool = app.tools.get(name)
    if (tool === undefined) throw new Error(`no tool ${name}`)
    return tool.definition.handler as (input: unknown, ctx: ToolContext) => Promise<any>
  }

  const { organization } = await handler('add_organization')({ name: 'direct' }, context())
  t.equal(organization.id, 'admin/direct')
  await t.rejects(handler('add_organization')({ name: 'direct' }, context()), { name: 'StoreError', code: 'conflict' })
  await t.rejects(handler('get_user')({ id: 'direct/none' }, context()), { name: 'StoreError', code: 'not_found', message: 'user "direct/none" not found' })
  const plain = principalFor(app, { id: 'direct/someone' })
  await t.rejects(handler('get_user')({ id: 'built-in/admin' }, context(plain)), { name: 'ToolError', kind: 'not_found', message: 'user "built-in/admin" not found' })
  await t.rejects(handler('add_organization')({ name: 'nope' }, context(plain)), { name: 'ToolError', kind: 'forbidden' })
  await t.rejects(handler('rotate_signing_key')({}, context(plain)), { name: 'ToolError', kind: 'forbidden' })

  const { items } = await handler('get_signing_keys')({}, context())
  t.equal(items.filter((k: { current: boolean }) => k.current).length, 1, 'services.signingKeys is the real key service')
  const { key } = await handler('rotate_signing_key')({}, context())
  t.equal((await app.signingKeys.list()).find(k => k.current)?.kid, key.kid)

  for (const tool of app.tools.all) {
    t.ok(tool.definition.scopes.length > 0, `${tool.definition.name} declares scopes`)
    t.equal(tool.file.endsWith(`${tool.definition.name}.ts`), true, `${tool.definition.name} lives in a file of its name`)
    const a = tool.definition.annotations
    t.equal(typeof a.readOnlyHint, 'boolean', `${tool.definition.name} says whether it only reads`)
    if (a.readOnlyHint === false) t.equal(typeof a.destructiveHint, 'boolean', `${tool.definition.name} says whether it destroys`)
  }
})
