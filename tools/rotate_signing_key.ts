import { Type, defineTool, assertGlobalAdmin, SigningKeySchema, signingKeyOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'rotate_signing_key',
  title: 'Rotate the signing key',
  description: 'Makes a new current signing key for every instance; new tokens are signed with it. The previous key is retired but stays in the JWKS until the tokens it signed expire, so no one is logged out. Global admins only.',
  scopes: ['key:write'],
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({ key: SigningKeySchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (_input, { principal, services }) {
    assertGlobalAdmin(principal, 'rotate the signing key')
    const k = await services.signingKeys.rotate()
    return { key: signingKeyOut(k) }
  }
})
