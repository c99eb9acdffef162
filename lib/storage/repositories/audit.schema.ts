import { Type, type Static } from '@sinclair/typebox'
import { iso, type AuditEvent } from '../models.js'

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  time: Type.String({ description: 'ISO 8601' }),
  principal: Type.String(),
  principalKind: Type.String(),
  organization: Type.String(),
  clientId: Type.String(),
  tool: Type.String(),
  outcome: Type.String({ description: 'success, error or denied' }),
  durationMs: Type.Number(),
  arguments: Type.Unknown({ description: 'the call\'s arguments, secrets removed' }),
  error: Type.String()
})
export function auditEventOut (e: AuditEvent): Static<typeof AuditEventSchema> {
  return {
    id: e.id,
    time: iso(e.at),
    principal: e.principal,
    principalKind: e.principalKind,
    organization: e.organization,
    clientId: e.clientId,
    tool: e.tool,
    outcome: e.outcome,
    durationMs: e.durationMs,
    arguments: e.arguments ?? {},
    error: e.error
  }
}
