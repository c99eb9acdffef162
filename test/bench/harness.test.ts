// The benchmark harness's pure pieces. Nothing here is timed: the numbers are made up.
import { test } from 'tap'
import { compareTwins, fmt, markdownTable, median, parseProcStat, parseProcStatus, ratio, renderSvg, summarize, TWIN_NOISE, verdict, wrap, type RunSample } from '../../bench/stats.js'
import { readFileSync } from 'node:fs'
import { benchSettings, selectScenarios, SCENARIOS, SERVICE_NODE_ARGS } from '../../bench/config.js'
import { constantReply, startBaseline } from '../../bench/baseline.js'
import { basic, jsonRpc, mcpHeaders, modernRequest, MODERN_PROTOCOL_VERSION, tokenRequestBody } from '../../bench/requests.js'
import { resultsMarkdown } from '../../bench/report.js'

function sample (rps: number, p99 = 5, unexpected = 0, cpuUs: number | null = null): RunSample {
  return { rps, p50: 2, p99, unexpected, total: 10000, cpuUs }
}

test('median of odd and even counts, unsorted input, empty input', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.equal(median([7]), 7)
  t.ok(Number.isNaN(median([])))
  const input = [3, 1, 2]
  median(input)
  t.same(input, [3, 1, 2], 'does not sort its argument in place')
})

test('ratio to the baseline', async (t) => {
  t.equal(ratio(800, 1000), 0.8)
  t.ok(Number.isNaN(ratio(800, 0)))
  t.ok(Number.isNaN(ratio(Number.NaN, 1000)))
})

test('verdict: ratio, p99, RSS and unexpected answers each decide', async (t) => {
  const target = { ratio: 0.8, p99: 10, rssMiB: 200 }
  t.same(verdict(target, { ratio: 0.85, p99: 9, peakRssMiB: 120 }), { pass: true, misses: [] })
  t.equal(verdict(target, { ratio: 0.79, p99: 9 }).pass, false)
  t.match(verdict(target, { ratio: 0.9, p99: 11 }).misses, [/p99 11\.0 ms > 10 ms/])
  t.match(verdict(target, { ratio: 0.9, p99: 1, peakRssMiB: 250 }).misses, [/RSS 250 MiB > 200 MiB/])
  t.match(verdict(target, { ratio: 0.9, p99: 1 }, 0.5).misses, [/50\.0 % unexpected/])
  t.equal(verdict({}, { ratio: 0.1, p99: 100 }).pass, null, 'no target: report only')
  t.equal(verdict({}, { ratio: 0.1, p99: 100 }, 0.2).pass, false, 'wrong answers fail even a report-only scenario')
  t.equal(verdict(target, { ratio: Number.NaN, p99: 1 }).pass, false, 'an unmeasured ratio is not a pass')
})

test('summarize takes medians over rounds and pairs the baseline', async (t) => {
  const spec = { id: '1', title: 'tools/list', target: { ratio: 0.8 } }
  const s = summarize(spec, [sample(900), sample(850), sample(100)], [sample(1000), sample(1000), sample(990)], 150)
  t.equal(s.rps, 850)
  t.equal(s.baselineRps, 1000)
  t.equal(s.ratio, 0.85)
  t.equal(s.pass, true, 'one disturbed round does not decide')
  t.equal(s.peakRssMiB, 150)
  t.equal(s.rounds.length, 3)
  t.equal(s.cpuUs, null, 'no CPU samples, no CPU figure')
  t.ok(Number.isNaN(s.cpuRatio))
  const cpu = summarize(spec, [sample(900, 5, 0, 200), sample(900, 5, 0, 220)], [sample(1000, 5, 0, 100), sample(1000, 5, 0, 110)])
  t.equal(cpu.cpuUs, 210)
  t.equal(cpu.baselineCpuUs, 105)
  t.equal(cpu.cpuRatio, 0.5, 'twice the CPU per request: half the throughput it allows')
  const wrong = summarize(spec, [sample(900, 5, 5000)], [sample(1000)])
  t.equal(wrong.pass, false)
  t.equal(wrong.unexpectedShare, 0.5)
})

test('the table names every scenario and its verdict', async (t) => {
  const s = summarize({ id: '7', title: 'unauthenticated (401)', target: { ratio: 0.8 } }, [sample(500)], [sample(1000)])
  const table = markdownTable({ rps: 1000, p50: 1, p99: 3 }, [s])
  t.match(table, /\| B \| bare Fastify baseline \| 1,000 \|/)
  t.match(table, /\| 7 \| unauthenticated \(401\) \| 500 \| 2 \| 5 \| 0\.50 \| ≥ 0\.80 \|.*MISS \(ratio 0\.50 < 0\.8\)/)
  t.match(table, /server CPU µs\/req/)
  t.equal(fmt(Number.NaN), '–')
  t.equal(fmt(1234.5, 1), '1,234.5')
})

test('the SVG chart: one bar per scenario, coloured by verdict, with target lines', async (t) => {
  const scenarios = [
    summarize({ id: '1', title: 'tools/list, bearer, every scope', target: { ratio: 0.8 } }, [sample(900)], [sample(1000)]),
    summarize({ id: '3', title: 'read <tool> & "call"', target: { ratio: 0.6 } }, [sample(300)], [sample(1000)]),
    summarize({ id: '6', title: 'token endpoint', target: {} }, [sample(100)], [sample(1000)])
  ]
  const svg = renderSvg(scenarios, { title: 'iam-mcp & baseline', subtitle: 'made-up numbers' })
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.match(svg, /<\/svg>\n$/)
  t.equal(svg.match(/<rect [^>]*><title>/g)?.length, 3, 'three bars')
  t.equal(svg.match(/stroke-dasharray="5 3"\/>/g)?.length, 3, 'two target lines and the legend')
  t.match(svg, /fill="#2e9d52"><title>1 /, 'met: green')
  t.match(svg, /fill="#d1453b"><title>3 /, 'missed: red')
  t.match(svg, /fill="#8c8c8c"><title>6 /, 'no target: grey')
  t.match(svg, /iam-mcp &amp; baseline/, 'text is escaped')
  t.match(svg, /read &lt;tool&gt; &amp;/)
  t.notMatch(svg, /NaN|undefined/)
  t.notMatch(svg, /CPU-cost ratio: /, 'no CPU figures, no diamonds')
  const withCpu = renderSvg([summarize({ id: '1', title: 'x', target: { ratio: 0.8 } }, [sample(900, 5, 0, 100)], [sample(1000, 5, 0, 50)])], { title: 't' })
  t.match(withCpu, /<title>1 CPU-cost ratio: 0\.50<\/title>/)
  const tall = renderSvg([summarize({ id: '9', title: 'x', target: { ratio: 0.8 } }, [sample(3000)], [sample(1000)])], { title: 't' })
  t.notMatch(tall, /NaN|undefined/, 'ratios above 1 fit the axis')
})

test('wrap splits labels on words', async (t) => {
  t.same(wrap('tools/call get_applications (10 of 100)', 16), ['tools/call', 'get_applications', '(10 of 100)'])
  t.same(wrap('', 10), [])
})

test('the baseline reply is valid JSON-RPC of exactly the requested size', async (t) => {
  for (const bytes of [100, 4096, 23456]) {
    const reply = constantReply(bytes)
    t.equal(Buffer.byteLength(reply), bytes)
    const parsed = JSON.parse(reply)
    t.equal(parsed.jsonrpc, '2.0')
    t.same(parsed.result.tools, [])
  }
  t.doesNotThrow(() => JSON.parse(constantReply(1)), 'never smaller than the empty reply')
})

test('settings from the environment, with defaults and refusals', async (t) => {
  const d = benchSettings({}, '/out')
  t.match(d, { rounds: 3, duration: 10, warmup: 3, connections: 50, only: [], postgres: 'auto', outDir: '/out', serverLog: null, cpuProfDir: null })
  const q = benchSettings({ BENCH_ROUNDS: '1', BENCH_DURATION: '2', BENCH_SCENARIOS: '1, 7', BENCH_PG: 'off', BENCH_OUT: '/tmp/x' }, '/out')
  t.match(q, { rounds: 1, duration: 2, only: ['1', '7'], postgres: 'off', outDir: '/tmp/x' })
  t.same(d.nodeArgs, SERVICE_NODE_ARGS, 'the service runs with the arguments npm start gives it')
  t.same(benchSettings({ BENCH_NODE_ARGS: ' --trace-gc  --stack-size=2000 ' }, '/out').nodeArgs, [...SERVICE_NODE_ARGS, '--trace-gc', '--stack-size=2000'])
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  t.match(pkg.scripts.start, `node ${SERVICE_NODE_ARGS.join(' ')} dist/server.js`, 'npm start and the bench run the service alike')
  t.same(benchSettings({ BENCH_SERVER_ENV: 'LOG_LEVEL=warn, READ_CACHE_TTL=0' }, '/out').serverEnv, { LOG_LEVEL: 'warn', READ_CACHE_TTL: '0' })
  t.same(benchSettings({}, '/out').serverEnv, {})
  t.throws(() => benchSettings({ BENCH_SERVER_ENV: 'lower=1' }, '/out'), /not KEY=VALUE/)
  t.throws(() => benchSettings({ BENCH_SERVER_ENV: 'NOEQUALS' }, '/out'), /not KEY=VALUE/)
  t.throws(() => benchSettings({ BENCH_ROUNDS: 'many' }, '/out'), /BENCH_ROUNDS/)
  t.throws(() => benchSettings({ BENCH_PG: 'yes' }, '/out'), /BENCH_PG/)
  t.equal(selectScenarios([]).length, SCENARIOS.length)
  t.same(selectScenarios(['7', '1']).map(s => s.id), ['1', '7'], 'catalogue order')
  t.throws(() => selectScenarios(['42']), /unknown scenarios: 42/)
})

test('every scenario carries issue 6 targets', async (t) => {
  const byId = new Map(SCENARIOS.map(s => [s.id, s]))
  t.match(byId.get('1')?.target, { ratio: 0.8, p99: 10 })
  t.match(byId.get('2')?.target, { ratio: 0.8, p99: 10 })
  t.match(byId.get('3')?.target, { ratio: 0.6 })
  t.match(byId.get('4')?.target, { ratio: 0.25 })
  t.match(byId.get('5')?.target, { ratio: 0.7 })
  t.equal(byId.get('6')?.target.ratio, undefined, 'token endpoint: report only')
  t.match(byId.get('7')?.target, { ratio: 0.8 })
  t.equal(byId.get('7')?.status, 401)
  for (const s of SCENARIOS) t.equal(s.target.rssMiB, 200, `${s.id}: peak RSS ≤ 200 MiB`)
})

test('/proc status parsing and request helpers', async (t) => {
  t.same(parseProcStatus('Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n'), { rssMiB: 100, hwmMiB: 200 })
  t.equal(parseProcStatus('Name:\tnode\n'), null)
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  t.equal(parseProcStat('123 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0'), 3000)
  t.equal(parseProcStat('123 (node) S 1 2 3 4 5 6 7 8 9 10 7 3', 1000), 10)
  t.equal(parseProcStat('garbage'), null)
  t.equal(parseProcStat('1 (x) S 1'), null)
  t.equal(basic('id', 'se:cret'), `Basic ${Buffer.from('id:se%3Acret').toString('base64')}`)
  t.equal(tokenRequestBody(), 'grant_type=client_credentials')
  t.equal(tokenRequestBody('user:read'), 'grant_type=client_credentials&scope=user%3Aread')
  t.same(JSON.parse(jsonRpc('tools/list')), { jsonrpc: '2.0', id: 1, method: 'tools/list' })
  t.same(JSON.parse(jsonRpc('tools/call', { name: 'x' }, 'a')), { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'x' } })
  t.equal(mcpHeaders().authorization, undefined)
  t.equal(mcpHeaders('Bearer x').authorization, 'Bearer x')
  t.match(mcpHeaders()['mcp-protocol-version'], /^\d{4}-\d{2}-\d{2}$/)
})

test('the baseline server parses the body and answers its constant reply', async (t) => {
  const app = await startBaseline(2048)
  t.teardown(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const res = await fetch(`http://127.0.0.1:${port}/api/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonRpc('tools/list') })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal((await res.arrayBuffer()).byteLength, 2048)
  const bad = await fetch(`http://127.0.0.1:${port}/api/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
  t.equal(bad.status, 400, 'the body really is parsed')
})

test('the README table comes from results.json', async (t) => {
  const scenario = summarize({ id: '1', title: 'tools/list, bearer, every scope', target: { ratio: 0.8 } }, [sample(900, 5, 0, 100)], [sample(1000, 5, 0, 90)], 150)
  const md = resultsMarkdown({
    generatedAt: '2026-11-27T02:40:00.000Z',
    command: 'npm run bench',
    settings: { rounds: 3, duration: 10, warmup: 3, connections: 50 },
    machine: { cpus: 2, cpuModel: 'Some CPU', memoryGiB: 24, node: 'v20.20.2', platform: 'linux x64' },
    toolsListBytes: 55959,
    baseline: { rps: 1000, p50: 2, p99: 5, cpuUs: 90 },
    scenarios: [scenario],
    skipped: [{ id: '4pg', title: 'tools/call add_user, PostgreSQL', reason: 'PostgreSQL not reachable' }],
    memory: { sqliteHwmMiB: 160, postgresHwmMiB: null },
    passwordHashing: { sequentialPerSecond: 9.5, parallelPerSecond: 18.2, parallelism: 4 },
    targetsMet: { met: 1, of: 1 }
  })
  t.match(md, /^Run of 2026-11-27 02:40 UTC: `npm run bench` — 3 rounds × 10 s/)
  t.match(md, /\| 1 \| tools\/list, bearer, every scope \| 900 \|/)
  t.match(md, /55,959-byte/)
  t.match(md, /160 MiB on SQLite\./)
  t.match(md, /9\.5 hashes\/s one at a time, 18\.2\/s with 4 in flight/)
  t.match(md, /Not run: 4pg/)
})

test('the 2026-07-28 twins: same targets as 1 and 3, run right after them, compared within the noise', async (t) => {
  const ids = SCENARIOS.map(s => s.id)
  for (const [modern, legacy] of [['1m', '1'], ['3m', '3']]) {
    const m = SCENARIOS.find(s => s.id === modern)
    const l = SCENARIOS.find(s => s.id === legacy)
    t.equal(m?.target.twin, legacy, `${modern} is the twin of ${legacy}`)
    t.same({ ...m?.target, twin: undefined }, { ...l?.target, twin: undefined }, `${modern} has ${legacy}'s target`)
    t.equal(ids.indexOf(modern), ids.indexOf(legacy) + 1, `${modern} runs right after ${legacy}`)
  }
  const legacy = summarize({ id: '1', title: 'tools/list', target: { ratio: 0.8 } }, [sample(900)], [sample(1000)])
  const close = summarize({ id: '1m', title: 'tools/list, modern', target: { ratio: 0.8, twin: '1' } }, [sample(860)], [sample(1000)])
  const slow = summarize({ id: '3m', title: 'call, modern', target: { ratio: 0.5, twin: '3' } }, [sample(600)], [sample(1000)])
  const three = summarize({ id: '3', title: 'call', target: { ratio: 0.5 } }, [sample(700)], [sample(1000)])
  const alone = summarize({ id: '9m', title: 'twin not run', target: { ratio: 0.5, twin: '9' } }, [sample(600)], [sample(1000)])
  const [l1, m1, m3, l3, a] = compareTwins([legacy, close, slow, three, alone])
  t.equal(l1.twinRatio, undefined, 'a scenario without a twin is left as it was')
  t.equal(m1.pass, true)
  t.ok(Math.abs((m1.twinRatio ?? 0) - 0.86 / 0.9) < 1e-9, 'ratio of the baseline ratios')
  t.equal(m3.pass, false, `below ${TWIN_NOISE} of its twin is a miss, whatever its own target says`)
  t.match(m3.misses, [/0\.86 of 3 < 0\.9/])
  t.equal(l3.pass, true)
  t.equal(a.twinRatio, undefined, 'a twin that did not run decides nothing')
  t.equal(a.pass, true)
  const table = markdownTable({ rps: 1000, p50: 1, p99: 3 }, [m1, m3])
  t.match(table, /\| 1m \| tools\/list, modern \| 860 \| 2 \| 5 \| 0\.86 \(0\.96 of 1\) \| ≥ 0\.80, ≥ 0\.90 of 1 \|/)
})

test('a 2026-07-28 request as the SDK v2 client sends it', async (t) => {
  const list = modernRequest('tools/list', {}, 'Bearer x')
  t.match(list.headers, { 'mcp-protocol-version': MODERN_PROTOCOL_VERSION, 'mcp-method': 'tools/list', authorization: 'Bearer x', 'content-type': 'application/json' })
  t.equal(list.headers['mcp-name'], undefined, 'Mcp-Name only on a call')
  t.same(JSON.parse(list.body), {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/list',
    params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'iam-mcp-bench', version: '1.0.0' } } }
  })
  const call = modernRequest('tools/call', { name: 'get_applications', arguments: { limit: 10 } })
  t.equal(call.headers['mcp-name'], 'get_applications')
  t.equal(call.headers.authorization, undefined)
  t.match(JSON.parse(call.body).params, { name: 'get_applications', arguments: { limit: 10 }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } })
})
