/*
 * Which redirect URIs a request may name, decided here and nowhere else: exact string match
 * with a client's registered URIs, except that a registered loopback http URI accepts any port
 * (RFC 8252 §7.3: a native app listens on whatever port the system gives it at the time).
 */

const LOOPBACK_NAMES = new Set(['localhost', '[::1]'])

/** A hostname (as `URL.hostname` spells it) that names this machine's loopback interface. */
export function isLoopbackHost (hostname: string): boolean {
  return LOOPBACK_NAMES.has(hostname.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(hostname)
}

/** Whether this URI is `http` on a loopback host: the kind whose port may vary. */
export function isLoopbackRedirect (uri: string): boolean {
  const url = parse(uri)
  return url !== undefined && url.protocol === 'http:' && isLoopbackHost(url.hostname)
}

function parse (uri: string): URL | undefined {
  try {
    return new URL(uri)
  } catch {
    return undefined
  }
}

/** The URI without its port, in the parser's canonical spelling. */
function withoutPort (url: URL): string {
  const copy = new URL(url.href)
  copy.port = ''
  return copy.href
}

/**
 * Whether `requested` may be used as a redirect for a client that registered `registered`:
 * the same string, or — for a registered `http` loopback URI — the same URI on another port.
 * The requested URI must then already be in canonical form (no dot segments, no credentials,
 * no fragment, no odd spelling of the host), so that what is compared is what is redirected to.
 */
export function redirectUriMatches (registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true
  const asked = parse(requested)
  if (asked === undefined || asked.href !== requested) return false
  if (asked.protocol !== 'http:' || !isLoopbackHost(asked.hostname)) return false
  if (asked.username !== '' || asked.password !== '' || asked.hash !== '' || requested.includes('#')) return false
  const target = withoutPort(asked)
  return registered.some(uri => {
    const url = parse(uri)
    return url !== undefined && url.protocol === 'http:' && isLoopbackHost(url.hostname) && withoutPort(url) === target
  })
}
