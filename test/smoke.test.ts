import { test } from 'tap'
import { build } from './helper.js'

test('the service starts and answers liveness', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})
