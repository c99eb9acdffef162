import { Type, defineTool, assertVisible, ApplicationSchema, Id, applicationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_application',
  title: 'Get an application',
  description: 'Gets one application by id ("<organization>/<name>"): its client id, redirect URIs, grant types and the scopes it may be granted. The client secret is never shown (rotate_application_secret makes a new one).',
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
