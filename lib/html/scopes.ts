import { OIDC_SCOPES } from '../scopes.js'

/** What each resource is called in a sentence a person reads on the consent page. */
const RESOURCE_WORDS: Record<string, string> = {
  organization: 'organizations',
  user: 'users and their profiles',
  application: 'applications (OAuth clients)',
  role: 'roles and role assignments',
  permission: 'permissions',
  token: 'issued access tokens',
  session: 'sign-in sessions',
  key: 'signing keys',
  audit: 'the audit log',
  account: 'your own account details'
}

const OIDC_WORDS: Record<string, string> = {
  openid: 'Confirm who you are (your user id)',
  profile: 'See your name and user name',
  email: 'See your email address'
}

/** A consent line for one scope, in plain words. */
export function describeScope (scope: string): string {
  const oidc = OIDC_WORDS[scope]
  if (oidc !== undefined) return oidc
  const [resource, action] = scope.split(':')
  const words = RESOURCE_WORDS[resource] ?? resource.replace(/[_-]/g, ' ')
  if (action === 'read') return `See ${words}`
  if (action === 'write') return `Create, change and delete ${words}`
  return scope
}

/** Whether a scope is about who the person is rather than what the client may manage. */
export function isIdentityScope (scope: string): boolean {
  return (OIDC_SCOPES as readonly string[]).includes(scope)
}
