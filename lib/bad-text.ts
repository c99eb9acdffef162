/**
 * Bad text: U+0000 and lone (unpaired) UTF-16 surrogates. PostgreSQL's text cannot hold the
 * first, and neither engine can store the second faithfully, so any value holding them is
 * refused at the edge (or escaped, where refusing is not an option: the audit log).
 */

// Without the `u` flag a regular expression sees UTF-16 code units, so pairs can be told from
// lone halves.
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what is looked for
const BAD = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const BAD_ALL = new RegExp(BAD.source, 'g')

/** Bounds the walk: parsed bodies are already limited in size, this limits the work on depth. */
const MAX_DEPTH = 32

export function isBadText (text: string): boolean {
  return BAD.test(text)
}

/**
 * Where the first bad text in a parsed value is (a JSON-pointer-like path, `''` for the value
 * itself), or undefined when there is none. Object keys count as text too.
 */
export function findBadText (value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return isBadText(value) ? path : undefined
  if (value === null || typeof value !== 'object') return undefined
  // Deeper than any request of ours has a reason to be: refused like bad text.
  if (depth >= MAX_DEPTH) return path
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBadText(value[i], `${path}/${i}`, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const key of Object.keys(value)) {
    if (isBadText(key)) return `${path}/${escapeBadText(key)}`
    const found = findBadText((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/** The text with each bad code unit written as a `\uXXXX` escape, the rest unchanged. */
export function escapeBadText (text: string): string {
  if (!isBadText(text)) return text
  return text.replace(BAD_ALL, unit => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
