import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import { clientKind } from '../lib/auth/policy.js'
import { createRegistry, createToolCaller, loadTools, type ToolCaller, type ToolRegistry } from '../lib/mcp/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    tools: ToolRegistry
    callTool: ToolCaller
  }
}

const here = dirname(fileURLToPath(import.meta.url))

export interface ToolRegistryOptions {
  toolsDir?: string
}

/** The tools of tools/ (or `toolsDir`), loaded once (lib/mcp/registry.ts), and the one way to call them. */
export default fp<ToolRegistryOptions>(async function toolRegistry (fastify, opts) {
  const dir = resolve(opts.toolsDir ?? join(here, '..', 'tools'))
  const tools = await loadTools(dir)
  const registry = createRegistry(tools)
  fastify.decorate('tools', registry)

  const { toolCalls } = fastify.metrics
  fastify.decorate('callTool', createToolCaller({
    registry,
    store: fastify.store,
    config: fastify.config,
    services: { signingKeys: fastify.signingKeys },
    audit: (event) => { fastify.audit.record(event) },
    count: (tool, outcome) => { toolCalls.inc(tool, outcome) },
    // The request's authentication has just read the client: it is held, no wait.
    clientKind: (clientId) => {
      const client = fastify.authState.peekApplication(clientId)
      return client === undefined ? '' : clientKind(client)
    },
    log: fastify.log
  }))
  fastify.log.debug({ tools: tools.length, dir }, 'tools loaded')
}, { name: 'tool-registry', dependencies: ['config', 'storage', 'metrics', 'audit', 'keys', 'auth-state'], fastify: '5.x' })
