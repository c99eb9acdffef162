import { Type, defineTool, assertCanCreate, DisplayName, Email, Password, Phone, Slug, UserName, UserSchema, checkUserName, userOut } from '../lib/tool-kit/index.js'

export default defineTool({
  name: 'add_user',
  title: 'Add a user',
  description: 'Creates a user in an organization (`owner`); its id becomes "<owner>/<name>". Names are unique per organization after Unicode normalisation, case folding and confusable mapping (Unicode TR39 skeletons), so a look-alike of an existing name ("Admin", or "admin" written with a Cyrillic a or a dotless i, vs "admin") is a conflict. Without `password` the user cannot log in until one is set. `isAdmin` makes an organization admin (a global admin in `built-in`). Organization admins may add users only to their own organization.',
  scopes: ['user:write'],
  input: Type.Object({
    owner: Slug('the organization the user belongs to'),
    name: UserName,
    password: Type.Optional(Password),
    displayName: Type.Optional(DisplayName),
    email: Type.Optional(Email),
    phone: Type.Optional(Phone),
    isAdmin: Type.Optional(Type.Boolean({ description: 'administrator of its organization (default false)' })),
    isForbidden: Type.Optional(Type.Boolean({ description: 'cannot log in and its tokens stop working (default false)' }))
  }, { additionalProperties: false }),
  output: Type.Object({ user: UserSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler (input, { principal, store }) {
    assertCanCreate(principal, 'user', input.owner)
    checkUserName(input.name)
    const user = await store.users.create(input)
    return { user: userOut(user) }
  }
})
