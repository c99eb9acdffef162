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

type JsonRpcId = string | number

/**
 * JSON with every character outside ASCII written as a `\uXXXX` escape (UTF-16 code units, so
 * astral characters become a valid surrogate pair): the same JSON value, in ASCII bytes only.
 * A reader decodes pure ASCII on a fast path; a handful of em dashes in 56 kB of tool
 * descriptions doubled the CPU autocannon spent per `tools/list` answer.
 */
export function asciiJson (value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Framed answers are kept for ids below this: a client's first requests (initialize is 0). */
const FRAMED_IDS = 16
/** At most this many bytes of framed answers are kept, over every list and page. */
const FRAMED_BUDGET = 16 * 1024 * 1024

interface CachedPage {
  /** The result JSON, UTF-8. */
  json: Buffer
  /** Whole answers for the small integer ids, made on first use. */
  framed?: Array<Buffer | undefined>
}

const RESULT_END = Buffer.from('}')

/** `{"jsonrpc":"2.0","id":…,"result":<resultJson>}` as bytes. */
function frame (id: JsonRpcId, resultJson: Buffer): Buffer {
  const head = Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`)
  return Buffer.concat([head, resultJson, RESULT_END], head.length + resultJson.length + 1)
}

/**
 * Serialized `tools/list` answers, computed once per visible list (the registry hands out one
 * array per distinct scope set) and page, as ASCII-only JSON bytes.
 *
 * A page is tens of kilobytes, and the request's id comes first in the answer: framing it
 * costs an allocation and a copy of the whole page, the largest part of answering in a profile
 * under load. Clients ask for the list among their first requests — the official SDK sends
 * `initialize` as id 0 and `tools/list` as id 1 — so whole answers for small integer ids are
 * kept too, within a fixed budget, and sent as they are; any other id is framed per request.
 */
export class ToolListPages<T extends { descriptor: unknown }> {
  /** Per visible list, its pages per set of extra members ('' for none: the legacy pages). */
  private readonly pages = new WeakMap<readonly T[], Map<string, CachedPage[]>>()
  /** Pages holding framed answers, oldest first, and what they hold: the budget's ledger. */
  private readonly framedPages: CachedPage[] = []
  private framedBytes = 0

  constructor (private readonly pageSize = TOOLS_PAGE_SIZE) {}

  /**
   * The answer to request `id` for page `cursor` of `visible`; undefined for a cursor it does
   * not have. `members` (serialized, without braces: the modern revision's result type, cache
   * hints and `_meta`) are added to every page's result and cached with it.
   */
  answer (visible: readonly T[], cursor: string | undefined, id: JsonRpcId, members = ''): Buffer | undefined {
    let variants = this.pages.get(visible)
    if (variants === undefined) {
      variants = new Map()
      this.pages.set(visible, variants)
    }
    let pages = variants.get(members)
    if (pages === undefined) {
      // A caller passes one of a few constant strings; never let it grow without bound.
      if (variants.size >= 4) variants.clear()
      pages = this.serialize(visible, members)
      variants.set(members, pages)
    }
    let page: CachedPage | undefined
    if (cursor === undefined) page = pages[0]
    else {
      const index = decodeToolsCursor(cursor)
      page = index === undefined ? undefined : pages[index]
    }
    if (page === undefined) return undefined
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= FRAMED_IDS) return frame(id, page.json)
    if (page.framed === undefined) {
      page.framed = []
      this.framedPages.push(page)
    }
    let framed = page.framed[id]
    if (framed === undefined) {
      framed = frame(id, page.json)
      page.framed[id] = framed
      this.framedBytes += framed.length
      this.evict(page)
    }
    return framed
  }

  /** Drops the oldest pages' framed answers (never `keep`'s) until the budget holds. */
  private evict (keep: CachedPage): void {
    while (this.framedBytes > FRAMED_BUDGET && this.framedPages.length > 1) {
      const oldest = this.framedPages[0] === keep ? this.framedPages.splice(1, 1)[0] : this.framedPages.shift()
      for (const buf of oldest?.framed ?? []) this.framedBytes -= buf?.length ?? 0
      if (oldest !== undefined) oldest.framed = undefined
    }
  }

  private serialize (visible: readonly T[], members: string): CachedPage[] {
    const pages: CachedPage[] = []
    const count = Math.max(1, Math.ceil(visible.length / this.pageSize))
    for (let i = 0; i < count; i++) {
      const tools = visible.slice(i * this.pageSize, (i + 1) * this.pageSize).map(t => t.descriptor)
      const json = asciiJson(i + 1 < count ? { tools, nextCursor: encodeToolsCursor(i + 1) } : { tools })
      pages.push({ json: Buffer.from(members === '' ? json : `${json.slice(0, -1)},${members}}`) })
    }
    return pages
  }
}
