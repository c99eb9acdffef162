import { Type, type Static } from '@sinclair/typebox'
import { iso, parseList } from '../columns.js'

/** The `permissions` table, as Kysely sees it. */
export interface PermissionRow {
  id: string
  owner: string
  name: string
  display_name: string
  description: string
  roles: string
  resources: string
  actions: string
  effect: string
  created_at: number
  updated_at: number
}

/** A permission as the repository returns it. */
export interface Permission {
  id: string
  owner: string
  name: string
  displayName: string
  description: string
  roles: string[]
  resources: string[]
  actions: string[]
  effect: 'allow' | 'deny'
  createdTime: string
  updatedTime: string
}

export function toPermission (r: PermissionRow): Permission {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    description: r.description,
    roles: parseList(r.roles),
    resources: parseList(r.resources),
    actions: parseList(r.actions),
    effect: r.effect === 'deny' ? 'deny' : 'allow',
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

export const Effect = Type.Union([Type.Literal('allow'), Type.Literal('deny')])

export const PermissionSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  description: Type.String(),
  roles: Type.Array(Type.String(), { description: 'ids of the roles it applies to' }),
  resources: Type.Array(Type.String()),
  actions: Type.Array(Type.String()),
  effect: Effect,
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function permissionOut (p: Permission): Static<typeof PermissionSchema> {
  return {
    id: p.id,
    owner: p.owner,
    name: p.name,
    displayName: p.displayName,
    description: p.description,
    roles: [...p.roles],
    resources: [...p.resources],
    actions: [...p.actions],
    effect: p.effect,
    createdTime: p.createdTime,
    updatedTime: p.updatedTime
  }
}
