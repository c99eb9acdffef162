import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ENTERPRISE_EXTENSION } from '../oauth/id-jag.js'
import { META_SERVER_INFO, SUPPORTED_VERSIONS, type ProtocolVersion } from './protocol.js'

/** The name in `serverInfo`, and the package whose version it reports. */
export const SERVER_NAME = 'iam-mcp'
export const INSTRUCTIONS = 'Identity and access management for organizations, users, applications, roles, ' +
  'permissions, tokens, sessions, signing keys and the audit log. Objects are named "owner/name" ' +
  '(organizations are owned by "admin"). List tools are paged: pass the returned nextCursor to get ' +
  'more. The tools you see are the ones your token\'s scopes allow; get_account says who you are.'

/** The service's version, from the package.json above this file (source or dist/). */
export function packageVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string, version?: string }
      if (pkg.name === SERVER_NAME && typeof pkg.version === 'string') return pkg.version
    }
    dir = dirname(dir)
  }
  return '0.0.0'
}

/** The `initialize` result for a version we speak, serialized: it does not depend on the request. */
export function initializeResult (protocolVersion: ProtocolVersion, serverVersion: string): string {
  return JSON.stringify({
    protocolVersion,
    capabilities: { tools: { listChanged: false } },
    serverInfo: serverInfo(serverVersion),
    instructions: INSTRUCTIONS
  })
}

/**
 * The extensions this server supports, as `server/discover` advertises them in
 * `capabilities.extensions` (identifier → settings; an empty object is support without
 * settings). The authorization extensions add themselves here.
 */
export const SERVER_EXTENSIONS: ReadonlyArray<{ id: string, settings: Readonly<Record<string, unknown>> }> = [
  // modelcontextprotocol/ext-auth: machine clients get tokens by client_credentials, preferably
  // authenticating with private_key_jwt; the extension defines no settings.
  { id: 'io.modelcontextprotocol/oauth-client-credentials', settings: {} },
  { id: ENTERPRISE_EXTENSION, settings: {} }
]

/**
 * How long a client may keep a `server/discover` answer: it changes only with a deploy, and
 * it is the same for every caller (`cacheScope: "public"`).
 */
export const DISCOVER_TTL_MS = 600_000
/**
 * How long a client may keep a `tools/list` page: tools change only with a deploy, the
 * caller's scopes only with a new token. It depends on those scopes: `cacheScope: "private"`.
 */
export const TOOLS_LIST_TTL_MS = 300_000

function serverInfo (serverVersion: string): Record<string, string> {
  return { name: SERVER_NAME, title: 'IAM MCP', version: serverVersion }
}

/** The `_meta` every modern result carries, as serialized members (no braces) to splice into a result. */
export function modernResultMembers (serverVersion: string): string {
  return `"resultType":"complete","_meta":${JSON.stringify({ [META_SERVER_INFO]: serverInfo(serverVersion) })}`
}

/** The members a modern `tools/list` page adds to the legacy page: the result type, cache hints and `_meta`. */
export function modernListMembers (serverVersion: string): string {
  return `"resultType":"complete","ttlMs":${TOOLS_LIST_TTL_MS},"cacheScope":"private","_meta":${JSON.stringify({ [META_SERVER_INFO]: serverInfo(serverVersion) })}`
}

/**
 * The `server/discover` result, serialized: the same in both eras and for every caller.
 * `extensions` is the spec's map of identifier to settings.
 */
export function discoverResult (serverVersion: string, extensions = SERVER_EXTENSIONS): string {
  return JSON.stringify({
    resultType: 'complete',
    supportedVersions: SUPPORTED_VERSIONS,
    capabilities: {
      tools: { listChanged: false },
      extensions: Object.fromEntries(extensions.map(e => [e.id, e.settings]))
    },
    instructions: INSTRUCTIONS,
    ttlMs: DISCOVER_TTL_MS,
    cacheScope: 'public',
    _meta: { [META_SERVER_INFO]: serverInfo(serverVersion) }
  })
}
