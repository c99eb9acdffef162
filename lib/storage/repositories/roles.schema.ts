import { Type, type Static } from '@sinclair/typebox'
import type { Role } from '../models.js'

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
