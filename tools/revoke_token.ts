import { Type, defineTool, canSeeSubject, notFound, TokenSchema, tokenOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'revoke_token',
  title: 'Revoke a token',
  description: 'Revokes one access or refresh token by its id (from get_tokens); it stops working on every instance within a second. Revoking an already revoked token changes nothing.',
  scopes: ['token:write'],
  input: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, description: 'the token id (jti)' }) }, { additionalProperties: false }),
  output: Type.Object({
    token: TokenSchema,
    revoked: Type.Boolean({ description: 'false when it was already revoked' })
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async handler (input, { principal, store }) {
    const token = await store.tokens.find(input.id)
    if (token === undefined || !canSeeSubject(principal, token.subject)) throw notFound('token', input.id)
    const revoked = await store.tokens.revoke(token.id)
    const after = await store.tokens.find(token.id) ?? token
    return { token: tokenOut(after), revoked: revoked > 0 }
  }
})
