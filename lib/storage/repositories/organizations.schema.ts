import { Type, type Static } from '@sinclair/typebox'
import type { Organization } from '../models.js'

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
