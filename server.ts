import Fastify from 'fastify'
import closeWithGrace from 'close-with-grace'
import fp from 'fastify-plugin'
import pino from 'pino'
import app, { serverOptions } from './app.js'
import { ConfigError, readConfig } from './lib/config.js'

let config
try {
  config = readConfig(process.env, true)
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`iam-mcp: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}

// Log lines are buffered and written 4 kB at a time, and at least every 100 ms: a write(2) per
// line (pino's default) was the access log's largest cost on a busy endpoint. Writes stay
// synchronous (no thread-pool round trip per batch); what is pending is written on exit.
const logStream = pino.destination({ dest: 1, sync: true, minLength: 4096, periodicFlush: 100 })
process.on('exit', () => { logStream.flushSync() })
const server = Fastify(serverOptions(config, logStream))

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT }, async function ({ signal, err }) {
  if (err !== undefined) server.log.error({ err }, 'server closing after an error')
  else server.log.info({ signal }, 'server closing')
  // A keep-alive connection busy when closing starts stays open after its answer and would hold
  // close() until keepAliveTimeout (past SHUTDOWN_TIMEOUT: exit 1): close each once it is idle.
  const sweeper = setInterval(() => { server.server.closeIdleConnections() }, 50)
  try {
    await server.close()
  } finally {
    clearInterval(sweeper)
  }
})

try {
  // fp: the app's error and not-found handlers and decorators apply to the whole server,
  // exactly as in the tests.
  await server.register(fp(app))
  await server.listen({ port: config.PORT, host: config.HOST })
} catch (err) {
  server.log.fatal({ err }, 'start-up failed')
  process.stderr.write(`iam-mcp: start-up failed: ${(err as Error).message}\n`)
  await server.close().catch(() => {})
  process.exit(1)
}
