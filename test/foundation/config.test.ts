import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { ConfigError, EnvSchema, readConfig } from '../../lib/config.js'
import { WITHOUT_TAP } from '../helper.js'

test('defaults give a working local configuration', async (t) => {
  const config = readConfig({})
  t.equal(config.PORT, 8000)
  t.equal(config.HOST, '127.0.0.1')
  t.same(config.database, { engine: 'sqlite', path: './data/iam.db' })
  t.equal(config.BODY_LIMIT, 1048576)
  t.equal(config.ACCESS_TOKEN_TTL, 3600)
  t.equal(config.REGISTRATION, 'open')
  t.equal(config.REGISTRATION_ORGANIZATION, 'built-in')
  t.equal(config.IAM_BOOTSTRAP_ADMIN_USERNAME, 'admin')
  t.equal(config.publicUrl, undefined)
  t.same(config.allowedOrigins, [])
})

test('values are parsed: numbers, booleans, lists, URLs', async (t) => {
  const config = readConfig({
    PORT: '9001',
    TRUST_PROXY: '10.0.0.0/8, 192.0.2.1',
    PUBLIC_URL: 'https://IAM.example.com/',
    ALLOWED_ORIGINS: 'https://a.example.com, http://localhost:6274',
    ALLOWED_HOSTS: 'iam.internal,Other.Example',
    DATABASE_URL: 'postgres://u:p@db:5432/iam'
  })
  t.equal(config.PORT, 9001)
  t.same(config.trustProxy, ['10.0.0.0/8', '192.0.2.1'])
  t.equal(config.publicUrl, 'https://IAM.example.com')
  t.same(config.allowedOrigins, ['https://a.example.com', 'http://localhost:6274'])
  t.same(config.allowedHosts, ['iam.internal', 'other.example'])
  t.same(config.database, { engine: 'postgres', url: 'postgres://u:p@db:5432/iam' })
})

test('an invalid setting is refused with a message naming it', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ PUBLIC_URL: 'ftp://x' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'https://x.example/path' }, /PUBLIC_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ TRUST_PROXY: 'maybe' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '-1' }, /TRUST_PROXY/],
    [{ COOKIE_SECRET: 'short' }, /COOKIE_SECRET/],
    [{ REGISTRATION: 'sometimes' }, /REGISTRATION/],
    [{ REGISTRATION: 'token' }, /REGISTRATION_INITIAL_TOKEN/],
    [{ ALLOWED_ORIGINS: 'not-an-origin' }, /ALLOWED_ORIGINS/],
    [{ IAM_BOOTSTRAP_ADMIN_PASSWORD: 'short' }, /IAM_BOOTSTRAP_ADMIN_PASSWORD/],
    [{ BODY_LIMIT: '-1' }, /BODY_LIMIT/]
  ]
  for (const [env, pattern] of cases) {
    t.throws(() => readConfig(env), { name: 'ConfigError', message: pattern }, JSON.stringify(env))
  }
  t.ok(new ConfigError('x') instanceof Error)
})

test('TRUST_PROXY names the proxies: addresses, CIDR ranges or a hop count; unset, none', async (t) => {
  t.equal(readConfig({}).trustProxy, false, 'unset: no proxy')
  t.equal(readConfig({ TRUST_PROXY: '' }).trustProxy, false)
  t.equal(readConfig({ TRUST_PROXY: 'false' }).trustProxy, false, 'the old default still means no proxy')
  t.equal(readConfig({ TRUST_PROXY: '0' }).trustProxy, false)
  t.equal(readConfig({ TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(readConfig({ TRUST_PROXY: '127.0.0.1,::1, 10.0.0.0/8,fd00::/8,loopback' }).trustProxy, ['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8', 'loopback'])
  for (const value of ['true', 'TRUE', ' true ']) {
    t.throws(() => readConfig({ TRUST_PROXY: value }), { name: 'ConfigError', message: /TRUST_PROXY=true .*no longer accepted.*addresses or CIDR ranges.*TRUST_PROXY=1/ },
      `${JSON.stringify(value)} is refused with what to write instead`)
  }
})

test('.env.example lists every setting of the schema, and nothing else', async (t) => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  const listed = [...text.matchAll(/^#? ?([A-Z_]+)=/gm)].map(m => m[1]).sort()
  t.same(listed, Object.keys(EnvSchema.properties).sort())
})

test('the server refuses to start on a bad setting, naming it', async (t) => {
  const start = (env: Record<string, string>) => spawnSync('/usr/bin/env', [...WITHOUT_TAP, process.execPath, '--import', 'tsx', 'server.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { PATH: process.env.PATH, DATABASE_URL: 'sqlite::memory:', ...env },
    encoding: 'utf8',
    timeout: 60000
  })
  const result = start({ PORT: 'not-a-port' })
  t.equal(result.status, 1)
  t.match(result.stderr, /PORT/)
  const trustAll = start({ TRUST_PROXY: 'true', PORT: '0' })
  t.equal(trustAll.status, 1, 'TRUST_PROXY=true stops start-up')
  t.match(trustAll.stderr, /TRUST_PROXY=true .*no longer accepted/)
})
