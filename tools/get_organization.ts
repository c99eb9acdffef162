import { Type, defineTool, assertVisible, OrganizationRef, OrganizationSchema, organizationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'get_organization',
  title: 'Get an organization',
  description: 'Gets one organization by id ("admin/<name>") or name, with its member counts. Callers outside `built-in` can only see their own organization.',
  scopes: ['organization:read'],
  input: Type.Object({ id: OrganizationRef }, { additionalProperties: false }),
  output: Type.Object({
    organization: OrganizationSchema,
    users: Type.Integer({ description: 'how many users it has' }),
    applications: Type.Integer({ description: 'how many applications it has' })
  }),
  annotations: { readOnlyHint: true, idempotentHint: true },
  cacheable: true,
  async handler (input, { principal, store }) {
    assertVisible(principal, 'organization', input.id)
    const organization = await store.organizations.get(input.id)
    const members = await store.organizations.countMembers(organization.name)
    return { organization: organizationOut(organization), ...members }
  }
})
