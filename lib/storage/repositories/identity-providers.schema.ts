import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../columns.js'

/** The `identity_providers` table, as Kysely sees it. */
export interface IdentityProviderRow {
  id: string
  owner: string
  name: string
  display_name: string
  /** The `iss` its assertions carry, exactly; one provider per issuer, service-wide. */
  issuer: string
  jwks_uri: string | null
  /** An inline JWK Set (JSON). */
  jwks: string | null
  link_by: string
  provision_users: number
  is_disabled: number
  created_at: number
  updated_at: number
}

/**
 * An enterprise identity provider an organization trusts to vouch for its users (ID-JAGs,
 * draft-ietf-oauth-identity-assertion-authz-grant), as the repository returns it.
 */
export interface IdentityProvider {
  id: string
  owner: string
  name: string
  displayName: string
  issuer: string
  jwksUri: string | null
  jwks: { keys: Array<Record<string, unknown>> } | null
  /** How an assertion finds the local user: its `email` claim, or its `sub` as the user's name. */
  linkBy: 'email' | 'subject'
  /** Whether a missing user is created in the organization. */
  provisionUsers: boolean
  isDisabled: boolean
  createdTime: string
  updatedTime: string
}

export function toIdentityProvider (r: IdentityProviderRow): IdentityProvider {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    displayName: r.display_name,
    issuer: r.issuer,
    jwksUri: r.jwks_uri,
    jwks: r.jwks === null ? null : JSON.parse(r.jwks),
    linkBy: r.link_by === 'subject' ? 'subject' : 'email',
    provisionUsers: r.provision_users === 1,
    isDisabled: r.is_disabled === 1,
    createdTime: iso(r.created_at),
    updatedTime: iso(r.updated_at)
  }
}

export const LinkBy = Type.Union([Type.Literal('email'), Type.Literal('subject')], { description: 'how an assertion finds the local user: "email" (its email claim matches one user of the organization) or "subject" (its sub is the user\'s name)' })

export const IdentityProviderSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  issuer: Type.String(),
  jwksUri: Type.Optional(Type.String()),
  jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
  linkBy: LinkBy,
  provisionUsers: Type.Boolean(),
  isDisabled: Type.Boolean(),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function identityProviderOut (p: IdentityProvider): Static<typeof IdentityProviderSchema> {
  return {
    id: p.id,
    owner: p.owner,
    name: p.name,
    displayName: p.displayName,
    issuer: p.issuer,
    ...(p.jwksUri === null ? {} : { jwksUri: p.jwksUri }),
    ...(p.jwks === null ? {} : { jwks: structuredClone(p.jwks) }),
    linkBy: p.linkBy,
    provisionUsers: p.provisionUsers,
    isDisabled: p.isDisabled,
    createdTime: p.createdTime,
    updatedTime: p.updatedTime
  }
}
