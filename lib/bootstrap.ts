import type { AppConfig } from './config.js'
import type { Store } from './storage/store.js'
import { BUILT_IN, entityId } from './storage/names.js'
import { randomToken } from './crypto.js'
import { AtRestEncryption, generateSigningKey } from './keys.js'

// Named where storage's own rules (the last global admin) can see it; re-exported for the
// callers that already import it from here.
export { BUILT_IN }
export const BOOTSTRAP_APPLICATION = 'app-built-in'

/** Writes a generated secret once, to stderr, outside the structured log. */
export type SecretPrinter = (line: string) => void
export const printToStderr: SecretPrinter = (line) => { process.stderr.write(line + '\n') }

/**
 * First start on an empty database: the `built-in` organization, its global admin, the
 * bootstrap application allowed every scope, and the first signing key. Whatever already
 * exists is left exactly as it is. Runs under the migration lock.
 */
export async function bootstrap (store: Store, config: AppConfig, print: SecretPrinter = printToStderr, encryption = new AtRestEncryption(config.KEY_ENCRYPTION_SECRET === undefined ? [] : [config.KEY_ENCRYPTION_SECRET])): Promise<void> {
  await store.init()

  const org = await store.organizations.get(BUILT_IN).catch(() => undefined)
  if (org === undefined) {
    await store.organizations.create({ name: BUILT_IN, displayName: 'Built-in Organization' })
  }

  const adminId = entityId(BUILT_IN, config.IAM_BOOTSTRAP_ADMIN_USERNAME)
  if (await store.users.find(adminId) === undefined && await store.users.countGlobalAdmins() === 0) {
    const password = config.IAM_BOOTSTRAP_ADMIN_PASSWORD ?? randomToken(18)
    await store.users.create({ owner: BUILT_IN, name: config.IAM_BOOTSTRAP_ADMIN_USERNAME, password, displayName: 'Administrator', isAdmin: true })
    if (config.IAM_BOOTSTRAP_ADMIN_PASSWORD === undefined) {
      print(`iam-mcp: generated the password of the global admin "${config.IAM_BOOTSTRAP_ADMIN_USERNAME}": ${password}  (shown once; set IAM_BOOTSTRAP_ADMIN_PASSWORD to choose it)`)
    }
  }

  if (await store.applications.findByName(BOOTSTRAP_APPLICATION) === undefined) {
    const { application, clientSecret } = await store.applications.create({
      owner: BUILT_IN,
      name: BOOTSTRAP_APPLICATION,
      displayName: 'Built-in application',
      clientId: config.IAM_BOOTSTRAP_CLIENT_ID,
      clientSecret: config.IAM_BOOTSTRAP_CLIENT_SECRET,
      grantTypes: ['client_credentials', 'authorization_code', 'refresh_token'],
      scopes: ['admin']
    })
    if (config.IAM_BOOTSTRAP_CLIENT_ID === undefined) {
      print(`iam-mcp: generated the client id of "${BOOTSTRAP_APPLICATION}": ${application.clientId}`)
    }
    if (config.IAM_BOOTSTRAP_CLIENT_SECRET === undefined) {
      print(`iam-mcp: generated the client secret of "${BOOTSTRAP_APPLICATION}": ${clientSecret ?? ''}  (shown once; set IAM_BOOTSTRAP_CLIENT_SECRET to choose it)`)
    }
  }

  const keys = await store.signingKeys.list()
  if (!keys.some(k => k.retiredAt === null)) {
    await store.signingKeys.rotate(await generateSigningKey(encryption))
  }
}
