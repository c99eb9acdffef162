import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { Principal } from '../../lib/principal.js'
import { callTool, principalFor, type PrincipalOptions } from '../tool-helper.js'

/** The callers the object-level rules tell apart. */
export interface Callers {
  /** `built-in/admin`, the bootstrap global admin. */
  global: Principal
  /** `acme/boss`, admin of organization `acme`. */
  orgAdmin: Principal
  /** `acme/alice`, a plain user of `acme`. */
  alice: Principal
  /** `acme/acme-app`, an application of `acme` acting for itself. */
  acmeApp: Principal
  /** `built-in/app-built-in`, the bootstrap application acting for itself. */
  builtInApp: Principal
  /** `other/olga`, admin of organization `other`. */
  otherAdmin: Principal
}

/**
 * Two organizations (`acme`, `other`) with an admin each, a plain user and an application in
 * `acme`, made through the tools themselves as the global admin.
 */
export async function seed (t: Test, app: FastifyInstance): Promise<Callers> {
  const global = principalFor(app)
  const ok = async (name: string, args: Record<string, unknown>): Promise<void> => { await expectOk(t, app, name, args, global) }
  await ok('add_organization', { name: 'acme', displayName: 'Acme Inc.' })
  await ok('add_organization', { name: 'other' })
  await ok('add_user', { owner: 'acme', name: 'boss', password: 'boss-password', isAdmin: true })
  await ok('add_user', { owner: 'acme', name: 'alice', password: 'alice-password', email: 'alice@acme.test' })
  await ok('add_user', { owner: 'other', name: 'olga', isAdmin: true })
  await ok('add_application', { owner: 'acme', name: 'acme-app', scopes: ['read'] })
  return {
    global,
    orgAdmin: principalFor(app, { id: 'acme/boss', isAdmin: true }),
    alice: principalFor(app, { id: 'acme/alice' }),
    acmeApp: principalFor(app, { kind: 'application', id: 'acme/acme-app' }),
    builtInApp: principalFor(app, { kind: 'application', id: 'built-in/app-built-in' }),
    otherAdmin: principalFor(app, { id: 'other/olga', isAdmin: true })
  }
}

/** Calls a tool that must succeed; returns its structured result. */
export async function expectOk (t: Test, app: FastifyInstance, name: string, args: Record<string, unknown> = {}, as: Principal | PrincipalOptions = {}): Promise<any> {
  const reply = await callTool(app, name, args, as)
  if (reply.outcome.kind !== 'result' || reply.isError) {
    t.fail(`${name} should succeed`, { args, outcome: reply.outcome })
    return {}
  }
  t.ok(reply.structured, `${name} answers structured content`)
  t.same(JSON.parse(reply.text ?? 'null'), reply.structured, `${name}: the text block holds the same JSON`)
  assertNoSecrets(t, name, reply.text ?? '')
  return reply.structured
}

/** Calls a tool that must fail with a visible message matching `message`; returns the message. */
export async function expectError (t: Test, app: FastifyInstance, name: string, args: Record<string, unknown>, as: Principal | PrincipalOptions, message: RegExp): Promise<string> {
  const reply = await callTool(app, name, args, as)
  t.equal(reply.outcome.kind, 'result', `${name} answers a result`)
  t.equal(reply.isError, true, `${name} fails`)
  t.match(reply.text ?? '', message, `${name}: ${String(message)}`)
  return reply.text ?? ''
}

/** Nothing that looks like a stored secret ever leaves a tool (client secrets only where allowed). */
export function assertNoSecrets (t: Test, name: string, text: string): void {
  for (const needle of ['password_hash', 'passwordHash', '"client_secret"', 'secret_digest', 'privatePem', 'private_pem', 'scrypt$', 'argon2']) {
    t.notOk(text.includes(needle), `${name} does not show ${needle}`)
  }
  if (name !== 'add_application' && name !== 'rotate_application_secret') {
    t.notOk(text.includes('clientSecret'), `${name} does not show a clientSecret`)
  }
}
