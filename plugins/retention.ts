import fp from 'fastify-plugin'
import { HotCounter } from '../lib/metrics.js'
import { RetentionPurger } from '../lib/storage/retention.js'

/** How often each instance tries to purge; one of them at a time does (lib/storage/retention.ts). */
export const RETENTION_INTERVAL_MS = 10 * 60_000
/** A random part of the interval, so that instances started together do not all try at once. */
const JITTER_MS = 60_000
/** The first run waits this (plus jitter) after start, out of the way of the start itself. */
const FIRST_RUN_MS = 30_000
/** One-time values (a row per DPoP proof) are purged this often, between the full runs. */
export const USED_VALUES_INTERVAL_MS = 60_000

/**
 * Runs the retention purger periodically. A failed run is logged and counted
 * (`retention_errors_total`), never thrown: the next run tries again.
 */
export default fp(async function retention (fastify) {
  const { store, config } = fastify
  const purger = new RetentionPurger(store, {
    auditRetentionDays: config.AUDIT_RETENTION_DAYS,
    refreshTokenTtl: config.REFRESH_TOKEN_TTL,
    loginLockoutSeconds: config.LOGIN_LOCKOUT_SECONDS
  })
  const errors = new HotCounter<never>('retention_errors_total', 'Retention purges that failed (the next one tries again)', fastify.metrics.registry)
  const purged = new HotCounter<'table'>('retention_purged_rows_total', 'Rows the retention purger deleted, by table', fastify.metrics.registry)
  let closing = false
  let running: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  let usedValuesTimer: NodeJS.Timeout | undefined

  /** A full run, or (`usedValuesOnly`) the minute's purge of one-time values. */
  async function runOnce (usedValuesOnly: boolean): Promise<void> {
    try {
      const counts = usedValuesOnly
        ? await purger.runUsedValues(() => closing).then(n => n === undefined ? undefined : { usedValues: n })
        : await purger.run(() => closing)
      if (counts === undefined) return
      for (const [table, n] of Object.entries(counts)) if (n > 0) purged.inc(table, () => ({ table }), n)
      if (!usedValuesOnly && Object.values(counts).some(n => n > 0)) fastify.log.info({ purged: counts }, 'retention purge')
    } catch (err) {
      errors.inc('', () => ({}))
      fastify.log.warn({ err }, 'retention purge failed')
    }
  }

  /**
   * One run at a time in this instance (they share its lease). The minute's purge of one-time
   * values due during another run is left out; a full run due during the minute's waits for it.
   */
  function start (usedValuesOnly: boolean): Promise<void> {
    if (running !== undefined) return usedValuesOnly ? running : running.then(() => start(false))
    running = runOnce(usedValuesOnly).finally(() => { running = undefined })
    return running
  }

  function schedule (delay: number): void {
    if (closing) return
    timer = setTimeout(() => {
      start(false).finally(() => schedule(RETENTION_INTERVAL_MS)).catch(() => {})
    }, delay + Math.floor(Math.random() * JITTER_MS))
    timer.unref()
  }
  fastify.addHook('onReady', async () => {
    schedule(FIRST_RUN_MS)
    // runOnce never rejects: its failures are logged and counted.
    usedValuesTimer = setInterval(() => { start(true).catch(() => {}) }, USED_VALUES_INTERVAL_MS)
    usedValuesTimer.unref()
  })
  fastify.addHook('onClose', async () => {
    closing = true
    clearTimeout(timer)
    clearInterval(usedValuesTimer)
    await running
  })
}, { name: 'retention', dependencies: ['config', 'storage', 'metrics'], fastify: '5.x' })
