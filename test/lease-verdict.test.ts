import { describe, expect, it } from 'vitest'
import { leaseVerdict, parseKubeTime } from '../src/decide/lease-verdict.js'
import { leaseManifest } from '../src/kube/manifests.js'

const now = new Date('2026-11-24T08:30:00Z')

/** What `kubectl get lease -o json` returns for a Lease another run wrote. */
function stored(
  holder: string,
  renewTime: string,
  durationSeconds: number,
  acquireTime = renewTime
) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: 'rancher-rollback',
      namespace: 'kube-system',
      resourceVersion: '4711',
      uid: 'u'
    },
    spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime, renewTime }
  }
}

describe('leaseVerdict', () => {
  it('no Lease: create', () => {
    expect(leaseVerdict(undefined, 'me', now)).toEqual({ action: 'create' })
    expect(leaseVerdict(null, 'me', now)).toEqual({ action: 'create' })
    expect(leaseVerdict('', 'me', now)).toEqual({ action: 'create' })
  })

  it('mine: held by this run, whatever the time', () => {
    expect(leaseVerdict(stored('me', '2026-11-24T06:00:00.000000Z', 60), 'me', now)).toEqual({
      action: 'mine',
      resourceVersion: '4711'
    })
  })

  it('held: another holder within its duration', () => {
    expect(leaseVerdict(stored('run-41', '2026-11-24T08:00:00.000000Z', 3600), 'me', now)).toEqual({
      action: 'held',
      holder: 'run-41',
      since: '2026-11-24T08:00:00.000Z',
      expiresAt: '2026-11-24T09:00:00.000Z'
    })
  })

  it('take-over: another holder past renewTime + duration', () => {
    expect(leaseVerdict(stored('run-40', '2026-11-24T07:00:00.000000Z', 1800), 'me', now)).toEqual({
      action: 'take-over',
      previousHolder: 'run-40',
      resourceVersion: '4711'
    })
  })

  it('expiry is measured from renewTime, not acquireTime', () => {
    const lease = stored(
      'run-41',
      '2026-11-24T08:20:00.000000Z',
      900,
      '2026-11-24T06:00:00.000000Z'
    )
    expect(leaseVerdict(lease, 'me', now)).toMatchObject({
      action: 'held',
      since: '2026-11-24T06:00:00.000Z'
    })
  })

  it('exactly at the expiry instant it is still held (expired means strictly before now)', () => {
    expect(
      leaseVerdict(stored('run-41', '2026-11-24T08:00:00.000000Z', 1800), 'me', now).action
    ).toBe('held')
    expect(
      leaseVerdict(stored('run-41', '2026-11-24T07:59:59.999999Z', 1800), 'me', now).action
    ).toBe('take-over')
  })

  it('a released Lease (no holder) is taken over', () => {
    expect(leaseVerdict(stored('', '2026-11-24T08:29:00.000000Z', 3600), 'me', now)).toEqual({
      action: 'take-over',
      previousHolder: '',
      resourceVersion: '4711'
    })
  })

  it('unreadable times count as expired', () => {
    const lease = stored('run-41', 'garbage', 3600, 'garbage')
    expect(leaseVerdict(lease, 'me', now).action).toBe('take-over')
    const noDuration = {
      ...stored('run-41', '2026-11-24T08:29:00.000000Z', 0),
      spec: { holderIdentity: 'run-41' }
    }
    expect(leaseVerdict(noDuration, 'me', now).action).toBe('take-over')
  })

  it('accepts the raw kubectl JSON text', () => {
    expect(
      leaseVerdict(JSON.stringify(stored('me', '2026-11-24T08:00:00.000000Z', 60)), 'me', now)
        .action
    ).toBe('mine')
  })

  it('round-trips with leaseManifest', () => {
    const lease = leaseManifest({
      holder: 'run-42',
      durationSeconds: 600,
      now: new Date('2026-11-24T08:25:00Z')
    })
    expect(leaseVerdict(lease, 'run-42', now).action).toBe('mine')
    expect(leaseVerdict(lease, 'run-43', now)).toMatchObject({
      action: 'held',
      expiresAt: '2026-11-24T08:35:00.000Z'
    })
    expect(leaseVerdict(lease, 'run-43', new Date('2026-11-24T08:35:00.001Z')).action).toBe(
      'take-over'
    )
  })
})

describe('parseKubeTime', () => {
  it('reads MicroTime and RFC 3339', () => {
    expect(parseKubeTime('2026-11-24T08:00:00.123456Z')).toBe(
      Date.parse('2026-11-24T08:00:00.123Z')
    )
    expect(parseKubeTime('2026-11-24T08:00:00Z')).toBe(Date.parse('2026-11-24T08:00:00Z'))
    expect(parseKubeTime('')).toBeUndefined()
    expect(parseKubeTime('yesterday')).toBeUndefined()
    expect(parseKubeTime(42)).toBeUndefined()
  })
})
