import type { FastifyInstance } from 'fastify'
import type { Principal } from '../lib/principal.js'
import type { CallOutcome, CallToolResult } from '../lib/mcp/call.js'
import { ADMIN } from './helper.js'

/**
 * Who a tool test calls as. Defaults: the bootstrap global admin (`built-in/admin`), acting
 * through a token that holds every scope the loaded tools declare. Override what the test is
 * about: `scopes` (a list, or `null` for an unrestricted session), `id`, `organization`,
 * `isAdmin`, `kind`…
 */
export interface PrincipalOptions extends Partial<Omit<Principal, 'scopes'>> {
  scopes?: readonly string[] | null
}

export function principalFor (app: FastifyInstance, options: PrincipalOptions = {}): Principal {
  const { scopes, ...rest } = options
  const [idOwner, idName] = rest.id?.split('/') ?? []
  const organization = rest.organization ?? idOwner ?? 'built-in'
  const name = rest.name ?? idName ?? ADMIN.username
  const kind = rest.kind ?? 'user'
  // Only the default principal (the bootstrap admin) is an admin unless told otherwise.
  const isAdmin = rest.isAdmin ?? (kind === 'user' && rest.id === undefined && rest.name === undefined && rest.organization === undefined)
  return {
    kind,
    id: `${organization}/${name}`,
    organization,
    name,
    isAdmin,
    isGlobalAdmin: organization === 'built-in' && (kind === 'application' || isAdmin),
    clientId: kind === 'application' ? `${name}-client` : 'test-client',
    via: 'test',
    ...rest,
    scopes: scopes === null ? null : new Set(scopes ?? app.tools.scopes)
  }
}

function isPrincipal (value: Principal | PrincipalOptions): value is Principal {
  return typeof value.via === 'string' && typeof value.id === 'string' && (value.scopes === null || value.scopes instanceof Set)
}

/** What a tool call came to, with the parts tests look at most. */
export interface ToolCallReply {
  outcome: CallOutcome
  /** The result (for `outcome.kind === 'result'`). */
  result?: CallToolResult
  isError: boolean
  /** The handler's object (a successful call). */
  structured?: Record<string, unknown>
  /** The first text block: the JSON of the result, or the error message. */
  text?: string
}

/**
 * Calls a tool exactly as `POST /api/mcp` `tools/call` does after authentication — scope
 * check, argument validation, handler, audit, metrics — as the given principal (or one built
 * from `PrincipalOptions`).
 */
export async function callTool (app: FastifyInstance, name: string, args: Record<string, unknown> = {}, as: Principal | PrincipalOptions = {}): Promise<ToolCallReply> {
  const principal = isPrincipal(as) ? as : principalFor(app, as)
  const outcome = await app.callTool(principal, name, args)
  if (outcome.kind !== 'result') return { outcome, isError: true }
  const { result } = outcome
  return { outcome, result, isError: result.isError === true, structured: result.structuredContent, text: result.content[0]?.text }
}
