import { Type, defineTool, assertDeletable, OrganizationRef, OrganizationSchema, organizationOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'delete_organization',
  title: 'Delete an organization',
  description: 'Deletes an organization. One that still has users or applications is refused unless `cascade` is true, which also deletes its users, applications, roles and permissions, ends their sessions and revokes their tokens. The built-in organization cannot be deleted. Global admins only.',
  scopes: ['organization:write'],
  input: Type.Object({
    id: OrganizationRef,
    cascade: Type.Optional(Type.Boolean({ description: 'also delete everything the organization owns (default false)' }))
  }, { additionalProperties: false }),
  output: Type.Object({ organization: OrganizationSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertDeletable(principal, 'organization', input.id)
    // The store ends its users' sessions and revokes their and its applications' tokens too.
    const organization = await store.organizations.delete(input.id, input.cascade === true)
    return { organization: organizationOut(organization) }
  }
})
