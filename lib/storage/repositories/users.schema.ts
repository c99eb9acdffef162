import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../columns.js'

/** The `users` table, as Kysely sees it. */
export interface UserRow {
  id: string
  owner: string
  name: string
  /** NFKC + case-folded name: unique per organization, so look-alikes conflict. */
  name_key: string
  display_name: string
  email: string
  phone: string
  password_hash: string | null
  is_admin: number
  is_forbidden: number
  created_at: number
  updated_at: number
}

/** A user as the repository returns it: never the password hash. */
export interface User {
  id: string
  owner: string
  name: string
  displayName: string
  email: string
  phone: string
  isAdmin: boolean
  isForbidden: boolean
  hasPassword: boolean
  createdTime: string
  updatedTime: string
}

export function toUser (r: UserRow): User {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    email: r.email,
    phone: r.phone,
    isAdmin: r.is_admin === 1,
    isForbidden: r.is_forbidden === 1,
    hasPassword: r.password_hash !== null,
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

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
