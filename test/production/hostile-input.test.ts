import { test } from 'tap'
import net from 'node:net'
import { listen } from '../helper.js'
import { basic, callTool, mcp, request, succeeded, type HttpAnswer } from './process.js'
import { HOSTILE, leaks } from './hostile.js'

/**
 * A table of hostile inputs against a listening service: every refusal is the contract's
 * (4xx or a JSON-RPC error / isError result), nothing is a 5xx, nothing leaks internals, and
 * strings that are accepted are stored verbatim — never executed as SQL or markup.
 */

const BODY_LIMIT = 65_536
const auth = basic()

test('hostile JSON-RPC messages to /api/mcp', async (t) => {
  const { base } = await listen(t, { env: { BODY_LIMIT: String(BODY_LIMIT) } })
  const post = (body: string, headers: Record<string, string> = {}): Promise<HttpAnswer> => mcp(base, auth, body, headers)
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)

  const table: Array<{ name: string, body: string, headers?: Record<string, string>, status: number | number[], code?: number }> = [
    { name: 'malformed JSON', body: '{"jsonrpc":"2.0","id":1,"method":', status: 400, code: -32700 },
    { name: 'not JSON at all', body: 'SELECT 1; <script>', status: 400, code: -32700 },
    { name: 'empty body', body: '', status: 400, code: -32700 },
    { name: 'invalid UTF-8 bytes', body: '{"jsonrpc":"2.0","id":1,"method":"\udcff"}', status: [200, 400] },
    { name: 'a JSON string', body: '"tools/list"', status: 400, code: -32600 },
    { name: 'a JSON number', body: '42', status: 400, code: -32600 },
    { name: 'null', body: 'null', status: 400, code: -32600 },
    { name: 'no jsonrpc member', body: '{"id":1,"method":"tools/list"}', status: 400, code: -32600 },
    { name: 'jsonrpc 1.0', body: '{"jsonrpc":"1.0","id":1,"method":"tools/list"}', status: 400, code: -32600 },
    { name: 'id is an object', body: '{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}', status: 400, code: -32600 },
    { name: 'id is an array', body: '{"jsonrpc":"2.0","id":[1],"method":"tools/list"}', status: 400, code: -32600 },
    { name: 'id is a boolean', body: '{"jsonrpc":"2.0","id":true,"method":"tools/list"}', status: 400, code: -32600 },
    { name: 'method is a number', body: '{"jsonrpc":"2.0","id":1,"method":42}', status: 400, code: -32600 },
    { name: 'params is a string', body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"get_users"}', status: [200, 400], code: undefined },
    { name: 'unknown method', body: '{"jsonrpc":"2.0","id":1,"method":"../../admin"}', status: 200, code: -32601 },
    { name: 'unknown tool', body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_users; drop table users"}}', status: 200, code: -32602 },
    { name: 'arguments is an array', body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_users","arguments":[1,2]}}', status: 200 },
    { name: 'duplicate keys (the last wins, as in JSON.parse)', body: '{"jsonrpc":"2.0","id":1,"id":"second","method":"tools/list","method":"ping"}', status: 200 },
    { name: '__proto__ in arguments', body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_users","arguments":{"__proto__":{"isAdmin":true}}}}', status: [200, 400] },
    { name: 'constructor.prototype in params', body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_users","constructor":{"prototype":{"x":1}}}}', status: [200, 400] },
    { name: 'deep nesting in arguments', body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_users","arguments":{"filter":${deep(5000)}}}}`, status: [200, 400] },
    { name: 'deep nesting as the whole body', body: deep(30_000), status: 400 },
    { name: 'deep objects with __proto__', body: '{"a":'.repeat(3000) + '{"__proto__":1}' + '}'.repeat(3000), status: 400 },
    { name: 'empty batch', body: '[]', headers: { 'mcp-protocol-version': '2025-03-26' }, status: 400, code: -32600 },
    { name: 'batch under a version without batches', body: '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', status: 400, code: -32600 },
    { name: 'batch of 500 mixed messages', body: JSON.stringify(Array.from({ length: 500 }, (_, i) => i % 3 === 0 ? { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'get_users', arguments: { filter: HOSTILE[i % HOSTILE.length] } } } : i % 3 === 1 ? { id: i } : 'x')), headers: { 'mcp-protocol-version': '2025-03-26' }, status: [200, 400] },
    { name: 'body just over the limit', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(BODY_LIMIT) } }), status: 413, code: -32600 },
    { name: 'huge body (4 MiB)', body: 'x'.repeat(4 * 1024 * 1024), status: 413, code: -32600 },
    { name: 'unknown protocol version', body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', headers: { 'mcp-protocol-version': "2025-06-18'; drop table users" }, status: 400, code: -32022 }
  ]

  for (const c of table) {
    const res = await post(c.body, c.headers)
    const statuses = Array.isArray(c.status) ? c.status : [c.status]
    t.ok(statuses.includes(res.status), `${c.name}: HTTP ${res.status} (expected ${statuses.join(' or ')})`)
    t.ok(res.status < 500, `${c.name}: no 5xx`)
    t.equal(res.json?.jsonrpc ?? (Array.isArray(res.json) ? '2.0' : undefined), '2.0', `${c.name}: a JSON-RPC answer`)
    if (c.code !== undefined) t.equal(res.json?.error?.code, c.code, `${c.name}: error ${c.code}`)
    t.notOk(leaks(res), `${c.name}: nothing internal in the answer`)
  }

  const dup = await post('{"jsonrpc":"2.0","id":1,"id":"second","method":"tools/list","method":"ping"}')
  t.same(dup.json, { jsonrpc: '2.0', id: 'second', result: {} }, 'duplicate keys: the message JSON.parse sees is the one answered (ping, id "second")')

  for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'text/html; charset=utf-8']) {
    const res = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'content-type': type })
    t.equal(res.status, 415, `Content-Type ${type}: 415`)
    t.equal(res.json?.error?.code, -32600, `Content-Type ${type}: a JSON-RPC refusal`)
  }
  const noType = await request(`${base}/api/mcp`, { method: 'POST', headers: { authorization: auth, accept: 'application/json' }, body: new Uint8Array(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}')) })
  t.equal(noType.status, 415, 'no Content-Type: 415')
  const charset = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'content-type': 'application/json; charset=utf-16' })
  t.ok(charset.status === 415 || charset.status === 200 || charset.status === 400, `application/json with a foreign charset: refused or read (got ${charset.status})`)

  t.equal((await request(`${base}/health/ready`)).status, 200, 'still ready after all of it')
})

test('path traversal in names and URLs', async (t) => {
  const { base } = await listen(t)
  for (const name of ['..', '.', '../admin', 'built-in/../admin', 'a/b', '..\\admin', '%2e%2e', 'admin%00', 'admin\u0000']) {
    const res = await callTool(base, auth, 'add_user', { owner: 'built-in', name })
    t.equal(res.json?.result?.isError, true, `add_user name ${JSON.stringify(name)} is refused`)
  }
  for (const owner of ['../built-in', 'built-in/..', '..']) {
    const res = await callTool(base, auth, 'add_user', { owner, name: 'traversal' })
    t.equal(res.json?.result?.isError, true, `add_user owner ${JSON.stringify(owner)} is refused`)
  }
  for (const id of ['built-in/../built-in/admin', 'built-in/./admin', '../admin', 'built-in/admin/..', 'built-in%2fadmin']) {
    const res = await callTool(base, auth, 'get_user', { id })
    t.notOk(succeeded(res), `get_user ${JSON.stringify(id)} finds nothing`)
  }
  for (const path of ['/.well-known/../../etc/passwd', '/.well-known/%2e%2e/%2e%2e/etc/passwd', '/.well-known/..%2f..%2fetc%2fpasswd/oauth-protected-resource', '/login/assets/..%2f..%2f..%2fpackage.json', '/login/assets/../../../package.json', '/login/assets/%2e%2e/%2e%2e/app.ts', '/.well-known/app-built-in%00/jwks']) {
    const res = await request(`${base}${path}`)
    t.ok(res.status >= 400 && res.status < 500, `GET ${path}: ${res.status}`)
    t.notMatch(res.text, /"dependencies"|root:x:|import /, `GET ${path}: no file content`)
  }
})

test('Unicode user names: NFKC and case folding make look-alikes conflicts', async (t) => {
  const { base } = await listen(t)
  const add = (name: string): Promise<HttpAnswer> => callTool(base, auth, 'add_user', { owner: 'built-in', name })
  for (const name of ['ａｄｍｉｎ', 'ADMIN', 'Admin', 'ᴬᴰᴹᴵᴺ'.normalize('NFKC') === 'ADMIN' ? 'ᴬᴰᴹᴵᴺ' : 'ＡＤＭＩＮ']) {
    const res = await add(name)
    t.equal(res.json?.result?.isError, true, `${JSON.stringify(name)} conflicts with "admin"`)
    t.match(res.json?.result?.content?.[0]?.text, /exists|conflict|taken/i, 'as a conflict')
  }
  t.ok(succeeded(await add('café')), '"café" (precomposed) is added')
  const decomposed = await add('cafe\u0301')
  t.equal(decomposed.json?.result?.isError, true, '"cafe\\u0301" (combining accent) conflicts with "café"')
  t.ok(succeeded(await add('ｆｕｌｌ')), 'a full-width name is added')
  t.equal((await add('full')).json?.result?.isError, true, 'and its ASCII form conflicts with it')
  const rtl = await add('مدير')
  t.ok(succeeded(rtl), 'a right-to-left name is added')
  t.equal(rtl.json?.result?.structuredContent?.user?.name, 'مدير', 'and stored as given')
  for (const name of ['a\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301', 'x'.repeat(64) + '\u0301']) {
    const res = await add(name)
    t.equal(res.status, 200, `${JSON.stringify(name).slice(0, 30)}…: answered`)
    t.notOk(leaks(res, name), 'with nothing internal')
  }
})

test('oversized headers and slow bodies', async (t) => {
  const { base } = await listen(t, { env: { REQUEST_TIMEOUT: '1000' } })
  const { hostname, port } = new URL(base)

  const big = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`POST /api/mcp HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`)
    })
    let data = ''
    socket.setEncoding('utf8').on('data', (d: string) => { data += d }).on('close', () => { resolve(data) }).on('error', reject)
    socket.setTimeout(10_000, () => socket.destroy())
  })
  t.match(big, /^HTTP\/1\.1 431 /, 'a 64 KiB header: 431')

  // Headers, half a body, then silence: the server gives up after REQUEST_TIMEOUT (plus Node's
  // check interval), answers 408 or closes, and meanwhile serves everyone else.
  const started = Date.now()
  const slow = new Promise<string>((resolve) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`POST /api/mcp HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: ${auth}\r\nContent-Length: 100\r\n\r\n{"jsonrpc":`)
    })
    let data = ''
    socket.setEncoding('utf8').on('data', (d: string) => { data += d }).on('close', () => { resolve(data) }).on('error', () => { resolve(data) })
  })
  const meanwhile = await mcp(base, auth, { jsonrpc: '2.0', id: 1, method: 'ping' })
  t.equal(meanwhile.status, 200, 'other requests are served while a slow body hangs')
  let timer: NodeJS.Timeout | undefined
  const answer = await Promise.race([slow, new Promise<string>(resolve => { timer = setTimeout(() => { resolve('still open') }, 45_000) })])
  clearTimeout(timer)
  const waited = Date.now() - started
  t.not(answer, 'still open', `the slow request was ended after ${waited} ms`)
  t.ok(answer === '' || /^HTTP\/1\.1 408 /.test(answer), `with a 408 or a closed connection: ${JSON.stringify(answer.slice(0, 60))}`)
  t.ok(waited >= 900, 'not before REQUEST_TIMEOUT')
})

test('Unicode user names: invisible and bidi-control characters are refused (no invisible look-alike of "admin")', async (t) => {
  const { base } = await listen(t)
  for (const name of ['ad\u200bmin', 'admin\u200d', '\u200cadmin', '\u202eadmin', 'ad\u2066min', '\ufeffadmin', 'admin\u00ad', 'ad\u2060min']) {
    const res = await callTool(base, auth, 'add_user', { owner: 'built-in', name })
    t.equal(res.json?.result?.isError, true, `${JSON.stringify(name)} (an invisible or bidi-control character) is refused`)
  }
})
