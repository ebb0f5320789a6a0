/** Reading fields of kubectl/helm JSON without trusting its shape: a wrong type reads as empty. */

export type JsonObject = Record<string, unknown>

export function asObject(v: unknown): JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {}
}

export function asString(v: unknown): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return ''
}

export function asNumber(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}
