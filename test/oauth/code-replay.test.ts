import { test } from 'tap'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { build, BOOTSTRAP_CLIENT } from '../helper.js'
import { authorizationCodeGrant } from '../../lib/oauth/grants/authorization-code.js'
import type { GrantContext } from '../../lib/oauth/grants.js'
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
  const context = (fastify: FastifyInstance): GrantContext => ({
    fastify, request: {} as FastifyRequest, client, clientAuthMethod: 'client_secret_basic', params, resources: [], base
  })

  let replay: Promise<unknown> | undefined
  const racing = Object.create(app) as FastifyInstance
  Object.defineProperty(racing, 'tokens', {
    value: {
      ...app.tokens,
      issue: async (options: Parameters<FastifyInstance['tokens']['issue']>[0]) => {
        replay = authorizationCodeGrant(context(app)).then(() => 'issued', (err: Error) => err)
        await replay
        return await app.tokens.issue(options)
      }
    }
  })

  await t.rejects(authorizationCodeGrant(context(racing)), { name: 'OAuthError', code: 'invalid_grant' }, 'the first exchange learns of the replay and answers invalid_grant')
  t.match(await replay, { name: 'OAuthError', code: 'invalid_grant', message: /already been used/ }, 'the replay is refused')
  const live = await app.db.selectFrom('tokens').select('id').where('client_id', '=', client.clientId).where('revoked_at', 'is', null).execute()
  t.same(live, [], 'nothing issued from the code is left unrevoked')
})
