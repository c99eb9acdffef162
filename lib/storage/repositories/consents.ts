import type { StorageContext } from '../context.js'
import { guard } from '../errors.js'

export class ConsentRepository {
  constructor (private readonly context: StorageContext) {}

  async get (userId: string, clientId: string): Promise<string[]> {
    const row = await guard('consent', () => this.context.db.selectFrom('consents').select('scope').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst())
    return row === undefined ? [] : row.scope.split(' ').filter(Boolean)
  }

  async grant (userId: string, clientId: string, scopes: string[]): Promise<void> {
    const scope = scopes.join(' ')
    await guard('consent', () => this.context.db.insertInto('consents').values({ user_id: userId, client_id: clientId, scope, created_at: Date.now() })
      .onConflict(oc => oc.columns(['user_id', 'client_id']).doUpdateSet({ scope, created_at: Date.now() })).execute())
  }
}
