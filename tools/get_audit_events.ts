import { Type, ToolError, defineTool, auditOrganization, AuditEventSchema, PageOf, PagingArguments, SLUG_PATTERN, Timestamp, auditEventOut, pageOut } from '../lib/tool-kit/index.js'

/** An ISO 8601 date-time as milliseconds; a day or time that does not exist (Feb 30, 25:00) is refused. */
function instant (field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const [y, mo, d, h, mi, sec] = (value.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/) ?? []).slice(1).map(v => Number(v ?? 0))
  const calendar = new Date(Date.UTC(y, mo - 1, d))
  const ms = Date.parse(value)
  if (!Number.isFinite(ms) || calendar.getUTCMonth() !== mo - 1 || calendar.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) {
    throw new ToolError('invalid', `${field}: ${JSON.stringify(value)} is not a valid date-time`)
  }
  return ms
}

export default defineTool({
  name: 'get_audit_events',
  title: 'Read the audit log',
  description: 'Lists audit events — one per tool call: when, who (principal id), through which client, which tool, the outcome, duration and arguments (secrets removed) — newest first, a page at a time. Narrow with `from`/`to` (ISO 8601 date-times, inclusive), `principal`, `tool` and, for global admins, `organization`. A global admin sees the whole log, an organization admin its organization\'s events; others are refused.',
  scopes: ['audit:read'],
  input: Type.Object({
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    principal: Type.Optional(Type.String({ maxLength: 200, description: 'id of the user or application that called' })),
    tool: Type.Optional(Type.String({ maxLength: 128, description: 'tool name' })),
    organization: Type.Optional(Type.String({ pattern: SLUG_PATTERN, maxLength: 64, description: 'only events of callers in this organization' })),
    ...PagingArguments
  }, { additionalProperties: false }),
  output: PageOf(AuditEventSchema),
  annotations: { readOnlyHint: true, idempotentHint: true },
  async handler (input, { principal, store }) {
    const own = auditOrganization(principal)
    if (own !== undefined && input.organization !== undefined && input.organization !== own) return { items: [] }
    const from = instant('from', input.from)
    const to = instant('to', input.to)
    if (from !== undefined && to !== undefined && from > to) throw new ToolError('invalid', 'from must not be later than to')
    const page = await store.audit.list({
      from,
      to,
      principal: input.principal,
      tool: input.tool,
      organization: own ?? input.organization,
      limit: input.limit,
      cursor: input.cursor
    })
    return pageOut(page, auditEventOut)
  }
})
