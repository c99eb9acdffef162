import { createHmac, createPublicKey, generateKeyPairSync, createSign } from 'node:crypto'
import { test } from 'tap'
import { BOOTSTRAP_CLIENT, ADMIN } from '../helper.js'
import { buildWithProbe } from './probe.js'

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')

function signRs256 (header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: string): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`
}

test('bearer tokens: what is accepted and every attack refused', async (t) => {
  const app = await buildWithProbe(t)
  const base = app.publicBase()
  const kid = app.signingKeys.current().kid
  const now = Math.floor(Date.now() / 1000)
  const good = { iss: base, sub: 'built-in/app-built-in', aud: base, exp: now + 600, iat: now, jti: 'jti-forged', scope: 'user:read', client_id: BOOTSTRAP_CLIENT.id, sub_kind: 'application' }

  async function who (authorization: string | undefined, headers: Record<string, string> = {}, url = '/test/whoami') {
    const res = await app.inject({ url, headers: { ...(authorization === undefined ? {} : { authorization }), ...headers } })
    return { status: res.statusCode, body: res.json() }
  }
  const issue = (over: Partial<Parameters<typeof app.tokens.issue>[0]> = {}) => app.tokens.issue({
    subject: 'built-in/app-built-in', subjectKind: 'application', clientId: BOOTSTRAP_CLIENT.id, scopes: ['application:read'], audience: base, issuer: base, ...over
  })

  t.test('a token this service issued is accepted, for {base} and {base}/api/mcp', async (t) => {
    for (const audience of [base, `${base}/api/mcp`]) {
      const { access_token: token } = await issue({ audience })
      const res = await who(`Bearer ${token}`)
      t.equal(res.status, 200)
      t.match(res.body.principal, { kind: 'application', id: 'built-in/app-built-in', via: 'bearer', scopes: ['application:read'], clientId: BOOTSTRAP_CLIENT.id })
      t.equal((await who(`bearer  ${token}`)).status, 200, 'the scheme is case-insensitive')
    }
    const signed = app.signingKeys.signAccessToken(good)
    t.equal((await who(`Bearer ${signed}`)).status, 200, 'the control case of the forged tokens below is accepted')
  })

  t.test('alg none, HS256 keyed with our public key, a foreign key, a foreign kid', async (t) => {
    const none = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(good)}.`
    let res = await who(`Bearer ${none}`)
    t.equal(res.status, 401)
    t.match(res.body.failure, { reason: 'invalid_token', description: /algorithm/ })

    const jwk = app.signingKeys.jwks().keys[0]
    const publicPem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64(good)}`
    const hs = `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`
    res = await who(`Bearer ${hs}`)
    t.equal(res.status, 401)
    t.equal(res.body.failure.reason, 'invalid_token')

    const foreign = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
    res = await who(`Bearer ${signRs256({ alg: 'RS256', typ: 'at+jwt', kid }, good, foreign.privateKey)}`)
    t.equal(res.status, 401, 'our kid, a foreign key')
    t.match(res.body.failure.description, /signature/)
    res = await who(`Bearer ${signRs256({ alg: 'RS256', typ: 'at+jwt', kid: 'attacker-key' }, good, foreign.privateKey)}`)
    t.equal(res.status, 401, 'a foreign kid')
    res = await who(`Bearer ${signRs256({ alg: 'RS256', typ: 'at+jwt' }, good, foreign.privateKey)}`)
    t.equal(res.status, 401, 'no kid')
    res = await who(`Bearer ${signRs256({ alg: 'RS256', typ: 'at+jwt', kid, jku: 'https://evil.example/jwks' }, good, foreign.privateKey)}`)
    t.equal(res.status, 401, 'a jku pointing elsewhere changes nothing')
  })

  t.test('expired, not yet valid, wrong iss, wrong aud, missing claims, an ID token', async (t) => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['expired', { ...good, exp: now - 120, iat: now - 3720 }],
      ['not yet valid', { ...good, nbf: now + 600 }],
      ['wrong iss', { ...good, iss: 'https://evil.example' }],
      ['wrong aud', { ...good, aud: 'https://other-service.example' }],
      ['aud of another path', { ...good, aud: `${base}/api/other` }],
      ['no jti', { ...good, jti: undefined }],
      ['no sub_kind', { ...good, sub_kind: undefined }]
    ]
    for (const [name, claims] of cases) {
      const res = await who(`Bearer ${app.signingKeys.signAccessToken(claims)}`)
      t.equal(res.status, 401, name)
      t.equal(res.body.failure.reason, 'invalid_token', name)
    }
    const idToken = app.signingKeys.signIdToken(good)
    t.equal((await who(`Bearer ${idToken}`)).status, 401, 'an ID token (typ JWT) is not an access token')
    t.equal((await who('Bearer not.a.jwt')).status, 401)
    t.equal((await who('Bearer ')).status, 401)
    t.equal((await who('Token abc')).status, 401, 'unknown schemes are refused, not ignored')
  })

  t.test('a revoked jti is refused at once', async (t) => {
    const { access_token: token } = await issue()
    t.equal((await who(`Bearer ${token}`)).status, 200)
    const jti = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti
    t.equal(await app.store.tokens.revoke(jti), 1)
    const res = await who(`Bearer ${token}`)
    t.equal(res.status, 401)
    t.match(res.body.failure.description, /revoked/)
  })

  t.test('a forbidden user, a disabled or deleted application', async (t) => {
    await app.store.organizations.create({ name: 'acme' })
    await app.store.users.create({ owner: 'acme', name: 'carol', password: 'carol-password-1' })
    const { clientSecret } = await app.store.applications.create({ owner: 'acme', name: 'acme-app', clientId: 'acme-client', scopes: ['read'], grantTypes: ['client_credentials', 'authorization_code'] })
    let userToken = (await issue({ subject: 'acme/carol', subjectKind: 'user', clientId: 'acme-client' })).access_token
    const appToken = (await issue({ subject: 'acme/acme-app', clientId: 'acme-client' })).access_token
    const acmeBasic = basic('acme-client', clientSecret ?? '')
    const user = await who(`Bearer ${userToken}`)
    t.equal(user.status, 200)
    t.match(user.body.principal, { kind: 'user', id: 'acme/carol', organization: 'acme', isGlobalAdmin: false, clientId: 'acme-client' })
    t.equal((await who(`Bearer ${appToken}`)).status, 200)
    const viaBasic = await who(acmeBasic)
    t.equal(viaBasic.status, 200)
    t.match(viaBasic.body.principal, { kind: 'application', id: 'acme/acme-app', via: 'basic', isGlobalAdmin: false })
    t.ok(viaBasic.body.principal.scopes.every((s: string) => s.endsWith(':read')), 'Basic gets exactly the application\'s (expanded) scopes')

    await app.store.users.update('acme/carol', { isForbidden: true })
    t.equal((await who(`Bearer ${userToken}`)).status, 401, 'forbidden user')
    await app.store.users.update('acme/carol', { isForbidden: false })
    t.equal((await who(`Bearer ${userToken}`)).status, 401, 'allowed again, but forbidding revoked its tokens for good')
    userToken = (await issue({ subject: 'acme/carol', subjectKind: 'user', clientId: 'acme-client' })).access_token
    t.equal((await who(`Bearer ${userToken}`)).status, 200, 'a new token works')

    // Through another client: deleting acme-app below revokes what users got through it.
    const viaBootstrap = (await issue({ subject: 'acme/carol', subjectKind: 'user' })).access_token
    await app.store.applications.update('acme/acme-app', { isDisabled: true })
    t.equal((await who(`Bearer ${userToken}`)).status, 401, 'disabled client: its users\' tokens stop')
    t.equal((await who(`Bearer ${appToken}`)).status, 401, 'disabled application')
    t.equal((await who(acmeBasic)).status, 401, 'disabled application over Basic')
    await app.store.applications.update('acme/acme-app', { isDisabled: false })
    t.equal((await who(acmeBasic)).status, 200)

    const rotated = await app.store.applications.rotateSecret('acme/acme-app')
    t.equal((await who(acmeBasic)).status, 401, 'the old secret stops at once after rotation')
    t.equal((await who(basic('acme-client', rotated.clientSecret))).status, 200)

    await app.store.applications.delete('acme/acme-app')
    t.equal((await who(`Bearer ${appToken}`)).status, 401, 'deleted application')
    t.equal((await who(basic('acme-client', rotated.clientSecret))).status, 401)

    await app.store.users.delete('acme/carol')
    await new Promise(resolve => setTimeout(resolve, 2100))
    await app.store.users.create({ owner: 'acme', name: 'carol', password: 'another-password' })
    await app.store.applications.create({ owner: 'acme', name: 'acme-app', clientId: 'acme-client', scopes: ['read'], grantTypes: ['client_credentials'] })
    t.equal((await who(`Bearer ${appToken}`)).status, 401, 'a re-created application does not inherit the old tokens')
    t.match((await who(`Bearer ${userToken}`)).body.failure.description, /revoked/, 'deleting the application revoked the tokens users got through it')
    const res = await who(`Bearer ${viaBootstrap}`)
    t.equal(res.status, 401, 'nor does a re-created user')
    // Deleting the user revoked it; were it not, it would still predate the new user.
    t.match(res.body.failure.description, /revoked|predates/)
  })

  t.test('Basic: wrong secret, unknown client, malformed header', async (t) => {
    for (const header of [basic(BOOTSTRAP_CLIENT.id, 'wrong'), basic('nobody', BOOTSTRAP_CLIENT.secret), 'Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64')]) {
      const res = await who(header)
      t.equal(res.status, 401, header)
      t.equal(res.body.failure.reason, 'invalid_client')
    }
  })

  t.test('tokens bound to a session end with it; a bad bearer loses even with a valid cookie', async (t) => {
    const login = await app.inject({ method: 'POST', url: '/api/login', payload: { username: ADMIN.username, password: ADMIN.password } })
    const cookie = String(login.headers['set-cookie']).split(';')[0]
    const session = (await who(undefined, { cookie })).body.principal.sessionId as string
    t.ok(session)
    const token = (await issue({ subject: 'built-in/admin', subjectKind: 'user', sessionId: session })).access_token
    const res = await who(`Bearer ${token}`)
    t.equal(res.status, 200)
    t.equal(res.body.principal.sessionId, session)
    t.equal((await who('Bearer garbage', { cookie })).status, 401, 'bad bearer + good cookie → 401')
    t.equal((await who(basic(BOOTSTRAP_CLIENT.id, 'wrong'), { cookie })).status, 401, 'bad basic + good cookie → 401')
    await app.inject({ method: 'POST', url: '/api/logout', headers: { cookie } })
    t.equal((await who(`Bearer ${token}`)).status, 401, 'the session ended, so did its token')
  })

  t.test('a token in the query string is ignored', async (t) => {
    const { access_token: token } = await issue()
    const res = await who(undefined, {}, `/test/whoami?access_token=${token}`)
    t.equal(res.status, 401)
    t.same(res.body.failure, { reason: 'missing' })
  })
})
