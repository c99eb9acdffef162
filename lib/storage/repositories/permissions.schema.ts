import { Type, type Static } from '@sinclair/typebox'
import type { Permission } from '../models.js'

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
