import { Type, defineTool, assertChangeable, DisplayName, OrganizationRef, OrganizationSchema, WebsiteUrl, organizationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'update_organization',
  title: 'Update an organization',
  description: 'Changes an organization\'s display name or website URL; fields left out stay as they are. The name (and so the id) cannot change. A global admin may update any organization, an organization admin its own.',
  scopes: ['organization:write'],
  input: Type.Object({
    id: OrganizationRef,
    displayName: Type.Optional(DisplayName),
    websiteUrl: Type.Optional(WebsiteUrl)
  }, { additionalProperties: false }),
  output: Type.Object({ organization: OrganizationSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler ({ id, ...patch }, { principal, store }) {
    assertChangeable(principal, 'organization', id)
    const organization = await store.organizations.update(id, patch)
    return { organization: organizationOut(organization) }
  }
})
