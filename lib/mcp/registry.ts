import { readdir } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { TObject } from '@sinclair/typebox'
import type { AppConfig } from '../config.js'
import type { Log } from '../logger.js'
import type { Principal } from '../principal.js'
import { SCOPE_PATTERN, hasAllScopes } from '../scopes.js'
import type { Store } from '../storage/store.js'
import type { ToolDefinition, ToolServices } from '../tool-kit/tool.js'
import { redactSecrets, type AuditRecord } from './audit.js'
import { callTool, type CallDependencies, type CallOutcome, type CallToolResult } from './call.js'
import { ToolListPages } from './list.js'
import { ReadCache } from './read-cache.js'

/** A tool as the registry keeps it: its definition, compiled validator and `tools/list` entry. */
export interface RegisteredTool {
  definition: ToolDefinition
  /** The tool's `tools/list` entry, computed once. */
  descriptor: ToolDescriptor
  input: TypeCheck<TObject>
  output: TypeCheck<TObject>
  /** Where it was loaded from, for messages. */
  file: string
}

export interface ToolDescriptor {
  name: string
  title: string
  description: string
  inputSchema: Record<string, unknown>
  outputSchema: Record<string, unknown>
  annotations: Record<string, unknown>
}

export interface ToolRegistry {
  /** Every tool, sorted by name. */
  readonly all: readonly RegisteredTool[]
  /** Every scope some tool declares: the known scopes. */
  readonly scopes: ReadonlySet<string>
  get: (name: string) => RegisteredTool | undefined
  /** The tools a caller with these (expanded) scopes may see; `null` = unrestricted. */
  visibleTo: (scopes: ReadonlySet<string> | null) => readonly RegisteredTool[]
  /**
   * The whole `tools/list` answer to request `id` (`{"jsonrpc":"2.0","id":…,"result":{"tools":
   * […],"nextCursor"?}}`, UTF-8) for these scopes and cursor; undefined when the cursor is not
   * one we gave out. `members` (serialized) are added to the result, and cached with the page.
   */
  listAnswer: (scopes: ReadonlySet<string> | null, cursor: string | undefined, id: string | number, members?: string) => Buffer | undefined
}

/** Calls a tool as `principal`: scope, arguments, handler, audit, metrics (lib/mcp/call.ts). */
export type ToolCaller = (principal: Principal, name: string, args: Record<string, unknown>, log?: Log) => Promise<CallOutcome>

const NAME = /^[A-Za-z0-9_.-]{1,128}$/
/** Load `.ts` modules when running from source (tests, tsx), `.js` when compiled. */
const moduleExt = extname(fileURLToPath(import.meta.url)) === '.ts' ? '.ts' : '.js'

export class ToolLoadError extends Error {
  constructor (file: string, problem: string) {
    super(`tool module ${file}: ${problem}`)
    this.name = 'ToolLoadError'
  }
}

function check (file: string, value: unknown): ToolDefinition {
  const def = value as Partial<ToolDefinition> | undefined
  if (def === undefined || def === null || typeof def !== 'object') throw new ToolLoadError(file, 'has no default export (export default defineTool({...}))')
  if (typeof def.name !== 'string' || !NAME.test(def.name)) throw new ToolLoadError(file, `name ${JSON.stringify(def.name)} must be 1-128 of [A-Za-z0-9_.-]`)
  if (typeof def.title !== 'string' || def.title === '') throw new ToolLoadError(file, 'title must be a non-empty string')
  if (typeof def.description !== 'string' || def.description === '') throw new ToolLoadError(file, 'description must be a non-empty string')
  if (!Array.isArray(def.scopes) || def.scopes.length === 0) throw new ToolLoadError(file, 'declares no scopes: every tool needs at least one')
  for (const scope of def.scopes) {
    if (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope)) throw new ToolLoadError(file, `scope ${JSON.stringify(scope)} must look like "resource:read" or "resource:write"`)
  }
  for (const key of ['input', 'output'] as const) {
    const schema = def[key] as { type?: unknown } | undefined
    if (schema === undefined || schema === null || typeof schema !== 'object' || schema.type !== 'object') {
      throw new ToolLoadError(file, `${key} must be a TypeBox object schema (Type.Object)`)
    }
  }
  if (def.annotations === undefined || typeof def.annotations !== 'object') throw new ToolLoadError(file, 'annotations must be an object')
  if (typeof def.handler !== 'function') throw new ToolLoadError(file, 'handler must be an async function')
  if (def.cacheable !== undefined && typeof def.cacheable !== 'boolean') throw new ToolLoadError(file, 'cacheable must be a boolean')
  if (def.cacheable === true && def.annotations.readOnlyHint !== true) {
    throw new ToolLoadError(file, 'cacheable: true is only for read-only tools (annotations.readOnlyHint: true)')
  }
  return def as ToolDefinition
}

/** Plain JSON Schema: TypeBox's symbols and functions do not belong on the wire. */
function jsonSchema (schema: TObject): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema))
}

export async function loadTools (dir: string): Promise<RegisteredTool[]> {
  let files: string[]
  try {
    files = (await readdir(dir)).filter(f => f.endsWith(moduleExt) && !f.endsWith('.d.ts') && !/\.test\.[jt]s$/.test(f)).sort()
  } catch (err) {
    throw new ToolLoadError(dir, `cannot read the tools folder: ${(err as Error).message}`)
  }
  const tools: RegisteredTool[] = []
  const names = new Map<string, string>()
  for (const file of files) {
    const path = join(dir, file)
    let mod: { default?: unknown }
    try {
      mod = await import(pathToFileURL(path).href)
    } catch (err) {
      throw new ToolLoadError(path, `cannot be loaded: ${(err as Error).message}`)
    }
    const definition = check(path, mod.default)
    const clash = names.get(definition.name)
    if (clash !== undefined) throw new ToolLoadError(path, `duplicate tool name "${definition.name}" (also in ${clash})`)
    names.set(definition.name, path)
    let input: TypeCheck<TObject>
    let output: TypeCheck<TObject>
    try {
      input = TypeCompiler.Compile(definition.input)
      output = TypeCompiler.Compile(definition.output)
    } catch (err) {
      throw new ToolLoadError(path, `has a schema that does not compile: ${(err as Error).message}`)
    }
    tools.push({
      definition,
      input,
      output,
      file: path,
      descriptor: {
        name: definition.name,
        title: definition.title,
        description: definition.description,
        inputSchema: jsonSchema(definition.input),
        outputSchema: jsonSchema(definition.output),
        annotations: { title: definition.title, ...definition.annotations }
      }
    })
  }
  return tools.sort((a, b) => a.definition.name < b.definition.name ? -1 : 1)
}

export function createRegistry (tools: RegisteredTool[]): ToolRegistry {
  const byName = new Map(tools.map(t => [t.definition.name, t]))
  const scopes = new Set(tools.flatMap(t => t.definition.scopes))
  // The visible list depends only on the scope set: compute it once per distinct set, and
  // remember it per Set object too, so a principal whose scopes are cached costs one lookup.
  const visible = new Map<string, readonly RegisteredTool[]>()
  const bySet = new WeakMap<ReadonlySet<string>, readonly RegisteredTool[]>()
  const pages = new ToolListPages<RegisteredTool>()
  function visibleTo (granted: ReadonlySet<string> | null): readonly RegisteredTool[] {
    if (granted === null) return tools
    let list = bySet.get(granted)
    if (list !== undefined) return list
    const key = [...granted].sort().join(' ')
    list = visible.get(key)
    if (list === undefined) {
      list = tools.filter(t => hasAllScopes(granted, t.definition.scopes))
      if (visible.size > 1000) visible.clear()
      visible.set(key, list)
    }
    bySet.set(granted, list)
    return list
  }
  return {
    all: tools,
    scopes,
    get: (name) => byName.get(name),
    visibleTo,
    listAnswer: (granted, cursor, id, members) => pages.answer(visibleTo(granted), cursor, id, members)
  }
}

/** What a tool call reaches besides the registry: built once, shared by every call. */
export interface ToolCallerOptions {
  registry: ToolRegistry
  store: Store
  config: AppConfig
  services: ToolServices
  /** Takes each call's audit event (the audit log's `record`); arguments arrive redacted. */
  audit: (event: AuditRecord) => void
  /** Counts calls by tool and outcome (the `mcp_tool_calls_total` metric). */
  count: (tool: string, outcome: string) => void
  /** The kind of the client with this client id (lib/auth/policy.ts `clientKind`), '' when not known. */
  clientKind?: (clientId: string) => string
  /** For calls made without a logger of their own (tests, scripts). */
  log: Log
}

/** The one way to call a registered tool: lib/mcp/call.ts over the registry, the audit log and a read cache. */
export function createToolCaller (options: ToolCallerOptions): ToolCaller {
  const { registry, audit, log: defaultLog } = options
  const deps: CallDependencies = {
    get: registry.get,
    store: options.store,
    config: options.config,
    services: options.services,
    knownScopes: registry.scopes,
    audit: (entry) => {
      audit({
        at: entry.at,
        principal: entry.principal.id,
        principalKind: entry.principal.kind,
        organization: entry.principal.organization,
        clientId: entry.principal.clientId ?? '',
        clientKind: entry.principal.clientId === null ? '' : options.clientKind?.(entry.principal.clientId) ?? '',
        provider: entry.principal.provider?.id ?? '',
        externalSubject: entry.principal.provider?.subject ?? '',
        tool: entry.tool,
        outcome: entry.outcome,
        durationMs: entry.durationMs,
        arguments: redactSecrets(entry.args),
        error: entry.error
      })
    },
    count: options.count,
    cache: new ReadCache<CallToolResult>(options.config.READ_CACHE_TTL)
  }
  return function callRegisteredTool (principal, name, args, log = defaultLog) {
    return callTool(deps, principal, name, args, log)
  }
}
