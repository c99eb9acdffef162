import { test } from 'tap'
import type { TSchema } from '@sinclair/typebox'
import { listen } from '../helper.js'
import { basic, callTool, succeeded, type HttpAnswer } from './process.js'
import { HOSTILE, leaks } from './hostile.js'

/**
 * SQL and script fragments in every string field of every tool (iterating the registry, so a new
 * tool is covered without editing this file): each call is a result or a refusal (isError,
 * -32602), never a 5xx; an accepted string is stored verbatim; no statement is ever executed.
 */

const auth = basic()

test('SQL and script fragments in every string field of every tool', async (t) => {
  // Over a thousand calls from one caller: load, not a caller to slow down.
  const { app, base } = await listen(t, { env: { RATE_LIMIT_MCP_MAX: '1000000' } })
  const call = (name: string, args: Record<string, unknown>): Promise<HttpAnswer> => callTool(base, auth, name, args)
  for (const [tool, args] of [
    ['add_organization', { name: 'hostile-org' }],
    ['add_user', { owner: 'built-in', name: 'hostile-target', password: 'hostile-target-password' }],
    ['add_role', { owner: 'built-in', name: 'hostile-role' }],
    ['add_permission', { owner: 'built-in', name: 'hostile-perm' }],
    ['add_application', { owner: 'built-in', name: 'hostile-app' }]
  ] as const) {
    const res = await call(tool, args)
    t.ok(succeeded(res), `setup: ${tool} ${res.text.slice(0, 160)}`)
  }
  const usersBefore = (await app.db.selectFrom('users').select(eb => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n

  let counter = 0
  /** Plausible values for a field, tried in order against its schema (pattern, length). */
  function valueFor (tool: string, key: string, schema: TSchema): unknown {
    if (schema.type === 'boolean') return false
    if (schema.type === 'integer' || schema.type === 'number') return schema.minimum ?? 1
    if (schema.type === 'array') return []
    const resource = /^[a-z]+_(organization|user|role|permission|application|token|session)s?$/.exec(tool)?.[1] ?? ''
    const candidates = [
      ...(key === 'id' || key === resource ? [`built-in/hostile-${resource === 'user' ? 'target' : resource === 'permission' ? 'perm' : resource === 'application' ? 'app' : resource}`, 'hostile-org'] : []),
      ...(key === 'user' ? ['built-in/hostile-target'] : []),
      ...(key === 'role' ? ['built-in/hostile-role'] : []),
      ...(key === 'owner' ? ['built-in'] : []),
      ...(key === 'name' ? [`hx-${counter++}`] : []),
      'built-in', `hx-${counter++}`, 'hostile-password-1', 'user:read', 'a@example.com', '+1 555 0100', 'http://127.0.0.1:9/cb', '2026-01-01T00:00:00.000Z', 'ses_x', 'x'
    ]
    const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined
    return candidates.find(v => (pattern === undefined || pattern.test(v)) && v.length >= (schema.minLength ?? 0) && v.length <= (schema.maxLength ?? Infinity)) ?? 'x'
  }
  const isString = (s: TSchema): boolean => s.type === 'string' || (s.type === 'array' && s.items?.type === 'string')
  const destructive = /^(delete|end|revoke|unassign|rotate)_/

  let calls = 0
  let stored = 0
  const problems: string[] = []
  for (const tool of app.tools.all) {
    const schema = tool.definition.input
    const required = new Set(schema.required ?? [])
    for (const [field, fieldSchema] of Object.entries(schema.properties as Record<string, TSchema>)) {
      if (!isString(fieldSchema)) continue
      for (const hostile of HOSTILE) {
        const args: Record<string, unknown> = {}
        if (!destructive.test(tool.definition.name)) {
          for (const key of required) if (key !== field) args[key] = valueFor(tool.definition.name, key, (schema.properties as Record<string, TSchema>)[key])
        }
        args[field] = fieldSchema.type === 'array' ? [hostile] : hostile
        const res = await call(tool.definition.name, args)
        calls++
        const what = `${tool.definition.name}.${field} = ${JSON.stringify(hostile)}`
        if (res.status !== 200) { problems.push(`${what}: HTTP ${res.status} ${res.text.slice(0, 200)}`); continue }
        if (leaks(res, hostile)) { problems.push(`${what}: internals in ${res.text.slice(0, 300)}`); continue }
        const refused = res.json?.result?.isError === true || res.json?.error?.code === -32602
        if (refused) continue
        if (!succeeded(res)) { problems.push(`${what}: neither a result nor a refusal: ${res.text.slice(0, 200)}`); continue }
        if (/^(add|update)_/.test(tool.definition.name) && !/password|secret/i.test(field)) {
          if (!JSON.stringify(res.json.result.structuredContent).includes(JSON.stringify(hostile).slice(1, -1))) {
            problems.push(`${what}: accepted but not stored verbatim: ${res.text.slice(0, 300)}`)
            continue
          }
          stored++
        }
      }
    }
  }
  t.same(problems, [], `${calls} calls over ${app.tools.all.length} tools: each a result or a refusal, accepted strings stored verbatim (${stored})`)
  t.ok(stored > 20, 'many hostile strings were accepted and stored verbatim (the fields are really exercised)')

  // Nothing was executed: every table is there, the users are the ones made on purpose.
  for (const table of ['organizations', 'users', 'applications', 'roles', 'permissions', 'tokens', 'sessions', 'signing_keys', 'audit_events', 'settings'] as const) {
    await t.resolves(app.db.selectFrom(table).selectAll().limit(1).execute(), `table ${table} is intact`)
  }
  const admin = await call('get_user', { id: 'built-in/admin' })
  t.ok(succeeded(admin), 'the admin still exists')
  const usersAfter = (await app.db.selectFrom('users').select(eb => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n
  t.ok(Number(usersAfter) >= Number(usersBefore), 'no user was deleted by an injected statement')
  for (const filter of ["' OR '1'='1", '%', '_', '%%', "admin' --"]) {
    const res = await call('get_users', { filter })
    const items: Array<{ name: string, displayName: string, email: string }> = succeeded(res) ? res.json.result.structuredContent.items : []
    t.ok(succeeded(res), `get_users filter ${JSON.stringify(filter)} is answered`)
    t.same(items.filter(u => ![u.name, u.displayName, u.email].some(v => v.includes(filter))).map(u => u.name), [],
      `get_users filter ${JSON.stringify(filter)} matches only users whose name, display name or e-mail contains it literally`)
  }
})
