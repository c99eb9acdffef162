import { Type, defineTool, assertVisible, ApplicationSchema, Id, applicationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_application',
  title: 'Get an application',
  description: 'Gets one application by id ("<organization>/<name>"): its client id, redirect URIs, grant types, the scopes it may be granted, how it authenticates (tokenEndpointAuthMethod, and for private_key_jwt its public jwks or jwksUri), its application type, whether its tokens are DPoP-bound, and whether it is dynamically registered or known by a metadata document. The client secret is never shown (rotate_application_secret makes a new one).',
  scopes: ['application:read'],
  input: Type.Object({ id: Id('application') }, { additionalProperties: false }),
  output: Type.Object({ application: ApplicationSchema }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'application', input.id)
    return { application: applicationOut(await store.applications.get(input.id)) }
  }
})
