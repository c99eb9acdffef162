/*
 * Column encodings, the same on both engines: lists are JSON text, booleans 0/1 integers,
 * timestamps milliseconds since the epoch (shown as ISO 8601). A leaf module, so that every
 * entity's schema file can map its rows without reaching the query layer.
 */

export const json = (value: unknown): string => JSON.stringify(value)
export const parseList = (text: string): string[] => JSON.parse(text) as string[]
export const bool = (value: boolean | undefined, fallback: boolean): number => (value ?? fallback) ? 1 : 0
export const iso = (ms: number): string => new Date(ms).toISOString()
