import type { Static, TObject } from '@sinclair/typebox'
import type { AppConfig } from '../config.js'
import type { Log } from '../logger.js'
import type { Principal } from '../principal.js'
import type { Store } from '../storage/store.js'
import type { SigningKeyInfo } from '../storage/repositories/signing-keys.schema.js'

export type { SigningKeyInfo }

/**
 * What one file in `tools/` exports (as its default export, through `defineTool`). The
 * registry lists it for callers holding every scope in `scopes`, validates arguments against
 * `input`, and turns the handler's result into MCP content and `structuredContent`.
 */
export interface ToolDefinition<I extends TObject = TObject, O extends TObject = TObject> {
  /** MCP tool name: 1–128 of `[A-Za-z0-9_.-]`, unique. */
  name: string
  title: string
  description: string
  /** Every scope a caller must hold (`resource:read` / `resource:write`); at least one. */
  scopes: readonly string[]
  input: I
  output: O
  annotations: ToolAnnotations
  /**
   * The result depends only on the caller, the arguments and the data tools manage — not on
   * the clock, tokens, sessions or the audit log — so a repeated call may be answered from
   * memory until the store is written to (and for at most READ_CACHE_TTL ms; every call is
   * still audited). Only for tools with `readOnlyHint: true`.
   */
  cacheable?: boolean
  handler: (input: Static<I>, context: ToolContext) => Promise<Static<O>>
}

export interface ToolAnnotations {
  readOnlyHint?: boolean
  destructiveHint?: boolean
  idempotentHint?: boolean
  openWorldHint?: boolean
}

/** Services a tool may use besides the store; tools never talk HTTP. */
export interface ToolServices {
  signingKeys: {
    list: () => Promise<SigningKeyInfo[]>
    /** Makes a new current key; the old ones stay in the JWKS until their tokens expire. */
    rotate: () => Promise<SigningKeyInfo>
  }
}

export interface ToolContext {
  principal: Principal
  store: Store
  services: ToolServices
  /** Every scope some tool declares (the registry's one list), for tools that reason about scopes. */
  knownScopes: ReadonlySet<string>
  config: AppConfig
  log: Log
}

/**
 * A failure the caller should see: the registry answers it as a result with `isError: true`
 * and this message. Anything else thrown is an internal error whose message is not shown.
 */
export class ToolError extends Error {
  readonly kind: 'not_found' | 'conflict' | 'forbidden' | 'invalid'
  constructor (kind: ToolError['kind'], message: string) {
    super(message)
    this.name = 'ToolError'
    this.kind = kind
  }
}

/** Identity function that gives a tool module its types. */
export function defineTool<I extends TObject, O extends TObject> (definition: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return definition
}
