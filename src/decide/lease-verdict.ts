/**
 * What to do about the lock Lease (kube-system/rancher-rollback), from what `kubectl get -o json`
 * returned. Expired when renewTime + leaseDurationSeconds < now. A Lease whose times cannot be read
 * (hand-edited) counts as expired, so a broken lock never blocks rollbacks for good.
 */
import { asObject, asString } from '../facts/json-fields.js'

export type LeaseVerdict =
  | { action: 'create' }
  | { action: 'take-over'; previousHolder: string; resourceVersion: string }
  | { action: 'held'; holder: string; since: string; expiresAt: string }
  | { action: 'mine'; resourceVersion: string }

/** MicroTime (`…T08:00:00.000000Z`) or RFC 3339 → epoch ms; undefined when unreadable. */
export function parseKubeTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined
  const normalised = v.trim().replace(/(\.\d{3})\d+/, '$1')
  const ms = Date.parse(normalised)
  return Number.isNaN(ms) ? undefined : ms
}

export function leaseVerdict(lease: unknown | undefined, me: string, now: Date): LeaseVerdict {
  let value = lease
  if (typeof value === 'string') {
    if (value.trim() === '') return { action: 'create' }
    value = JSON.parse(value) as unknown
  }
  if (typeof value !== 'object' || value === null) return { action: 'create' }

  const o = asObject(value)
  const spec = asObject(o.spec)
  const resourceVersion = asString(asObject(o.metadata).resourceVersion)
  const holder = asString(spec.holderIdentity)

  if (holder !== '' && holder === me) return { action: 'mine', resourceVersion }
  if (holder === '') return { action: 'take-over', previousHolder: '', resourceVersion }

  const renewed = parseKubeTime(spec.renewTime) ?? parseKubeTime(spec.acquireTime)
  const duration =
    typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : Number.NaN
  if (renewed === undefined || !Number.isFinite(duration)) {
    return { action: 'take-over', previousHolder: holder, resourceVersion }
  }
  const expiresAt = renewed + duration * 1000
  if (expiresAt < now.getTime())
    return { action: 'take-over', previousHolder: holder, resourceVersion }

  const acquired = parseKubeTime(spec.acquireTime) ?? renewed
  return {
    action: 'held',
    holder,
    since: new Date(acquired).toISOString(),
    expiresAt: new Date(expiresAt).toISOString()
  }
}
