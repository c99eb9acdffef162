import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose'
import type { GrantContext, GrantHandler } from './types.js'
import type { IdentityProvider } from '../../storage/models.js'
import type { User } from '../../storage/models.js'
import { OAuthError } from '../errors.js'
import { audienceFor } from '../resource.js'
import { expandScopes, parseScope, sortScopes } from '../../scopes.js'
import { grantableScopes } from '../../auth/policy.js'
import { ASSERTION_ALGORITHMS, KeySetError } from '../../net/key-sets.js'
import { ACCEPTED_ID_JAG_MAX_TTL_S, ASSERTION_CLOCK_TOLERANCE_S, isIdJagTyp } from '../id-jag.js'
import { StoreError } from '../../storage/errors.js'
import { EMAIL_PATTERN, USER_NAME_PATTERN } from '../../tool-kit/arguments.js'

const USER_NAME = new RegExp(USER_NAME_PATTERN, 'u')
const EMAIL = new RegExp(EMAIL_PATTERN, 'u')

const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description)

/**
 * RFC 7523 §2.1 with the ID-JAG profile: an enterprise identity provider this organization trusts
 * vouches for one of its users, for this client and this MCP server; the client gets an access
 * token for that user without a consent page. Every check the draft and DESIGN.md list, in the
 * order that leaks least: the client, the assertion's shape, its issuer (never ourselves), the
 * provider, the signature, the claims, one use, the user, the scope.
 */
export const jwtBearerGrant: GrantHandler = async (context) => {
  const { client, clientAuthMethod, params, base, store, knownScopes, tokens } = context
  if (clientAuthMethod === 'none') throw new OAuthError('invalid_client', 'the JWT bearer grant is for confidential clients: authenticate the client', 401)
  const assertion = params.assertion
  if (assertion === undefined || assertion === '') throw new OAuthError('invalid_request', 'assertion is required')

  let header: ReturnType<typeof decodeProtectedHeader>
  let unverified: JWTPayload
  try {
    header = decodeProtectedHeader(assertion)
    unverified = decodeJwt(assertion)
  } catch {
    throw invalidGrant('the assertion is not a JWT')
  }
  if (!isIdJagTyp(header.typ)) throw invalidGrant('the assertion is not an identity assertion grant (typ must be oauth-id-jag+jwt)')
  if (typeof unverified.iss !== 'string') throw invalidGrant('the assertion has no issuer')
  if (sameIssuer(unverified.iss, base)) throw invalidGrant('this service does not accept its own identity assertions: present one from the enterprise identity provider')

  const provider = await store.identityProviders.findByIssuer(unverified.iss)
  if (provider === undefined) throw invalidGrant('the assertion\'s issuer is not a trusted identity provider')
  if (provider.isDisabled) throw invalidGrant('the assertion\'s identity provider is disabled')

  const claims = await verify(context, provider, assertion)
  if (claims.client_id !== client.clientId) throw invalidGrant('the assertion was issued for another client (client_id)')
  if (typeof claims.jti !== 'string' || claims.jti === '') throw invalidGrant('the assertion has no jti')
  if (typeof claims.sub !== 'string' || claims.sub === '') throw invalidGrant('the assertion has no subject')
  const exp = claims.exp as number
  const iat = claims.iat as number
  if (exp - iat > ACCEPTED_ID_JAG_MAX_TTL_S) throw invalidGrant(`the assertion lives longer than ${ACCEPTED_ID_JAG_MAX_TTL_S / 60} minutes`)
  const resource = typeof claims.resource === 'string' ? claims.resource : undefined
  if (resource === undefined) throw invalidGrant('the assertion names no resource')
  let audience: string
  try {
    audience = audienceFor(base, resource)
  } catch {
    throw new OAuthError('invalid_target', 'the assertion\'s resource is not served by this authorization server')
  }
  if (context.resources.length > 0 && audienceFor(base, [...context.resources]) !== audience) {
    throw new OAuthError('invalid_target', 'the resource parameter differs from the assertion\'s resource')
  }

  const user = await linkedUser(context, provider, claims)
  if (user.isForbidden) throw invalidGrant('the linked user is forbidden')

  // Requested ∩ asserted ∩ what the client may be granted; no request means what was asserted.
  const asserted = new Set(expandScopes(parseScope(typeof claims.scope === 'string' ? claims.scope : undefined), knownScopes))
  const allowed = new Set(grantableScopes(client, knownScopes, 'user'))
  const requested = params.scope === undefined ? [...asserted] : expandScopes(parseScope(params.scope), knownScopes)
  const granted = sortScopes(requested.filter(s => asserted.has(s) && allowed.has(s)))
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'no requested scope is both asserted by the identity provider and allowed to this client')

  // Single use last: a refusal above leaves the assertion usable once the cause is fixed.
  if (!await store.usedValues.claim('id_jag', `${provider.issuer} ${claims.jti}`, exp * 1000)) {
    throw invalidGrant('the assertion was already used')
  }
  context.log.info({ provider: provider.id, externalSubject: claims.sub, user: user.id, clientId: client.clientId }, 'identity assertion accepted')
  return await tokens.issue({
    subject: user.id,
    subjectKind: 'user',
    clientId: client.clientId,
    scopes: granted,
    audience,
    issuer: base,
    provider: { id: provider.id, subject: claims.sub }
  })
}

function sameIssuer (a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
}

async function verify ({ enterprise, base }: GrantContext, provider: IdentityProvider, assertion: string): Promise<JWTPayload> {
  const verifyWith = async (refresh: boolean): Promise<JWTPayload> => {
    const keys = await enterprise.keySets.keys(provider, { refresh })
    const { payload } = await jwtVerify(assertion, createLocalJWKSet(keys), {
      algorithms: [...ASSERTION_ALGORITHMS],
      issuer: provider.issuer,
      audience: [base, `${base}/`],
      clockTolerance: ASSERTION_CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      maxTokenAge: `${ACCEPTED_ID_JAG_MAX_TTL_S + ASSERTION_CLOCK_TOLERANCE_S}s`
    })
    return payload
  }
  try {
    try {
      return await verifyWith(false)
    } catch (err) {
      // A key the cached set lacks may be a rotation: fetch again (at a bounded rate) and retry.
      if (!(err instanceof errors.JWKSNoMatchingKey) || provider.jwksUri === null) throw err
      return await verifyWith(true)
    }
  } catch (err) {
    if (err instanceof KeySetError) throw invalidGrant(`the identity provider's ${err.message}`)
    if (err instanceof errors.JWTExpired) throw invalidGrant('the assertion has expired')
    if (err instanceof errors.JWTClaimValidationFailed) throw invalidGrant(`the assertion's ${err.claim} claim is not acceptable (${err.reason})`)
    if (err instanceof errors.JOSEAlgNotAllowed) throw invalidGrant(`the assertion's algorithm is not accepted (only ${ASSERTION_ALGORITHMS.join(', ')})`)
    if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw invalidGrant('the assertion is not signed by a key of its identity provider')
    if (err instanceof errors.JWSSignatureVerificationFailed) throw invalidGrant('the assertion\'s signature does not verify')
    if (err instanceof errors.JOSEError) throw invalidGrant('the assertion could not be verified')
    throw err
  }
}

/**
 * The local user an assertion names: by its `email` (exactly one user of the organization), or
 * by its `sub` as the user's name. A missing one is created when the provider provisions.
 */
async function linkedUser ({ store }: GrantContext, provider: IdentityProvider, claims: JWTPayload): Promise<User> {
  const owner = provider.owner
  if (provider.linkBy === 'email') {
    const email = typeof claims.email === 'string' ? claims.email : ''
    if (email === '') throw invalidGrant('the assertion carries no email, and its provider links users by email')
    const found = await store.users.findByEmail(owner, email)
    if (found.length > 1) throw invalidGrant('more than one user of the organization has the assertion\'s email')
    if (found.length === 1) return found[0]
    if (!provider.provisionUsers) throw invalidGrant('no user of the organization is linked to the assertion (and its provider does not provision users)')
    return await provision(store, owner, email, email)
  }
  const name = claims.sub as string
  const found = await store.users.findByName(owner, name)
  if (found !== undefined) return found
  if (!provider.provisionUsers) throw invalidGrant('no user of the organization is linked to the assertion (and its provider does not provision users)')
  return await provision(store, owner, name, typeof claims.email === 'string' ? claims.email : '')
}

async function provision (store: GrantContext['store'], owner: string, name: string, email: string): Promise<User> {
  // The names come from another server: held to the rules the user tools hold names to.
  if (!USER_NAME.test(name)) throw invalidGrant('the assertion\'s user cannot be provisioned: its name is not a valid user name')
  if (!EMAIL.test(email)) email = ''
  try {
    return await store.users.create({ owner, name, email })
  } catch (err) {
    // Two first uses at once: the other one created it.
    if (err instanceof StoreError && err.code === 'conflict') {
      const again = await store.users.findByName(owner, name)
      if (again !== undefined) return again
    }
    if (err instanceof StoreError && err.code === 'invalid') throw invalidGrant(`the assertion's user cannot be provisioned: ${err.message}`)
    throw err
  }
}
