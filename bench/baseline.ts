/**
 * The bare Fastify baseline: one POST route that parses the JSON body (Fastify's own parser)
 * and answers a constant JSON-RPC reply of a given size — the ceiling our endpoint is measured
 * against. Run as its own process by bench/run.ts:
 *
 *   BASELINE_PORT=0 BASELINE_REPLY_BYTES=12345 node --import tsx bench/baseline.ts
 *
 * It prints `listening <port>` on stdout once it accepts connections.
 */
import { pathToFileURL } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'

/**
 * A JSON-RPC 2.0 result of exactly `bytes` bytes (UTF-8), shaped like a `tools/list` reply;
 * a padding string makes up the size. Never smaller than the empty reply.
 */
export function constantReply (bytes: number): string {
  const empty = '{"jsonrpc":"2.0","id":1,"result":{"tools":[],"_pad":""}}'
  const pad = Math.max(0, Math.floor(bytes) - Buffer.byteLength(empty))
  return `{"jsonrpc":"2.0","id":1,"result":{"tools":[],"_pad":"${'x'.repeat(pad)}"}}`
}

export async function startBaseline (replyBytes: number, port = 0): Promise<FastifyInstance> {
  const reply = constantReply(replyBytes)
  const app = Fastify({ logger: false })
  app.post('/api/mcp', async (request, res) => {
    // The body is parsed by Fastify's JSON parser before this runs, as on the real endpoint.
    if (request.body === undefined) throw new Error('no body')
    return res.type('application/json').send(reply)
  })
  await app.listen({ port, host: '127.0.0.1' })
  return app
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bytes = Number(process.env.BASELINE_REPLY_BYTES ?? '1024')
  const app = await startBaseline(bytes, Number(process.env.BASELINE_PORT ?? '0'))
  const address = app.server.address()
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : address}\n`)
  const stop = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
