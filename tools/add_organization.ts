import { Type, defineTool, assertCanCreate, DisplayName, OrganizationSchema, Slug, WebsiteUrl, organizationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_organization',
  title: 'Add an organization',
  description: 'Creates an organization (its id becomes "admin/<name>"). Users, applications, roles and permissions are then created inside it with `owner` = its name. Global admins only.',
  scopes: ['organization:write'],
  input: Type.Object({
    name: Slug('organization name, unique'),
    displayName: Type.Optional(DisplayName),
    websiteUrl: Type.Optional(WebsiteUrl)
  }, { additionalProperties: false }),
  output: Type.Object({ organization: OrganizationSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertCanCreate(principal, 'organization', input.name)
    const organization = await store.organizations.create(input)
    return { organization: organizationOut(organization) }
  }
})
