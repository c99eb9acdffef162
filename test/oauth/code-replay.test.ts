import { test } from 'tap'
import { build, BOOTSTRAP_CLIENT } from '../helper.js'
import { authorizationCodeGrant } from '../../lib/oauth/grants/authorization-code.js'
import type { GrantContext, GrantServices } from '../../lib/oauth/grants/index.js'
import type { IssueOptions } from '../../lib/oauth/tokens.js'
import { randomToken } from '../../lib/crypto.js'
import { pkce } from './flow.js'

const REDIRECT = 'http://127.0.0.1:9/callback'

/**
 * The race a timing-based test cannot pin down: the replay arrives while the first exchange is
 * issuing its tokens, after the replay's revocation would have found them. The first exchange's
 * token service is wrapped so that the replay runs at exactly that moment.
 */
test('a code replayed while its first exchange is issuing leaves no token usable', async (t) => {
  const app = await build(t, { env: { PUBLIC_URL: 'http://iam.test' } })
  const base = app.publicBase()
  const client = (await app.store.applications.findByClientId(BOOTSTRAP_CLIENT.id))!
  const { verifier, challenge } = pkce()
  const raw = randomToken(32)
  await app.store.codes.insert({
    id: app.store.digest(raw),
    clientId: client.clientId,
    userId: 'built-in/admin',
    sessionId: null,
    redirectUri: REDIRECT,
    scope: 'user:read',
    resource: base,
    codeChallenge: challenge,
    nonce: null,
    expiresAt: Date.now() + 60000
  })
  const params = { grant_type: 'authorization_code', code: raw, redirect_uri: REDIRECT, code_verifier: verifier }
  const services: GrantServices = { tokens: app.tokens, store: app.store, accounts: app.authState, knownScopes: app.tools.scopes, log: app.log, enterprise: { keySets: app.keySets, signIdJag: app.signingKeys.signIdJag, verifyIdToken: app.signingKeys.verifyIdToken } }
  const context = (tokens: GrantServices['tokens']): GrantContext => ({
    ...services, tokens, client, clientAuthMethod: 'client_secret_basic', params, resources: [], base
  })

  let replay: Promise<unknown> | undefined
  const racing: GrantServices['tokens'] = {
    ...app.tokens,
    issue: async (options: IssueOptions) => {
      replay = authorizationCodeGrant(context(app.tokens)).then(() => 'issued', (err: Error) => err)
      await replay
      return await app.tokens.issue(options)
    }
  }

  await t.rejects(authorizationCodeGrant(context(racing)), { name: 'OAuthError', code: 'invalid_grant' }, 'the first exchange learns of the replay and answers invalid_grant')
  t.match(await replay, { name: 'OAuthError', code: 'invalid_grant', message: /already been used/ }, 'the replay is refused')
  const live = await app.db.selectFrom('tokens').select('id').where('client_id', '=', client.clientId).where('revoked_at', 'is', null).execute()
  t.same(live, [], 'nothing issued from the code is left unrevoked')
})
