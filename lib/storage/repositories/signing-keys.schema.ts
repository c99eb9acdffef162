import { Type, type Static } from '@sinclair/typebox'

/** Public facts about a signing key, as tools show them; never the private key. */
export interface SigningKeyInfo {
  kid: string
  algorithm: string
  createdTime: string
  /** When it stopped signing new tokens; absent for the current key. */
  retiredTime?: string
  current: boolean
}

export const SigningKeySchema = Type.Object({
  kid: Type.String(),
  algorithm: Type.String(),
  createdTime: Type.String(),
  retiredTime: Type.Optional(Type.String({ description: 'when it stopped signing new tokens' })),
  current: Type.Boolean({ description: 'the key new tokens are signed with' })
})
export function signingKeyOut (k: SigningKeyInfo): Static<typeof SigningKeySchema> {
  const out: Static<typeof SigningKeySchema> = { kid: k.kid, algorithm: k.algorithm, createdTime: k.createdTime, current: k.current }
  if (k.retiredTime !== undefined) out.retiredTime = k.retiredTime
  return out
}
