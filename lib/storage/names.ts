/*
 * How stored things are named, in one place: the rules that check a name (who is a global
 * admin, which organization cannot be deleted, where registration puts clients) and the
 * queries that build or match an id must agree on it.
 */

/** The organization the first start creates: its admins (and its applications) are global admins. */
export const BUILT_IN = 'built-in'

/** Every organization is owned by `admin`: its id is `admin/<name>`. */
export const ORGANIZATION_OWNER = 'admin'

/** The id of a user, application, role or permission: `<organization>/<name>`. */
export function entityId (owner: string, name: string): string {
  return `${owner}/${name}`
}

/** An organization's id, `admin/<name>`. */
export function organizationId (name: string): string {
  return entityId(ORGANIZATION_OWNER, name)
}

/** An organization id (`admin/<name>`) or bare name, as its name. */
export function organizationName (idOrName: string): string {
  const prefix = `${ORGANIZATION_OWNER}/`
  return idOrName.startsWith(prefix) ? idOrName.slice(prefix.length) : idOrName
}

/** The organization part of an `<organization>/<name>` id ('' when there is none). */
export function ownerOf (id: string): string {
  const slash = id.indexOf('/')
  return slash < 0 ? '' : id.slice(0, slash)
}
