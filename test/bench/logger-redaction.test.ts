// Log redaction as a pino formatter (pino's wildcard redact paths cost ~30 µs a request under load).
import { Writable } from 'node:stream'
import { test } from 'tap'
import pino from 'pino'
import { lazyChildLogger, loggerOptions, redactLogObject, requestIds } from '../../lib/logger.js'

function capture (): { logger: pino.Logger, lines: () => Array<Record<string, unknown>> } {
  const out: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { out.push(String(chunk)); done() } })
  const logger = pino(loggerOptions('info') as pino.LoggerOptions, stream)
  return { logger, lines: () => out.join('').trim().split('\n').map(l => JSON.parse(l)) }
}

test('secret-named keys are censored at the top and one level down', async (t) => {
  const input = { password: 'p', token: 't', body: { client_secret: 'c', clientSecret: 'c2', user: 'u' }, n: 1 }
  const out = redactLogObject(input)
  t.same(out, { password: '[Redacted]', token: '[Redacted]', body: { client_secret: '[Redacted]', clientSecret: '[Redacted]', user: 'u' }, n: 1 })
  t.same(input, { password: 'p', token: 't', body: { client_secret: 'c', clientSecret: 'c2', user: 'u' }, n: 1 }, 'the caller\'s object is not changed')
})

test('credential headers under a top-level headers object, any case', async (t) => {
  t.same(redactLogObject({ headers: { Authorization: 'Bearer x', cookie: 'sid=1', 'set-cookie': 'a', accept: '*/*' } }),
    { headers: { Authorization: '[Redacted]', cookie: '[Redacted]', 'set-cookie': '[Redacted]', accept: '*/*' } })
  t.same(redactLogObject({ other: { authorization: 'kept: only headers objects carry credentials by name' } }),
    { other: { authorization: 'kept: only headers objects carry credentials by name' } })
})

test('nothing to censor: the very same object comes back (no copy on the hot path)', async (t) => {
  const input = { res: { statusCode: 200 }, responseTime: 1.5, list: [{ password: 'arrays are not walked, as before' }] }
  t.equal(redactLogObject(input), input)
  const req = { method: 'GET', headers: { authorization: 'left to the req serializer' } }
  t.equal(redactLogObject({ req }).req, req, 'req and res are their serializers\' business')
})

test('an error holding a secret is copied with its message and stack', async (t) => {
  const err = Object.assign(new Error('boom'), { code: 'E_X', secret: 's' })
  const out = redactLogObject({ err }) as unknown as { err: Record<string, unknown> }
  t.equal(out.err.secret, '[Redacted]')
  t.equal(out.err.message, 'boom')
  t.equal(out.err.code, 'E_X')
  t.match(out.err.stack, /boom/)
  t.equal(err.secret, 's', 'the original error is untouched')
})

test('through pino: log objects, child bindings and the req serializer', async (t) => {
  const { logger, lines } = capture()
  logger.child({ reqId: 'r1', token: 'bound-secret' }).info({ body: { password: 'pw-secret' }, access_token: 'at-secret' }, 'hello')
  logger.info({ req: { method: 'GET', url: '/x?code=code-secret&y=1', ip: '127.0.0.1', headers: { authorization: 'Bearer hdr-secret' } } }, 'incoming request')
  const all = JSON.stringify(lines())
  for (const secret of ['bound-secret', 'pw-secret', 'at-secret', 'code-secret', 'hdr-secret']) t.notOk(all.includes(secret), `no ${secret}`)
  const [first, second] = lines()
  t.match(first, { reqId: 'r1', token: '[Redacted]', body: { password: '[Redacted]' }, access_token: '[Redacted]', msg: 'hello' })
  t.same(second.req, { method: 'GET', url: '/x?code=%5BRedacted%5D&y=1', remoteAddress: '127.0.0.1' })
})

test('request loggers: a pino child with the request id, made only when a line is written', async (t) => {
  const { logger, lines } = capture()
  let children = 0
  // Counts children made of the root logger (pino's children inherit this property).
  const child = logger.child
  logger.child = function (this: pino.Logger, ...args: Parameters<typeof child>) {
    if (this === logger) children++
    return child.apply(this, args)
  } as typeof logger.child
  const log = lazyChildLogger(logger, { reqId: 'r1' }, {})
  t.equal(log.level, 'info')
  log.debug('below the level')
  log.trace({ x: 1 }, 'below the level')
  t.equal(children, 0, 'nothing written: no child made')
  log.info({ token: 'secret-value' }, 'hello')
  log.warn('again')
  t.equal(children, 1, 'made once, on the first line written')
  const [first, second] = lines()
  t.match(first, { reqId: 'r1', token: '[Redacted]', msg: 'hello', level: 30 })
  t.match(second, { reqId: 'r1', msg: 'again', level: 40 })
  log.child({ tool: 'x' }).error('from a grandchild')
  t.match(lines()[2], { reqId: 'r1', tool: 'x', msg: 'from a grandchild' })
  log.level = 'debug'
  log.debug('now enabled')
  t.match(lines()[3], { msg: 'now enabled', level: 20 })
  t.equal(lazyChildLogger(logger, { reqId: 'r2' }, { level: 'warn' }).level, 'warn', 'a route with its own level gets a real child at once')

  const next = requestIds()
  const ids = [next(), next(), next()]
  t.equal(new Set(ids).size, 3)
  t.match(ids[0], /^[A-Za-z0-9_-]{8}-0$/)
  t.not(requestIds()().split('-')[0], ids[0].split('-')[0], 'another process start, another prefix')
})
