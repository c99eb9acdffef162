import { test } from 'tap'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { boundedLifetime, fetchJson, freshness, isPublicAddress, type FetchPolicy } from '../../lib/net/fetch.js'

const insecure: FetchPolicy = { allowInsecure: true, timeoutMs: 1000, maxBytes: 5 * 1024 }
const strict: FetchPolicy = { ...insecure, allowInsecure: false }

test('fetchJson against a loopback server', async (t) => {
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/ok': res => { res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=120' }); res.end('{"a":1}') },
    '/jwks': res => { res.writeHead(200, { 'content-type': 'application/jwk-set+json; charset=utf-8' }); res.end('{"keys":[]}') },
    '/redirect': res => { res.writeHead(302, { location: '/ok' }); res.end() },
    '/missing': res => { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{}') },
    '/html': res => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<p>hi</p>') },
    '/broken': res => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"a":') },
    '/big-declared': res => { const body = JSON.stringify({ pad: 'x'.repeat(6000) }); res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body) },
    '/big-chunked': res => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"pad":"'); for (let i = 0; i < 10; i++) res.write('y'.repeat(1000)); res.end('"}') },
    '/exactly-limit': res => { const body = JSON.stringify({ pad: 'z'.repeat(5 * 1024 - 10) }); res.writeHead(200, { 'content-type': 'application/json' }); res.end(body) },
    '/silent': () => {}
  }
  const server = createServer((req, res) => { (routes[req.url ?? ''] ?? (r => { r.writeHead(500); r.end() }))(res) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const ok = await fetchJson(`${base}/ok`, insecure)
  t.same(ok.body, { a: 1 })
  t.equal(ok.freshForMs, 120_000)
  t.same((await fetchJson(`${base}/jwks`, insecure)).body, { keys: [] }, '+json media types are JSON')
  t.equal(JSON.stringify((await fetchJson(`${base}/exactly-limit`, insecure)).body).length, 5 * 1024, 'a body of exactly the limit is read')

  const refusals: Array<[string, string, FetchPolicy?]> = [
    ['/redirect', 'redirect'], ['/missing', 'status'], ['/html', 'content_type'], ['/broken', 'json'],
    ['/big-declared', 'too_large'], ['/big-chunked', 'too_large'],
    ['/silent', 'timeout', { ...insecure, timeoutMs: 200 }]
  ]
  for (const [path, reason, policy] of refusals) {
    await t.rejects(fetchJson(`${base}${path}`, policy ?? insecure), { name: 'FetchError', reason }, `${path} → ${reason}`)
  }

  // Without the development switch: http is refused before anything is sent, and so are names
  // and literals that are not public, whatever the scheme.
  await t.rejects(fetchJson(`${base}/ok`, strict), { name: 'FetchError', reason: 'url' }, 'http is refused')
  const port = (server.address() as AddressInfo).port
  await t.rejects(fetchJson(`https://127.0.0.1:${port}/ok`, strict), { name: 'FetchError', reason: 'address' }, 'a loopback literal')
  await t.rejects(fetchJson(`https://[::1]:${port}/ok`, strict), { name: 'FetchError', reason: 'address' }, 'an IPv6 loopback literal')
  await t.rejects(fetchJson(`https://localhost:${port}/ok`, strict), { name: 'FetchError', reason: 'address' }, 'a name resolving to loopback is checked at connect time')
  await t.rejects(fetchJson('https://user:pw@example.com/x', strict), { name: 'FetchError', reason: 'url' }, 'credentials in the URL')
  await t.rejects(fetchJson('ftp://example.com/x', strict), { name: 'FetchError', reason: 'url' })
  await t.rejects(fetchJson('not a url', strict), { name: 'FetchError', reason: 'url' })
})

test('isPublicAddress', async (t) => {
  const notPublic = ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1',
    '64:ff9b::7f00:1', '2002:7f00:1::', '2001:db8::1', 'ff02::1', 'example.com', '']
  for (const address of notPublic) t.notOk(isPublicAddress(address), `${address} is not public`)
  for (const address of ['93.184.216.34', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001::1']) t.ok(isPublicAddress(address), `${address} is public`)
})

test('freshness and bounds', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  t.equal(freshness({ 'cache-control': 'public, max-age=600' }, now), 600_000)
  t.equal(freshness({ 'cache-control': 'max-age=600', age: '100' }, now), 500_000)
  t.equal(freshness({ 'cache-control': 'no-store' }, now), 0)
  t.equal(freshness({ 'cache-control': 'no-cache, max-age=600' }, now), 0)
  t.equal(freshness({ expires: 'Thu, 01 Jan 2026 01:00:00 GMT', date: 'Thu, 01 Jan 2026 00:00:00 GMT' }, now), 3_600_000)
  t.equal(freshness({ expires: '0' }, now), 0, 'an invalid Expires is already stale')
  t.equal(freshness({}, now), undefined)
  t.equal(boundedLifetime(undefined, 60_000, 86_400_000), 60_000)
  t.equal(boundedLifetime(0, 60_000, 86_400_000), 60_000)
  t.equal(boundedLifetime(10 * 86_400_000, 60_000, 86_400_000), 86_400_000)
  t.equal(boundedLifetime(600_000, 60_000, 86_400_000), 600_000)
})
