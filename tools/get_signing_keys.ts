import { Type, defineTool, SigningKeySchema, signingKeyOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_signing_keys',
  title: 'List signing keys',
  description: 'Lists the keys tokens are signed with, newest first: key id (`kid`), algorithm, when it was created and retired. The current key signs new tokens; retired keys stay published in the JWKS until the tokens they signed expire. Private keys are never shown.',
  scopes: ['key:read'],
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({ items: Type.Array(SigningKeySchema) }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  async handler (_input, { services }) {
    const keys = await services.signingKeys.list()
    return {
      items: keys.map(signingKeyOut)
    }
  }
})
