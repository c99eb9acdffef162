import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../columns.js'

/** The `roles` table, as Kysely sees it. */
export interface RoleRow {
  id: string
  owner: string
  name: string
  display_name: string
  description: string
  created_at: number
  updated_at: number
}

/** The `user_roles` table: which user holds which role. */
export interface UserRoleRow {
  user_id: string
  role_id: string
  created_at: number
}

/** A role as the repository returns it. */
export interface Role {
  id: string
  owner: string
  name: string
  displayName: string
  description: string
  createdTime: string
  updatedTime: string
}

export function toRole (r: RoleRow): Role {
  return { id: r.id, owner: r.owner, name: r.name, displayName: r.display_name, description: r.description, createdTime: iso(r.created_at), updatedTime: iso(r.updated_at) }
}

export const RoleSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  description: Type.String(),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function roleOut (r: Role): Static<typeof RoleSchema> {
  return { id: r.id, owner: r.owner, name: r.name, displayName: r.displayName, description: r.description, createdTime: r.createdTime, updatedTime: r.updatedTime }
}
