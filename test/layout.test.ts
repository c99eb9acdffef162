import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * The layout's arrows (STYLE.md, "Our layout"), checked over the import graph of the source so
 * they stay true: routes and tools → plugins' decorators → lib; lib never reaches up, never sees
 * Fastify's instance, request or reply; tools speak only through the tool kit; no cycles.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SOURCE_DIRS = ['lib', 'plugins', 'routes', 'tools']
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm

function sourceFiles (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(root, dir))) {
    const path = join(dir, entry)
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path))
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Strips comments, so that a path named in prose is not taken for an import. */
function code (text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

/** The relative imports of a file, resolved to repository paths (`.js` specifiers name `.ts` sources). */
function importsOf (file: string, text: string): string[] {
  const found: string[] = []
  for (const match of code(text).matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3]
    if (spec === undefined || !spec.startsWith('.')) continue
    found.push(relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts'))
  }
  return found
}

const files = ['app.ts', 'server.ts', ...SOURCE_DIRS.flatMap(sourceFiles)].sort()
const texts = new Map(files.map(f => [f, readFileSync(join(root, f), 'utf8')]))
const graph = new Map(files.map(f => [f, importsOf(f, texts.get(f) as string)]))
const layer = (file: string): string => file.includes('/') ? file.slice(0, file.indexOf('/')) : file

/** Every import from a file of layer `from` into one of the layers `into`, as `a → b`. */
function crossings (from: string, into: readonly string[]): string[] {
  return [...graph].filter(([f]) => layer(f) === from)
    .flatMap(([f, deps]) => deps.filter(d => into.includes(layer(d))).map(d => `${f} → ${d}`))
}

t.test('the import parser sees every form of import this code base uses', async t => {
  const text = [
    "import a from './a.js'",
    "import type { B } from '../b/b.js'",
    "import {\n  c,\n  d\n} from './c.js'",
    "export { e } from './e.js'",
    "const f = await import('./f.js')",
    "import './g.js'",
    "// import h from './h.js'",
    "/* import i from './i.js' */",
    "import fastify from 'fastify'"
  ].join('\n')
  t.same(importsOf('lib/x/y.ts', text), ['lib/x/a.ts', 'lib/b/b.ts', 'lib/x/c.ts', 'lib/x/e.ts', 'lib/x/f.ts', 'lib/x/g.ts'])
})

t.test('every relative import names a source file that exists', async t => {
  const missing = [...graph].flatMap(([f, deps]) => deps.filter(d => !texts.has(d) && !d.startsWith('package.json')).map(d => `${f} → ${d}`))
  t.same(missing, [])
})

t.test('lib/ imports nothing from plugins/, routes/ or tools/', async t => {
  t.same(crossings('lib', ['plugins', 'routes', 'tools', 'app.ts', 'server.ts']), [])
})

t.test('lib/ never sees a Fastify instance, request or reply', async t => {
  const offenders = files.filter(f => layer(f) === 'lib' && /\b(FastifyInstance|FastifyRequest|FastifyReply|fastify-plugin)\b/.test(code(texts.get(f) as string)))
  t.same(offenders, [])
})

t.test('plugins/ never import routes/ or tools/', async t => {
  t.same(crossings('plugins', ['routes', 'tools']), [])
})

t.test('routes/ never import tools/ or the tool kit', async t => {
  t.same([...crossings('routes', ['tools']), ...crossings('routes', ['lib']).filter(c => c.includes('lib/tool-kit/'))], [])
})

t.test('tools/ import only the tool kit', async t => {
  t.same([...graph].filter(([f]) => layer(f) === 'tools')
    .flatMap(([f, deps]) => deps.filter(d => !d.startsWith('lib/tool-kit/')).map(d => `${f} → ${d}`)), [])
})

t.test('there is no import cycle', async t => {
  // Depth-first search; each cycle is reported once, from its first file in sorted order.
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  function visit (file: string): void {
    state.set(file, 'open')
    stack.push(file)
    for (const dep of graph.get(file) ?? []) {
      if (!graph.has(dep)) continue
      if (state.get(dep) === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep].join(' → '))
      else if (state.get(dep) === undefined) visit(dep)
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of files) if (state.get(file) === undefined) visit(file)
  t.same(cycles, [])
})
