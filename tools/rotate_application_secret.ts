import { Type, defineTool, assertChangeable, assertMayChangeApplication, ApplicationSchema, Id, applicationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'rotate_application_secret',
  title: 'Rotate an application\'s client secret',
  description: 'Gives an application a new client secret, returned here once and never again; the old secret stops working at once. Public clients (no secret) are refused, and so is a caller that does not hold every scope the application may be granted.',
  scopes: ['application:write'],
  input: Type.Object({ id: Id('application') }, { additionalProperties: false }),
  output: Type.Object({
    application: ApplicationSchema,
    clientSecret: Type.String({ description: 'the new secret, shown only now' })
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store, knownScopes }) {
    assertChangeable(principal, 'application', input.id)
    // The new secret is the application's whole grant: only for someone who holds all of it.
    assertMayChangeApplication(principal, await store.applications.get(input.id), knownScopes)
    const { application, clientSecret } = await store.applications.rotateSecret(input.id)
    return { application: applicationOut(application), clientSecret }
  }
})
