import { test, type Test } from 'tap'
import { build, createPostgresDatabase, createSqliteDatabase, requirePostgres } from '../helper.js'
import { callTool } from '../tool-helper.js'

/**
 * DESIGN.md: "at least one global admin" holds under concurrency, on both engines. Each round
 * starts with exactly two active global admins and runs two changes that would each remove one,
 * at the same moment: exactly one must be refused, and one global admin must remain.
 */
const ROUNDS = 12

async function raceSuite (t: Test, url: string): Promise<void> {
  const app = await build(t, { env: { DATABASE_URL: url } })
  const activeAdmins = async (): Promise<string[]> => (await app.db.selectFrom('users').select('id')
    .where('owner', '=', 'built-in').where('is_admin', '=', 1).where('is_forbidden', '=', 0).execute()).map(r => r.id)
  let seq = 0
  async function secondAdmin (): Promise<string> {
    const name = `admin-${++seq}`
    const added = await callTool(app, 'add_user', { owner: 'built-in', name, isAdmin: true })
    if (added.isError) throw new Error(added.text)
    return `built-in/${name}`
  }

  t.same(await activeAdmins(), ['built-in/admin'], 'one global admin to start with')

  await t.test('two demotions at once', async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const [a] = await activeAdmins()
      const b = await secondAdmin()
      const answers = await Promise.all([a, b].map(id => callTool(app, 'update_user', { id, isAdmin: false })))
      const refused = answers.filter(r => r.isError)
      t.equal(refused.length, 1, `round ${round}: exactly one refused`)
      t.match(refused[0]?.text, /last global admin/)
      t.equal((await activeAdmins()).length, 1, `round ${round}: one global admin remains`)
    }
  })

  await t.test('a deletion and a forbidding at once', async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const [a] = await activeAdmins()
      const b = await secondAdmin()
      const [deleted, forbidden] = round % 2 === 0 ? [a, b] : [b, a]
      const answers = await Promise.all([
        callTool(app, 'delete_user', { id: deleted }),
        callTool(app, 'update_user', { id: forbidden, isForbidden: true })
      ])
      const refused = answers.filter(r => r.isError)
      t.equal(refused.length, 1, `round ${round}: exactly one refused`)
      t.match(refused[0]?.text, /last global admin/)
      t.equal((await activeAdmins()).length, 1, `round ${round}: one global admin remains`)
    }
  })
}

test('SQLite: the last global admin survives concurrent changes', async (t) => {
  await raceSuite(t, createSqliteDatabase(t))
})

test('PostgreSQL: the last global admin survives concurrent changes', async (t) => {
  if (!await requirePostgres(t)) return
  await raceSuite(t, await createPostgresDatabase(t))
})
