import { Type, defineTool, assertCanCreate, Description, DisplayName, RoleSchema, Slug, roleOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_role',
  title: 'Add a role',
  description: 'Creates a role in an organization (`owner`); its id becomes "<owner>/<name>". Give it to users with assign_role and refer to it from permissions.',
  scopes: ['role:write'],
  input: Type.Object({
    owner: Slug('the organization the role belongs to'),
    name: Slug('role name, unique in its organization'),
    displayName: Type.Optional(DisplayName),
    description: Type.Optional(Description)
  }, { additionalProperties: false }),
  output: Type.Object({ role: RoleSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertCanCreate(principal, 'role', input.owner)
    return { role: roleOut(await store.roles.create(input)) }
  }
})
