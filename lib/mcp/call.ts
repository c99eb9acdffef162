import type { TObject } from '@sinclair/typebox'
import type { TypeCheck } from '@sinclair/typebox/compiler'
import type { AppConfig } from '../config.js'
import type { Log } from '../logger.js'
import type { Principal } from '../principal.js'
import { hasAllScopes, sortScopes } from '../scopes.js'
import type { Store } from '../storage/store.js'
import { StoreError, isUnavailable } from '../storage/errors.js'
import { ToolError, type ToolDefinition, type ToolServices } from '../tool-kit/tool.js'
import type { ReadCache } from './read-cache.js'
import { findBadText } from '../bad-text.js'

/** What `tools/call` needs to know about a registered tool. */
export interface CallableTool {
  definition: ToolDefinition
  input: TypeCheck<TObject>
  output: TypeCheck<TObject>
}

/** MCP's `CallToolResult`, as far as we produce it. */
export interface CallToolResult {
  content: Array<{ type: 'text', text: string }>
  structuredContent?: Record<string, unknown>
  isError?: boolean
}

/**
 * How a call ended, for the endpoint to frame:
 * - `result`: a result (HTTP 200), possibly with `isError` (bad arguments, the tool's own failure);
 * - `unknown_tool`: -32602;
 * - `denied`: the caller lacks a scope the tool requires (HTTP 403, insufficient_scope);
 * - `failed`: unexpected (-32603, HTTP 500) or the database is unavailable (HTTP 503).
 */
export type CallOutcome =
  | { kind: 'result', result: CallToolResult, /** the result's JSON, when already made */ json?: string }
  | { kind: 'unknown_tool', name: string }
  | { kind: 'denied', tool: string, required: string[], granted: string[] }
  | { kind: 'failed', unavailable: boolean }

export type AuditOutcome = 'success' | 'error' | 'denied'

export interface CallDependencies {
  get: (name: string) => CallableTool | undefined
  store: Store
  config: AppConfig
  services: ToolServices
  knownScopes: ReadonlySet<string>
  /** Called once per call, after it ended. */
  audit: (entry: { principal: Principal, tool: string, at: number, durationMs: number, outcome: AuditOutcome, args: unknown, error: string }) => void
  /** Counts calls by tool and outcome (`success`, `error`, `denied`, `failed`, `unknown`). */
  count: (tool: string, outcome: string) => void
  /** Results of `cacheable` tools (lib/mcp/read-cache.ts); absent or disabled: none kept. */
  cache?: ReadCache<CallToolResult>
}

/**
 * A successful result and its JSON, made once: the text content is the JSON of the
 * structured content (for clients that read only text, as MCP asks), which is spliced in
 * rather than serialized a second time.
 */
function successResult (output: Record<string, unknown>): { result: CallToolResult, json: string } {
  const text = JSON.stringify(output)
  return {
    result: { content: [{ type: 'text', text }], structuredContent: output },
    json: `{"content":[{"type":"text","text":${JSON.stringify(text)}}],"structuredContent":${text}}`
  }
}

function errorResult (message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true }
}

/**
 * The one `tools/call` path (the endpoint and the tests' `callTool` both use it), after
 * authentication: scope, then argument validation, then the handler — a caller without the
 * scope learns nothing about the tool's schema. Object permissions are the handler's business.
 */
export async function callTool (deps: CallDependencies, principal: Principal, name: string, args: Record<string, unknown>, log: Log): Promise<CallOutcome> {
  const at = Date.now()
  const started = performance.now()
  const tool = deps.get(name)
  if (tool === undefined) {
    deps.count('(unknown)', 'unknown')
    deps.audit({ principal, tool: name.slice(0, 128), at, durationMs: 0, outcome: 'error', args, error: 'unknown tool' })
    return { kind: 'unknown_tool', name }
  }
  const { definition } = tool

  const finish = (outcome: AuditOutcome, metric: string, error: string): void => {
    deps.count(definition.name, metric)
    deps.audit({ principal, tool: definition.name, at, durationMs: Math.round((performance.now() - started) * 1000) / 1000, outcome, args, error })
  }

  if (principal.scopes !== null && !hasAllScopes(principal.scopes, definition.scopes)) {
    finish('denied', 'denied', 'insufficient_scope')
    return { kind: 'denied', tool: definition.name, required: sortScopes(definition.scopes), granted: sortScopes(principal.scopes) }
  }

  if (!tool.input.Check(args)) {
    const first = tool.input.Errors(args).First()
    const message = `invalid arguments: ${first === undefined ? 'do not match the input schema' : `${first.path === '' ? '/' : first.path}: ${first.message}`}`
    finish('error', 'error', message)
    return { kind: 'result', result: errorResult(message) }
  }
  // Text no engine stores faithfully (U+0000 fails on PostgreSQL only): refused on both alike.
  const bad = findBadText(args)
  if (bad !== undefined) {
    const message = `invalid arguments: ${bad === '' ? '/' : bad}: holds U+0000 or an unpaired surrogate`
    finish('error', 'error', message)
    return { kind: 'result', result: errorResult(message) }
  }

  // A cacheable read asked again before anything changed: the same answer, still audited.
  const cache = definition.cacheable === true && deps.cache?.enabled === true ? deps.cache : undefined
  const key = cache?.key(definition.name, principal, args)
  const generation = deps.store.generation
  if (cache !== undefined && key !== undefined) {
    const hit = cache.get(key, generation)
    if (hit !== undefined) {
      finish('success', 'success', '')
      return { kind: 'result', result: hit.result, json: hit.json }
    }
  }

  let output: unknown
  try {
    output = await definition.handler(args as never, { principal, store: deps.store, services: deps.services, knownScopes: deps.knownScopes, config: deps.config, log })
    // A write is answered only once it is on stable storage (SQLite: one WAL fsync shared by
    // concurrent writers, lib/storage/db.ts).
    if (definition.annotations.readOnlyHint !== true) await deps.store.durable()
  } catch (err) {
    if (err instanceof ToolError || (err instanceof StoreError && err.code !== 'unavailable')) {
      finish('error', 'error', err.message)
      return { kind: 'result', result: errorResult(err.message) }
    }
    const unavailable = isUnavailable(err)
    if (unavailable) log.error({ err, tool: definition.name }, 'tool call failed: database unavailable')
    else log.error({ err, tool: definition.name }, 'tool call failed')
    finish('error', 'failed', unavailable ? 'database unavailable' : 'internal error')
    return { kind: 'failed', unavailable }
  }

  if (!tool.output.Check(output)) {
    // A result that breaks the tool's own promise is a bug: show nothing of it.
    const first = tool.output.Errors(output).First()
    log.error({ tool: definition.name, path: first?.path, problem: first?.message }, 'tool result does not match its output schema')
    finish('error', 'failed', 'internal error')
    return { kind: 'failed', unavailable: false }
  }

  finish('success', 'success', '')
  const success = successResult(output as Record<string, unknown>)
  // Kept only if nothing was written while it was read.
  if (cache !== undefined && key !== undefined && deps.store.generation === generation) cache.set(key, success, generation)
  return { kind: 'result', ...success }
}
