import { Type, type Static } from '@sinclair/typebox'
import { iso, parseList } from '../columns.js'

/** The `connections` table, as Kysely sees it. */
export interface ConnectionRow {
  id: string
  owner: string
  name: string
  display_name: string
  audience: string
  resource: string
  scopes: string
  clients: string
  target_client_id: string
  created_at: number
  updated_at: number
}

/**
 * Which MCP server (an authorization server `audience` and its `resource`) an organization's
 * users may reach through this service as their identity provider, with which scopes at most,
 * from which of its applications: the policy behind each ID-JAG this service issues.
 */
export interface Connection {
  id: string
  owner: string
  name: string
  displayName: string
  /** The target authorization server's issuer: the ID-JAG's `aud`. */
  audience: string
  /** The target MCP server: the ID-JAG's `resource`. */
  resource: string
  /** The most an ID-JAG may carry; a wider request is narrowed to these. */
  scopes: string[]
  /** Ids of the applications here that may ask; empty = any of the organization's. */
  clients: string[]
  /** The requesting client's id at the target authorization server (the ID-JAG's `client_id`). */
  targetClientId: string
  createdTime: string
  updatedTime: string
}

export function toConnection (r: ConnectionRow): Connection {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    audience: r.audience,
    resource: r.resource,
    scopes: parseList(r.scopes),
    clients: parseList(r.clients),
    targetClientId: r.target_client_id,
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

export const ConnectionSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  audience: Type.String({ description: 'the target authorization server\'s issuer' }),
  resource: Type.String({ description: 'the target MCP server' }),
  scopes: Type.Array(Type.String(), { description: 'the most an assertion may carry' }),
  clients: Type.Array(Type.String(), { description: 'ids of the applications that may ask; empty = any of the organization\'s' }),
  targetClientId: Type.String({ description: 'the requesting client\'s id at the target authorization server' }),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function connectionOut (c: Connection): Static<typeof ConnectionSchema> {
  return {
    id: c.id,
    owner: c.owner,
    name: c.name,
    displayName: c.displayName,
    audience: c.audience,
    resource: c.resource,
    scopes: [...c.scopes],
    clients: [...c.clients],
    targetClientId: c.targetClientId,
    createdTime: c.createdTime,
    updatedTime: c.updatedTime
  }
}
