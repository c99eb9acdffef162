import { Type, type Static } from '@sinclair/typebox'
import type { Application } from '../models.js'

/** An application as tools show it: built field by field, never its secret. */
export const ApplicationSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  clientId: Type.String(),
  tokenEndpointAuthMethod: Type.String(),
  redirectUris: Type.Array(Type.String()),
  grantTypes: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  isDisabled: Type.Boolean(),
  isDynamic: Type.Boolean({ description: 'registered through dynamic client registration' }),
  createdTime: Type.String(),
  updatedTime: Type.String()
})
export function applicationOut (a: Application): Static<typeof ApplicationSchema> {
  return {
    id: a.id,
    owner: a.owner,
    name: a.name,
    displayName: a.displayName,
    clientId: a.clientId,
    tokenEndpointAuthMethod: a.tokenEndpointAuthMethod,
    redirectUris: [...a.redirectUris],
    grantTypes: [...a.grantTypes],
    scopes: [...a.scopes],
    isDisabled: a.isDisabled,
    isDynamic: a.isDynamic,
    createdTime: a.createdTime,
    updatedTime: a.updatedTime
  }
}
