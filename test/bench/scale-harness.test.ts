// The scale probe's pure pieces. Nothing here is timed: the numbers are made up.
import { test } from 'tap'
import { OPERATIONS, scaleSettings, scaleSvg, scaleVerdict } from '../../bench/scale.js'
import { bulkRevokeMarkdown, bulkRevokeVerdict } from '../../bench/bulk-revoke.js'

test('scale settings: defaults, sizes with separators, refusals', async (t) => {
  const d = scaleSettings({}, '/out')
  t.match(d, { small: 1000, large: 1_000_000, iterations: 200, postgres: true, outDir: '/out' })
  t.match(scaleSettings({ BENCH_SCALE_USERS: '100_000', BENCH_PG: 'off', BENCH_SCALE_ITERATIONS: '50', BENCH_OUT: '/tmp/x' }, '/out'), { large: 100_000, postgres: false, iterations: 50, outDir: '/tmp/x' })
  t.throws(() => scaleSettings({ BENCH_SCALE_USERS: '500' }, '/out'), /BENCH_SCALE_USERS must be an integer of at least 1000/)
  t.throws(() => scaleSettings({ BENCH_SCALE_USERS: '1e6x' }, '/out'), /BENCH_SCALE_USERS/)
  t.throws(() => scaleSettings({ BENCH_SCALE_ITERATIONS: '2' }, '/out'), /at least 10/)
  t.throws(() => scaleSettings({ BENCH_PG: 'yes' }, '/out'), /BENCH_PG must be/)
  t.same(d.engines, ['sqlite', 'postgres'])
  t.same(scaleSettings({ BENCH_SCALE_ENGINES: 'postgres' }, '/out').engines, ['postgres'])
  t.same(scaleSettings({ BENCH_SCALE_ENGINES: 'sqlite, postgres', BENCH_PG: 'off' }, '/out').engines, ['sqlite'], 'BENCH_PG=off wins')
  t.throws(() => scaleSettings({ BENCH_SCALE_ENGINES: 'mysql' }, '/out'), /BENCH_SCALE_ENGINES must list/)
  t.equal(d.bulkTokens, 50_000)
  t.equal(scaleSettings({ BENCH_SCALE_BULK_TOKENS: '0' }, '/out').bulkTokens, 0, '0 skips the bulk revocation')
  t.throws(() => scaleSettings({ BENCH_SCALE_BULK_TOKENS: '-1' }, '/out'), /BENCH_SCALE_BULK_TOKENS/)
  t.equal(d.manyTokens, true)
  t.equal(scaleSettings({ BENCH_SCALE_MANY_TOKENS: '0' }, '/out').manyTokens, false, '0 skips the many-tokens load run')
})

test('bulk revocation verdict: 1 s and 250 ms waits on SQLite, 2 s on PostgreSQL', async (t) => {
  const o = (engine: 'sqlite' | 'postgres', deleteMs: number, maxReadMs: number) => ({ engine, tokens: 50_000, deleteMs, reads: 100, maxReadMs, p99ReadMs: 1 })
  t.same(bulkRevokeVerdict(o('sqlite', 900, 200)), [])
  t.same(bulkRevokeVerdict(o('sqlite', 1100, 300)), ['over 1 s', 'a read waited over 250 ms'])
  t.same(bulkRevokeVerdict(o('postgres', 1900, 900)), [], 'PostgreSQL reads do not wait on the event loop')
  t.same(bulkRevokeVerdict(o('postgres', 2100, 1)), ['over 2 s'])
  const table = bulkRevokeMarkdown([o('sqlite', 359, 22.5), o('postgres', 2100, 1)])
  t.match(table, /\| SQLite \| 50,000 \| 359 \| 100 \| 22\.5 \| 1\.0 \| met \|/)
  t.match(table, /\| PostgreSQL \| .* \| MISS \(over 2 s\) \|/)
})

test('scale verdict: growth, the absolute bound (50 ms for SQLite filters), p99', async (t) => {
  const list = OPERATIONS.find(o => o.id === 'users_first')!
  const filter = OPERATIONS.find(o => o.id === 'users_filter_few')!
  t.same(scaleVerdict('sqlite', list, { p50: 1, p99: 2 }, { p50: 2.9, p99: 5 }), [])
  t.same(scaleVerdict('sqlite', list, { p50: 1, p99: 2 }, { p50: 3.5, p99: 5 }), ['p50 grew 3.5×'])
  t.same(scaleVerdict('postgres', list, { p50: 10, p99: 20 }, { p50: 25, p99: 120 }), ['p50 over 20 ms', 'p99 over 100 ms'])
  t.same(scaleVerdict('sqlite', filter, { p50: 20, p99: 30 }, { p50: 45, p99: 60 }), [], 'SQLite filters may take 50 ms')
  t.same(scaleVerdict('postgres', filter, { p50: 20, p99: 30 }, { p50: 45, p99: 60 }), ['p50 over 20 ms'])
  t.same(scaleVerdict('sqlite', list, { p50: 0.01, p99: 0.02 }, { p50: 0.2, p99: 0.3 }), [], 'sub-millisecond growth is noise, not a miss')
})

test('scale chart: one bar per operation, engine and size', async (t) => {
  const timings = Object.fromEntries(OPERATIONS.map(o => [o.id, { p50: 1.5, p99: 3 }]))
  const size = (users: number) => ({ users, auditEvents: users, applications: users / 10, tokens: users / 10, seedSeconds: 1, timings })
  const svg = scaleSvg([{ engine: 'sqlite', sizes: [size(1000), size(100_000)] }, { engine: 'postgres', sizes: [size(1000), size(100_000)] }])
  t.match(svg, /^<svg /)
  t.equal(svg.match(/<rect [^>]*><title>/g)?.length, OPERATIONS.length * 4)
  t.match(svg, /postgres 100,000/)
  t.notMatch(svg, /`/, 'markdown code marks are left out')
})
