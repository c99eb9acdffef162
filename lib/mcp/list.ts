/** `tools/list` pages hold up to this many tools (DESIGN.md). */
export const TOOLS_PAGE_SIZE = 100

/** The opaque cursor of the page that starts at `index` (a page number, from 1). */
export function encodeToolsCursor (index: number): string {
  return Buffer.from(`tools-page:${index}`).toString('base64url')
}

/** The page number a cursor points at, or undefined when we did not make it. */
export function decodeToolsCursor (cursor: string): number | undefined {
  if (cursor.length > 64) return undefined
  const match = /^tools-page:([1-9][0-9]{0,5})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  return match === null ? undefined : Number(match[1])
}

/**
 * Serialized `tools/list` results, computed once per visible list (the registry hands out one
 * array per distinct scope set) and page: answering a list is a lookup and a copy. Kept as
 * UTF-8 bytes: descriptions hold non-ASCII text, and encoding tens of kilobytes of it again on
 * every request would cost more than the rest of the request.
 */
export class ToolListPages<T extends { descriptor: unknown }> {
  private readonly pages = new WeakMap<readonly T[], Buffer[]>()
  constructor (private readonly pageSize = TOOLS_PAGE_SIZE) {}

  /** The result JSON of page `cursor` of `visible`; undefined for a cursor it does not have. */
  page (visible: readonly T[], cursor: string | undefined): Buffer | undefined {
    let pages = this.pages.get(visible)
    if (pages === undefined) {
      pages = this.serialize(visible)
      this.pages.set(visible, pages)
    }
    if (cursor === undefined) return pages[0]
    const index = decodeToolsCursor(cursor)
    return index === undefined ? undefined : pages[index]
  }

  private serialize (visible: readonly T[]): Buffer[] {
    const pages: Buffer[] = []
    const count = Math.max(1, Math.ceil(visible.length / this.pageSize))
    for (let i = 0; i < count; i++) {
      const tools = visible.slice(i * this.pageSize, (i + 1) * this.pageSize).map(t => t.descriptor)
      pages.push(Buffer.from(JSON.stringify(i + 1 < count ? { tools, nextCursor: encodeToolsCursor(i + 1) } : { tools })))
    }
    return pages
  }
}
