import { test } from 'tap'
import fc from 'fast-check'
import {
  acceptsJson, allowsBatches, classify, decodeHeaderValue, errorBody, isJsonContentType, isSupportedVersion, requestEra, resultBody, transportRefusal
} from '../../lib/mcp/protocol.js'
import { ToolListPages, asciiJson, decodeToolsCursor, encodeToolsCursor } from '../../lib/mcp/list.js'

test('classify: any JSON value is a request, a notification, a response or invalid — never a throw', async (t) => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    const c = classify(value)
    if (c.kind === 'request' || c.kind === 'notification') {
      const m = value as Record<string, unknown>
      return m.jsonrpc === '2.0' && typeof m.method === 'string' && m.method !== ''
    }
    if (c.kind === 'invalid') return c.id === null || typeof c.id === 'string' || typeof c.id === 'number'
    return c.kind === 'response'
  }))
  t.match(classify({ jsonrpc: '2.0', id: 0, method: 'ping' }), { kind: 'request', message: { id: 0 } })
  t.match(classify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { kind: 'notification' })
  t.match(classify({ jsonrpc: '2.0', id: 'x', error: { code: 1, message: 'm' } }), { kind: 'response' })
  t.match(classify({ jsonrpc: '2.0', id: 'x' }), { kind: 'invalid', id: 'x', reason: 'method is required' })
  t.match(classify({ jsonrpc: '2.0', id: Infinity, method: 'ping' }), { kind: 'invalid', id: null })
  t.match(classify({ jsonrpc: '2.0', id: true, method: 'ping' }), { kind: 'invalid', id: null })
  t.match(classify({ jsonrpc: '2.0', id: 1, method: '' }), { kind: 'invalid', id: 1 })
  t.match(classify({ jsonrpc: '2.0', id: 1, method: 'ping', params: null }), { kind: 'invalid', reason: 'params must be an object' })
})

test('Accept and Content-Type', async (t) => {
  for (const accept of [undefined, '', '*/*', 'application/json', 'APPLICATION/JSON', 'application/*', 'text/event-stream, application/json', 'application/json;q=0.5', 'text/html;q=0.9, */*;q=0.1']) {
    t.ok(acceptsJson(accept), String(accept))
  }
  for (const accept of ['text/event-stream', 'text/html', 'application/json;q=0', 'application/jsonx', 'image/*']) {
    t.notOk(acceptsJson(accept), accept)
  }
  t.ok(acceptsJson('application/json'), 'cached answers stay right')
  for (let i = 0; i < 300; i++) acceptsJson(`x/y${i}`)
  t.ok(acceptsJson('*/*'), 'a caller cannot grow the cache without bound, nor break it')
  t.ok(isJsonContentType('application/json'))
  t.ok(isJsonContentType('Application/JSON ; charset=utf-8'))
  t.notOk(isJsonContentType(undefined))
  t.notOk(isJsonContentType('application/json-seq'))
  t.notOk(isJsonContentType('text/plain'))
})

test('versions and bodies', async (t) => {
  t.ok(isSupportedVersion('2025-11-25'))
  t.ok(isSupportedVersion('2024-11-05'))
  t.notOk(isSupportedVersion('2024-10-07'))
  t.ok(allowsBatches('2025-03-26'))
  t.ok(allowsBatches('2024-11-05'))
  t.notOk(allowsBatches('2025-06-18'))
  t.notOk(allowsBatches('2025-11-25'))
  t.same(JSON.parse(errorBody('a"b', { code: -32601, message: 'x' })), { jsonrpc: '2.0', id: 'a"b', error: { code: -32601, message: 'x' } })
  t.same(JSON.parse(resultBody(7, '{"a":1}')), { jsonrpc: '2.0', id: 7, result: { a: 1 } })
  t.same(JSON.parse(transportRefusal('no')), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'no' } })
})

test('tools/list pages: cursors we made, every tool once, in order', async (t) => {
  const tools = (n: number): Array<{ descriptor: { name: string } }> => Array.from({ length: n }, (_, i) => ({ descriptor: { name: `t${i}` } }))
  type Answer = { jsonrpc: string, id: string | number, result: { tools: Array<{ name: string }>, nextCursor?: string } }
  const read = (buf: Buffer | undefined): Answer => JSON.parse(buf?.toString('utf8') ?? 'null')

  for (const n of [0, 1, 3, 4, 7]) {
    const pages = new ToolListPages<{ descriptor: { name: string } }>(3)
    const visible = tools(n)
    const seen: string[] = []
    let cursor: string | undefined
    let count = 0
    do {
      const answer = read(pages.answer(visible, cursor, count))
      t.equal(answer.id, count)
      t.ok(answer.result.tools.length <= 3)
      seen.push(...answer.result.tools.map(tool => tool.name))
      cursor = answer.result.nextCursor
      count++
    } while (cursor !== undefined && count < 10)
    t.same(seen, visible.map(v => v.descriptor.name), `${n} tools`)
    t.same(read(pages.answer([], undefined, 1)), { jsonrpc: '2.0', id: 1, result: { tools: [] } })
  }
  const pages = new ToolListPages<{ descriptor: { name: string } }>(3)
  const visible = tools(4)
  t.equal(pages.answer(visible, encodeToolsCursor(2), 1), undefined, 'past the last page')
  t.equal(pages.answer(visible, 'garbage', 1), undefined)
  t.equal(pages.answer(visible, '', 1), undefined)
  t.equal(pages.answer(visible, 'x'.repeat(100), 1), undefined)
  t.equal(pages.answer(visible, pages.answer(visible, undefined, 1)?.toString(), 1), undefined)
  t.equal(decodeToolsCursor(encodeToolsCursor(12)), 12)
  t.equal(decodeToolsCursor(Buffer.from('tools-page:0').toString('base64url')), undefined)
  fc.assert(fc.property(fc.string(), (s) => { const d = decodeToolsCursor(s); return d === undefined || (Number.isInteger(d) && d >= 1) }))
})

test('asciiJson: the same JSON value, in ASCII only', async (t) => {
  for (const value of [{ d: 'é — “quoted” 😀 \u2028', n: 1 }, ['\u007f', '\u0080', '\uffff'], 'plain', { nested: { x: ['ß'] } }]) {
    const text = asciiJson(value)
    t.ok([...text].every(c => c.charCodeAt(0) < 0x7f), 'only ASCII')
    t.same(JSON.parse(text), value)
  }
  t.equal(asciiJson({ a: 'b' }), '{"a":"b"}', 'ASCII text is written as JSON.stringify writes it')
  fc.assert(fc.property(fc.jsonValue(), (v) => { const text = asciiJson(v); return [...text].every(c => c.charCodeAt(0) < 0x7f) && JSON.stringify(JSON.parse(text)) === JSON.stringify(v) }))
})

test('tools/list answers: any id framed exactly; small integer ids kept whole, within a budget', async (t) => {
  // Non-ASCII descriptions: the answer is UTF-8 bytes, framed without re-encoding.
  const visible = [{ descriptor: { name: 'é', description: 'a — b' } }]
  const pages = new ToolListPages<{ descriptor: unknown }>()
  for (const id of [0, 1, 15, 16, -1, 1.5, 'é', 'a"b', '', 2 ** 53]) {
    const bytes = pages.answer(visible, undefined, id)
    t.ok(typeof id !== 'number' || bytes?.every(b => b < 0x80), 'the page itself is ASCII bytes')
    const answer = JSON.parse(bytes?.toString('utf8') ?? 'null')
    t.same(answer, { jsonrpc: '2.0', id, result: { tools: [{ name: 'é', description: 'a — b' }] } }, `id ${JSON.stringify(id)}`)
  }
  t.equal(pages.answer(visible, undefined, 1), pages.answer(visible, undefined, 1), 'id 1: the same bytes again')
  t.not(pages.answer(visible, undefined, 16), pages.answer(visible, undefined, 16), 'id 16: framed per request')
  t.not(pages.answer(visible, undefined, 'x'), pages.answer(visible, undefined, 'x'), 'string ids: framed per request')

  // Past the 16 MiB budget, the oldest lists' kept answers are dropped (and made again on use).
  const big = (i: number): Array<{ descriptor: unknown }> => [{ descriptor: { name: `big${i}`, pad: 'x'.repeat(1024 * 1024) } }]
  const lists = Array.from({ length: 20 }, (_, i) => big(i))
  const first = pages.answer(lists[0], undefined, 0)
  t.equal(pages.answer(lists[0], undefined, 0), first, 'kept while within the budget')
  for (const list of lists.slice(1)) pages.answer(list, undefined, 0)
  const again = pages.answer(lists[0], undefined, 0)
  t.not(again, first, 'dropped once the budget was exceeded')
  t.same(again, first, 'and made again, the same bytes')
  const last = pages.answer(lists[19], undefined, 0)
  t.equal(pages.answer(lists[19], undefined, 0), last, 'recent lists keep theirs')
})

test('eras: the modern revision named by the header or _meta; unsupported versions and where they were named', async (t) => {
  t.same(requestEra(undefined, undefined), { era: 'legacy', version: '2025-03-26' })
  t.same(requestEra('2025-06-18', undefined), { era: 'legacy', version: '2025-06-18' })
  t.same(requestEra('2026-07-28', undefined), { era: 'modern' })
  t.same(requestEra(undefined, '2026-07-28'), { era: 'modern' })
  t.same(requestEra('2030-01-01', '2026-07-28'), { era: 'modern' }, 'a disagreement is the modern checks\' to answer')
  t.same(requestEra('2030-01-01', undefined), { era: 'unsupported', requested: '2030-01-01', source: 'header' })
  t.same(requestEra('2025-11-25', 'v9'), { era: 'unsupported', requested: 'v9', source: 'meta' })
})

test('mirrored header values: whitespace trimmed, the Base64 sentinel decoded, bad sentinels refused', async (t) => {
  t.equal(decodeHeaderValue('echo'), 'echo')
  t.equal(decodeHeaderValue(' \techo  '), 'echo')
  t.equal(decodeHeaderValue('=?base64?SGVsbG8sIOS4lueVjA==?='), 'Hello, 世界')
  t.equal(decodeHeaderValue('=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?='), '=?base64?literal?=')
  t.equal(decodeHeaderValue('=?base64??='), '')
  t.equal(decodeHeaderValue('=?base64?SGVsbG8?='), undefined, 'no padding')
  t.equal(decodeHeaderValue('=?base64?SGV%%G8=?='), undefined, 'not Base64')
  t.equal(decodeHeaderValue('=?base64?/w==?='), undefined, 'not UTF-8')
  t.equal(decodeHeaderValue('=?BASE64?SGk=?='), '=?BASE64?SGk=?=', 'the markers are case-sensitive: a literal')
})
