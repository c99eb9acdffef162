import { Type, type Static } from '@sinclair/typebox'
import type { Generated, Selectable } from 'kysely'
import { iso } from '../columns.js'

/** The `audit_events` table, as Kysely sees it. */
export interface AuditEventRow {
  id: string
  at: number
  principal: string
  principal_kind: string
  organization: string
  client_id: string
  /** `application`, `dynamic` or `metadata-document` (lib/auth/policy.ts `clientKind`); '' without a client. */
  client_kind: Generated<string>
  /** The identity provider whose assertion bought the caller's token (id); '' otherwise. */
  provider: Generated<string>
  external_subject: Generated<string>
  tool: string
  outcome: string
  duration_ms: number
  arguments: string
  error: string
}

/** One audited tool call, as the repository takes and returns it. */
export interface AuditEvent {
  id: string
  at: number
  principal: string
  principalKind: string
  organization: string
  clientId: string
  /** How the client came to exist (lib/auth/policy.ts `clientKind`); '' or absent without a client. */
  clientKind?: string
  /** The identity provider whose assertion bought the caller's token; '' or absent otherwise. */
  provider?: string
  /** The caller's subject at that identity provider; '' or absent otherwise. */
  externalSubject?: string
  tool: string
  outcome: 'success' | 'error' | 'denied'
  durationMs: number
  arguments: unknown
  error: string
}

export function toAuditEvent (r: Selectable<AuditEventRow>): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    principal: r.principal,
    principalKind: r.principal_kind,
    organization: r.organization,
    clientId: r.client_id,
    clientKind: r.client_kind,
    provider: r.provider,
    externalSubject: r.external_subject,
    tool: r.tool,
    outcome: r.outcome as AuditEvent['outcome'],
    durationMs: r.duration_ms,
    arguments: JSON.parse(r.arguments),
    error: r.error
  }
}

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  time: Type.String({ description: 'ISO 8601' }),
  principal: Type.String(),
  principalKind: Type.String(),
  organization: Type.String(),
  clientId: Type.String(),
  clientKind: Type.String({ description: 'how the client came to exist: application (created by an administrator), dynamic (registered itself), metadata-document (known by its URL); empty without a client' }),
  provider: Type.String({ description: 'the identity provider whose assertion bought the caller\'s token (enterprise-managed authorization); empty otherwise' }),
  externalSubject: Type.String({ description: 'the caller\'s subject at that identity provider; empty otherwise' }),
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
    clientKind: e.clientKind ?? '',
    provider: e.provider ?? '',
    externalSubject: e.externalSubject ?? '',
    tool: e.tool,
    outcome: e.outcome,
    durationMs: e.durationMs,
    arguments: e.arguments ?? {},
    error: e.error
  }
}
