import { BlockList, isIP } from 'node:net'
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'

/**
 * The one way this service fetches a document named by someone else (a client's metadata
 * document, a client's or an identity provider's JWK Set): an attacker chooses the URL, so the
 * fetch must not reach into our network (SSRF), follow redirects, read without bound or wait
 * without bound. The address checked is the address connected to: the check runs inside the
 * socket's own DNS lookup, so a name that resolves to a public address once and a private one
 * the next time (DNS rebinding) cannot slip through.
 */
export interface FetchPolicy {
  /** Development and tests only: also `http`, and loopback or private addresses. */
  allowInsecure: boolean
  /** The whole exchange, connect to last byte. */
  timeoutMs: number
  /** Bodies longer than this are refused without reading the rest. */
  maxBytes: number
}

export const DEFAULT_FETCH_POLICY: FetchPolicy = { allowInsecure: false, timeoutMs: 3000, maxBytes: 5 * 1024 }

export type FetchFailure = 'url' | 'address' | 'redirect' | 'status' | 'content_type' | 'too_large' | 'timeout' | 'json' | 'network'

/** Why a document could not be had; `message` is safe to show to the client that named the URL. */
export class FetchError extends Error {
  constructor (readonly reason: FetchFailure, message: string) {
    super(message)
    this.name = 'FetchError'
  }
}

export interface FetchedJson {
  body: unknown
  /** How long the response may be reused, per its caching headers (RFC 9111), before bounds. */
  freshForMs: number | undefined
}

// Everything that is not a globally routable unicast address (IANA special-purpose registries).
// Two lists: a BlockList holding ::ffff:0:0/96 also matches every IPv4 address checked against it.
const NON_PUBLIC_V4 = new BlockList()
const NON_PUBLIC_V6 = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]
] as const) NON_PUBLIC_V4.addSubnet(net, prefix, 'ipv4')
for (const [net, prefix] of [
  // Unspecified, loopback, IPv4-mapped and -translated (they reach IPv4 space unchecked),
  // discard, IETF assignments (Teredo included), documentation, 6to4, unique local,
  // site-local, link-local, multicast.
  ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64],
  ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fec0::', 10], ['fe80::', 10], ['ff00::', 8]
] as const) NON_PUBLIC_V6.addSubnet(net, prefix, 'ipv6')

/** Whether an IP address is globally routable unicast (not loopback, private, link-local, …). */
export function isPublicAddress (address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  return family === 4 ? !NON_PUBLIC_V4.check(address, 'ipv4') : !NON_PUBLIC_V6.check(address, 'ipv6')
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/** A `lookup` for sockets that refuses names resolving to any non-public address. */
function publicOnlyLookup (hostname: string, options: { all?: boolean, family?: number | string }, callback: LookupCallback): void {
  dnsLookup(hostname, { all: true, family: options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (typeof options.family === 'number' ? options.family : 0) }, (err, addresses) => {
    if (err !== null) { callback(err, []); return }
    // One non-public answer refuses the name: which one the socket tries first is not ours to pick.
    if (addresses.length === 0 || addresses.some(a => !isPublicAddress(a.address))) {
      callback(Object.assign(new Error(`${hostname} does not resolve to a public address`), { code: 'ENONPUBLIC' }), [])
      return
    }
    if (options.all === true) callback(null, addresses)
    else callback(null, addresses[0].address, addresses[0].family)
  })
}

/** The URL, parsed, if this policy lets us fetch it; else a FetchError('url' | 'address'). */
export function checkFetchableUrl (raw: string, policy: Pick<FetchPolicy, 'allowInsecure'>): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FetchError('url', 'not a URL')
  }
  if (url.protocol !== 'https:' && !(policy.allowInsecure && url.protocol === 'http:')) throw new FetchError('url', 'only https URLs are fetched')
  if (url.username !== '' || url.password !== '') throw new FetchError('url', 'URLs with credentials are not fetched')
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  if (isIP(literal) !== 0 && !policy.allowInsecure && !isPublicAddress(literal)) throw new FetchError('address', 'the URL names a non-public address')
  return url
}

/** How long a response may be reused, from Cache-Control max-age, else Expires; undefined when unsaid. */
export function freshness (headers: http.IncomingHttpHeaders, now = Date.now()): number | undefined {
  const cacheControl = String(headers['cache-control'] ?? '').toLowerCase()
  const age = Number.parseInt(String(headers.age ?? '0'), 10)
  const used = Number.isFinite(age) && age > 0 ? age * 1000 : 0
  if (/(^|[,\s])(no-store|no-cache)($|[,\s=])/.test(cacheControl)) return 0
  const maxAge = /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/.exec(cacheControl)
  if (maxAge !== null) return Math.max(0, Number(maxAge[1]) * 1000 - used)
  if (headers.expires !== undefined) {
    const expires = Date.parse(String(headers.expires))
    const date = headers.date === undefined ? now : Date.parse(String(headers.date))
    if (Number.isNaN(expires)) return 0
    return Math.max(0, expires - (Number.isNaN(date) ? now : date) - used)
  }
  return undefined
}

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i

/**
 * GETs a JSON document under `policy`: one request, no redirects (a 3xx is refused), status 200,
 * a JSON media type, at most `maxBytes`, within `timeoutMs`, no cookies or credentials sent.
 */
export async function fetchJson (raw: string, policy: FetchPolicy = DEFAULT_FETCH_POLICY): Promise<FetchedJson> {
  const url = checkFetchableUrl(raw, policy)
  const client = url.protocol === 'https:' ? https : http
  return await new Promise<FetchedJson>((resolve, reject) => {
    let settled = false
    const fail = (error: FetchError): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request.destroy()
      reject(error)
    }
    const request = client.request(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'iam-mcp' },
      agent: false,
      ...(policy.allowInsecure ? {} : { lookup: publicOnlyLookup as unknown as typeof dnsLookup })
    }, (response) => {
      const status = response.statusCode ?? 0
      if (status >= 300 && status < 400) { fail(new FetchError('redirect', `the document answered ${status}: redirects are not followed`)); return }
      if (status !== 200) { fail(new FetchError('status', `the document answered ${status}`)); return }
      if (!JSON_TYPE.test(String(response.headers['content-type'] ?? ''))) { fail(new FetchError('content_type', 'the document is not served as JSON')); return }
      const declared = Number(response.headers['content-length'])
      if (Number.isFinite(declared) && declared > policy.maxBytes) { fail(new FetchError('too_large', `the document is larger than ${policy.maxBytes} bytes`)); return }
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > policy.maxBytes) { fail(new FetchError('too_large', `the document is larger than ${policy.maxBytes} bytes`)); return }
        chunks.push(chunk)
      })
      response.on('error', () => fail(new FetchError('network', 'the document could not be read')))
      response.on('end', () => {
        if (settled) return
        let body: unknown
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          fail(new FetchError('json', 'the document is not valid JSON'))
          return
        }
        settled = true
        clearTimeout(timer)
        resolve({ body, freshForMs: freshness(response.headers) })
      })
    })
    const timer = setTimeout(() => fail(new FetchError('timeout', `the document did not arrive within ${policy.timeoutMs} ms`)), policy.timeoutMs)
    request.on('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'ENONPUBLIC'
        ? new FetchError('address', 'the host does not resolve to a public address')
        : new FetchError('network', `the host could not be reached (${err.code ?? 'error'})`))
    })
    request.end()
  })
}

/** A freshness lifetime clamped to `[minMs, maxMs]`; unsaid or zero gives the minimum. */
export function boundedLifetime (freshForMs: number | undefined, minMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(minMs, freshForMs ?? minMs))
}
