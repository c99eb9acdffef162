import { test } from 'tap'
import { grantableScopes, mayActForItself, mayRedirectAuthorizeError, missingToChangeApplication } from '../../lib/auth/policy.js'

const TOOL_SCOPES = new Set(['application:read', 'application:write', 'user:read', 'user:write'])
const service = { isDisabled: false, grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'client_secret_basic', isDynamic: false, isMetadataDocument: false, scopes: ['read'] }

test('may an application act for itself', async (t) => {
  t.ok(mayActForItself(service), 'enabled, confidential, pre-registered, with the grant')
  t.notOk(mayActForItself({ ...service, isDisabled: true }), 'disabled')
  t.notOk(mayActForItself({ ...service, grantTypes: ['authorization_code'] }), 'without the client_credentials grant')
  t.notOk(mayActForItself({ ...service, tokenEndpointAuthMethod: 'none' }), 'a public client')
  t.notOk(mayActForItself({ ...service, isDynamic: true }), 'dynamically registered, whatever its grant types say')
  t.notOk(mayActForItself({ ...service, isMetadataDocument: true }), 'a metadata-document client, whatever its grant types say')
})

test('what an application may be granted', async (t) => {
  t.same(grantableScopes(service, TOOL_SCOPES, 'self'), ['application:read', 'user:read'], 'aliases expanded, no OIDC scope')
  t.same(grantableScopes(service, TOOL_SCOPES, 'user'), ['openid', 'profile', 'email', 'application:read', 'user:read'], 'user flows add the OIDC scopes')
  t.same(grantableScopes({ scopes: ['openid', 'nothing:known'] }, TOOL_SCOPES, 'self'), [])
})

test('may a caller change an application', async (t) => {
  t.same(missingToChangeApplication(null, { scopes: ['admin'] }, TOOL_SCOPES), [], 'a login session: its role decides')
  t.same(missingToChangeApplication(new Set(['application:write']), { scopes: ['write'] }, TOOL_SCOPES), ['user:write'])
  t.same(missingToChangeApplication(new Set(['user:read']), { scopes: ['user:read', 'openid'] }, TOOL_SCOPES), [], 'OIDC scopes are not the caller\'s to hold')
})

test('may an authorization error be redirected', async (t) => {
  t.ok(mayRedirectAuthorizeError({ isDynamic: false, isMetadataDocument: false }, false), 'a pre-registered application')
  t.notOk(mayRedirectAuthorizeError({ isDynamic: true, isMetadataDocument: false }, false), 'a registered client, before any page of ours')
  t.ok(mayRedirectAuthorizeError({ isDynamic: true, isMetadataDocument: false }, true), 'a registered client, after the person saw our page')
  t.notOk(mayRedirectAuthorizeError({ isDynamic: false, isMetadataDocument: true }, false), 'a metadata-document client, before any page of ours')
  t.ok(mayRedirectAuthorizeError({ isDynamic: false, isMetadataDocument: true }, true), 'a metadata-document client, after the person saw our page')
})
