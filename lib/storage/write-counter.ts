import {
  AliasNode, DeleteQueryNode, InsertQueryNode, RawNode, SelectQueryNode, TableNode, UpdateQueryNode,
  type KyselyPlugin, type OperationNode, type PluginTransformQueryArgs, type PluginTransformResultArgs,
  type QueryId, type QueryResult, type RootOperationNode, type UnknownRow
} from 'kysely'

/** Tables that only grow and that no cacheable read looks at: writing them changes nothing read. */
const LOG_TABLES = new Set(['audit_events', 'changes', 'login_failures'])

function tableOf (node: OperationNode | undefined): string | undefined {
  if (node === undefined) return undefined
  if (TableNode.is(node)) return node.table.identifier.name
  if (AliasNode.is(node)) return tableOf(node.node)
  return undefined
}

/** Whether a statement may change data tools read; anything it cannot tell counts as a write. */
function changesData (node: RootOperationNode): boolean {
  if (SelectQueryNode.is(node)) return false
  let table: string | undefined
  if (InsertQueryNode.is(node)) table = tableOf(node.into)
  else if (UpdateQueryNode.is(node)) table = tableOf(node.table)
  else if (DeleteQueryNode.is(node)) table = node.from.froms.length === 1 ? tableOf(node.from.froms[0]) : undefined
  else if (RawNode.is(node)) return !/^\s*(select|with|pragma)\b/i.test(node.sqlFragments[0] ?? '')
  return table === undefined || !LOG_TABLES.has(table)
}

/** A Kysely plugin that reports, once each has run, the statements that change data. */
export class WriteCounter implements KyselyPlugin {
  private readonly pending = new WeakSet<QueryId>()
  constructor (private readonly onWrite: () => void) {}

  transformQuery (args: PluginTransformQueryArgs): RootOperationNode {
    if (changesData(args.node)) this.pending.add(args.queryId)
    return args.node
  }

  async transformResult (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.pending.delete(args.queryId)) this.onWrite()
    return args.result
  }
}
