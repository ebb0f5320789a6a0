import { describe, expect, it } from 'vitest'
import {
  earlierAttempt,
  leaseVerdict,
  parseKubeTime,
  renewalVerdict,
  runAttemptOf,
  waitVerdict,
  type Sighting
} from '../src/decide/lease-verdict.js'
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
      resourceVersion: '4711',
      acquiredAt: Date.parse('2026-11-24T06:00:00Z')
    })
  })

  it('held: another holder within its duration', () => {
    expect(leaseVerdict(stored('run-41', '2026-11-24T08:00:00.000000Z', 3600), 'me', now)).toEqual({
      action: 'held',
      holder: 'run-41',
      since: '2026-11-24T08:00:00.000Z',
      expiresAt: '2026-11-24T09:00:00.000Z',
      renewedAt: Date.parse('2026-11-24T08:00:00Z'),
      durationMs: 3_600_000,
      resourceVersion: '4711'
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

describe('an earlier attempt of this workflow run', () => {
  const run = (
    id: string,
    attempt: number,
    repo = 'acme/platform',
    server = 'https://github.com'
  ) => `${server}/${repo}/actions/runs/${id}/attempts/${attempt} job rollback (runner-7:4242)`
  const me = run('5001', 2)
  // renewed 5 s ago for 60 s: held, by the lease times alone
  const fresh = (holder: string) => stored(holder, '2026-11-24T08:29:55.000000Z', 60)

  it('reads the run and the attempt from a holder identity', () => {
    expect(runAttemptOf(me)).toEqual({
      run: 'https://github.com/acme/platform/actions/runs/5001',
      attempt: 2
    })
    expect(runAttemptOf('local run job - (laptop:17)')).toBeUndefined()
    expect(runAttemptOf('run-41')).toBeUndefined()
    expect(runAttemptOf(run('5001', 0))).toBeUndefined()
  })

  it('is taken over at once, although renewed moments ago, naming the attempt', () => {
    expect(leaseVerdict(fresh(run('5001', 1)), me, now)).toEqual({
      action: 'take-over',
      previousHolder: run('5001', 1),
      resourceVersion: '4711',
      earlierAttempt: 1
    })
    // any earlier attempt, another job of it, another runner machine
    const other = 'https://github.com/acme/platform/actions/runs/5001/attempts/1 job deploy (r-9:1)'
    expect(earlierAttempt(other, run('5001', 3))).toBe(1)
    expect(earlierAttempt(run('5001', 2), run('5001', 3))).toBe(2)
  })

  it('an expired Lease of an earlier attempt still says whose it was', () => {
    const old = stored(run('5001', 1), '2026-11-24T07:00:00.000000Z', 60)
    expect(leaseVerdict(old, me, now)).toMatchObject({ action: 'take-over', earlierAttempt: 1 })
  })

  it.each([
    ['another run id', run('5002', 1)],
    ['a run id that only starts the same', run('50011', 1)],
    ['the same attempt (another job or process of it)', run('5001', 2).replace('4242', '99')],
    ['a later attempt', run('5001', 3)],
    ['a local run', 'local run job rollback (laptop:17)'],
    ['another repository', run('5001', 1, 'acme/other')],
    ['another server', run('5001', 1, 'acme/platform', 'https://ghe.example.com')],
    ['a holder of another format', 'run-5001']
  ])('is not: %s, whose live Lease stays held', (_why, holder) => {
    expect(earlierAttempt(holder, me)).toBeUndefined()
    expect(leaseVerdict(fresh(holder), me, now).action).toBe('held')
  })

  it('a local run takes over nobody at once', () => {
    expect(earlierAttempt(run('5001', 1), 'local run job - (laptop:17)')).toBeUndefined()
  })

  it('the renewal of an earlier attempt that is somehow alive sees the lock lost', () => {
    expect(renewalVerdict(fresh(me), run('5001', 1), now)).toMatchObject({ action: 'lost' })
  })
})

/** The 'held' verdict for a Lease renewed at `renewTime`, as a waiting run saw it at `at`. */
function sighting(holder: string, renewTime: string, at: string, durationSeconds = 60): Sighting {
  const acquired = '2026-11-24T08:20:00.000000Z'
  const lease = leaseVerdict(
    stored(holder, renewTime, durationSeconds, acquired),
    'me',
    new Date(at)
  )
  if (lease.action !== 'held') throw new Error(`not held: ${lease.action}`)
  return { lease, at: Date.parse(at) }
}

describe('waitVerdict', () => {
  const limits = { deadline: Date.parse('2026-11-24T08:32:00Z'), renewalDueMs: 20_000 }
  const first = sighting('run-41', '2026-11-24T08:29:50.000000Z', '2026-11-24T08:30:00Z')

  it('waits, on the first sighting, until the lock lapses by its renewTime', () => {
    expect(waitVerdict(first, first, limits)).toEqual({
      action: 'wait',
      holder: 'run-41',
      renewedAt: '2026-11-24T08:29:50.000Z',
      lapsesAt: '2026-11-24T08:30:50.000Z'
    })
  })

  it('live: the renewTime moved since the first sighting', () => {
    const later = sighting('run-41', '2026-11-24T08:30:05.000000Z', '2026-11-24T08:30:10Z')
    expect(waitVerdict(first, later, limits)).toEqual({
      action: 'live',
      holder: 'run-41',
      since: '2026-11-24T08:20:00.000Z',
      renewedAt: '2026-11-24T08:30:05.000Z'
    })
  })

  it('live: another run took it over meanwhile (it is the one to name)', () => {
    const later = sighting('run-43', '2026-11-24T08:29:50.000000Z', '2026-11-24T08:30:10Z')
    expect(waitVerdict(first, later, limits)).toMatchObject({ action: 'live', holder: 'run-43' })
  })

  it('lapsed once unrenewed past renewTime + duration; still waiting just before', () => {
    const before = sighting('run-41', '2026-11-24T08:29:50.000000Z', '2026-11-24T08:30:50Z')
    expect(waitVerdict(first, before, limits).action).toBe('wait')
    const after = { ...before, at: Date.parse('2026-11-24T08:30:50.001Z') }
    expect(waitVerdict(first, after, limits)).toEqual({
      action: 'lapsed',
      holder: 'run-41',
      renewedAt: '2026-11-24T08:29:50.000Z'
    })
  })

  it('a holder whose clock runs ahead lapses a duration after we first saw it, by our clock', () => {
    const ahead = sighting('run-41', '2026-11-24T08:40:00.000000Z', '2026-11-24T08:30:00Z')
    expect(waitVerdict(ahead, ahead, limits)).toMatchObject({
      action: 'wait',
      lapsesAt: '2026-11-24T08:31:00.000Z'
    })
    const later = { ...ahead, at: Date.parse('2026-11-24T08:31:00.001Z') }
    expect(waitVerdict(ahead, later, limits).action).toBe('lapsed')
  })

  it('released before a renewal was due: its holder was alive; after a missed one: free', () => {
    const soon = { at: Date.parse('2026-11-24T08:30:20Z') }
    expect(waitVerdict(first, soon, limits)).toEqual({
      action: 'released',
      holder: 'run-41',
      since: '2026-11-24T08:20:00.000Z'
    })
    const late = { at: Date.parse('2026-11-24T08:30:20.001Z') }
    expect(waitVerdict(first, late, limits)).toEqual({ action: 'free', holder: 'run-41' })
  })

  it('gives up at once on a lock that lapses after the deadline', () => {
    const long = sighting('run-41', '2026-11-24T08:29:50.000000Z', '2026-11-24T08:30:00Z', 1800)
    expect(waitVerdict(long, long, limits)).toEqual({
      action: 'give-up',
      holder: 'run-41',
      since: '2026-11-24T08:20:00.000Z',
      lapsesAt: '2026-11-24T08:59:50.000Z'
    })
    const sooner = { ...limits, deadline: Date.parse('2026-11-24T08:30:49Z') }
    expect(waitVerdict(first, first, sooner).action).toBe('give-up')
  })
})

describe('renewalVerdict', () => {
  it('renews its own Lease at the version read, keeping acquireTime', () => {
    const lease = stored('me', '2026-11-24T08:29:45.000000Z', 60, '2026-11-24T08:00:00.000000Z')
    expect(renewalVerdict(lease, 'me', now)).toEqual({
      action: 'renew',
      resourceVersion: '4711',
      acquiredAt: Date.parse('2026-11-24T08:00:00Z')
    })
  })

  it('even past its duration, while nobody else took it', () => {
    expect(renewalVerdict(stored('me', '2026-11-24T08:00:00.000000Z', 60), 'me', now).action).toBe(
      'renew'
    )
  })

  it('lost: deleted, released, or held by another run, and says which', () => {
    expect(renewalVerdict('', 'me', now)).toEqual({
      action: 'lost',
      why: 'someone deleted the Lease'
    })
    expect(renewalVerdict(stored('', '2026-11-24T08:29:00.000000Z', 60), 'me', now)).toEqual({
      action: 'lost',
      why: 'it was released'
    })
    expect(renewalVerdict(stored('run-43', '2026-11-24T08:29:30.000000Z', 60), 'me', now)).toEqual({
      action: 'lost',
      why: 'run-43 holds it since 2026-11-24T08:29:30.000Z'
    })
    expect(renewalVerdict(stored('run-43', '2026-11-24T08:00:00.000000Z', 60), 'me', now)).toEqual({
      action: 'lost',
      why: 'run-43 holds it'
    })
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
