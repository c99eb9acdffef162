import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../columns.js'

/** The `organizations` table, as Kysely sees it. */
export interface OrganizationRow {
  id: string
  owner: string
  name: string
  display_name: string
  website_url: string
  created_at: number
  updated_at: number
}

/** An organization as the repository returns it. */
export interface Organization {
  id: string
  owner: string
  name: string
  displayName: string
  websiteUrl: string
  createdTime: string
  updatedTime: string
}

export function toOrganization (r: OrganizationRow): Organization {
  return { id: r.id, owner: r.owner, name: r.name, displayName: r.display_name, websiteUrl: r.website_url, createdTime: iso(r.created_at), updatedTime: iso(r.updated_at) }
}

/*
 * What callers see of an entity is built field by field from its schema, so a column the
 * repository adds later never reaches a caller by accident.
 */

export const OrganizationSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  websiteUrl: Type.String(),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function organizationOut (o: Organization): Static<typeof OrganizationSchema> {
  return { id: o.id, owner: o.owner, name: o.name, displayName: o.displayName, websiteUrl: o.websiteUrl, createdTime: o.createdTime, updatedTime: o.updatedTime }
}
