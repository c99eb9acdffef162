import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProtocolVersion } from './protocol.js'

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
    serverInfo: { name: SERVER_NAME, title: 'IAM MCP', version: serverVersion },
    instructions: INSTRUCTIONS
  })
}
