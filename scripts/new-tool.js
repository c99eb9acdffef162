#!/usr/bin/env node
// `npm run new:tool -- <name> [--scope resource:read|write] [--title "Title"] [--root <dir>]`
// Writes tools/<name>.ts and test/tools/<name>.test.ts from the templates beside this script.
// Nothing else needs editing: the registry loads every file in tools/ at start-up.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
// A tool name is also a file name: snake_case, within MCP's 1–128 of [A-Za-z0-9_.-].
const NAME = /^[a-z][a-z0-9_]{0,62}$/
const SCOPE = /^[a-z][a-z0-9_-]*:(read|write)$/

function fail (message) {
  process.stderr.write(`new:tool: ${message}\n`)
  process.exit(1)
}

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      scope: { type: 'string', default: 'account:read' },
      title: { type: 'string' },
      root: { type: 'string', default: join(here, '..') }
    }
  })
} catch (err) {
  fail(err.message)
}
const { positionals, values } = parsed
if (positionals.length !== 1) fail('usage: npm run new:tool -- <name> [--scope resource:read] [--title "Title"]')
const [name] = positionals
if (!NAME.test(name)) fail(`"${name}" is not a tool name: use snake_case (a-z, 0-9, _), starting with a letter, like get_widgets`)
if (!SCOPE.test(values.scope)) fail(`"${values.scope}" is not a scope: use "resource:read" or "resource:write"`)
const title = values.title ?? name.split('_').map((w, i) => i === 0 ? w[0].toUpperCase() + w.slice(1) : w).join(' ')
if (/['\\\n]/.test(title)) fail('the title may not contain quotes, backslashes or newlines')

const root = resolve(values.root)
const toolFile = join(root, 'tools', `${name}.ts`)
const testFile = join(root, 'test', 'tools', `${name}.test.ts`)
for (const file of [toolFile, testFile]) {
  if (existsSync(file)) fail(`${relative(process.cwd(), file)} already exists; pick another name or edit that file`)
}
// The file name is ours to choose, the tool name is what counts: refuse one another file declares.
const toolsDir = join(root, 'tools')
if (existsSync(toolsDir)) {
  const declared = new RegExp(`\\bname:\\s*['"]${name}['"]`)
  for (const file of readdirSync(toolsDir)) {
    if (file.endsWith('.ts') && declared.test(readFileSync(join(toolsDir, file), 'utf8'))) {
      fail(`tools/${file} already declares a tool named "${name}"`)
    }
  }
}

function render (template) {
  return readFileSync(join(here, 'templates', template), 'utf8')
    .replaceAll('__NAME__', name)
    .replaceAll('__TITLE__', title)
    .replaceAll('__SCOPE__', values.scope)
}

for (const [file, template] of [[toolFile, 'tool.ts.tmpl'], [testFile, 'tool.test.ts.tmpl']]) {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, render(template), { flag: 'wx' })
  process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`)
}
process.stdout.write(`next: describe the tool, shape its input and output, then run npx tap ${relative(process.cwd(), testFile)}\n`)
