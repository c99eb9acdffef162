import { Type, type Static } from '@sinclair/typebox'
import type { User } from '../models.js'

/** A user as tools and the login API show it: built field by field, never the password hash. */
export const UserSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  email: Type.String(),
  phone: Type.String(),
  isAdmin: Type.Boolean(),
  isForbidden: Type.Boolean(),
  hasPassword: Type.Boolean({ description: 'whether a password is set (the password itself is never shown)' }),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function userOut (u: User): Static<typeof UserSchema> {
  return { id: u.id, owner: u.owner, name: u.name, displayName: u.displayName, email: u.email, phone: u.phone, isAdmin: u.isAdmin, isForbidden: u.isForbidden, hasPassword: u.hasPassword, createdTime: u.createdTime, updatedTime: u.updatedTime }
}
