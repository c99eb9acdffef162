import fp from 'fastify-plugin'
import { HotCounter } from '../lib/metrics.js'
import { createAuditLog, type AuditLog } from '../lib/mcp/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditLog
  }
}

/** The tool-call audit log (lib/mcp/audit.ts), its dropped-event counter, and its flush at close. */
export default fp(async function audit (fastify) {
  const droppedEvents = new HotCounter<never>('audit_events_dropped_total', 'Audit events the database refused and that were dropped', fastify.metrics.registry)
  const dropped = droppedEvents.find('', () => ({}))
  const auditLog = createAuditLog(fastify.store, fastify.log, (count) => { HotCounter.add(dropped, count) })
  fastify.decorate('audit', { record: auditLog.record, flush: auditLog.flush })
  // Registered after storage (a dependency), so this runs before the database is closed:
  // onClose hooks run in reverse order of registration.
  fastify.addHook('onClose', async () => { await auditLog.close() })
}, { name: 'audit', dependencies: ['storage', 'metrics'], fastify: '5.x' })
