/** The renewer's timing: when it renews, that it never stacks renewals, and when it stops. */
import { describe, expect, it } from 'vitest'
import { startRenewer, type RenewalOutcome, type Schedule } from '../src/run/lease-renewer.js'

/** A clock that only moves when the test says so. */
function fakeTimers() {
  let now = 0
  let pending: { at: number; fn: () => void }[] = []
  const schedule: Schedule = (fn, ms) => {
    const entry = { at: now + ms, fn }
    pending.push(entry)
    return () => {
      pending = pending.filter(p => p !== entry)
    }
  }
  /** Moves the clock, firing what falls due, and lets the renewals it started settle. */
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve()
  }
  async function advance(ms: number): Promise<void> {
    const until = now + ms
    await settle()
    for (;;) {
      const due = pending.filter(p => p.at <= until).sort((a, b) => a.at - b.at)[0]
      if (!due) break
      pending = pending.filter(p => p !== due)
      now = due.at
      due.fn()
      await settle()
    }
    now = until
  }
  return { schedule, advance, pending: () => pending.length, now: () => now }
}

function renewer(renew: () => Promise<RenewalOutcome>, signal = new AbortController().signal) {
  const timers = fakeTimers()
  const logs: string[] = []
  const warnings: string[] = []
  const r = startRenewer({
    renew,
    everyMs: 15_000,
    signal,
    log: l => logs.push(l),
    warn: w => warnings.push(w),
    schedule: timers.schedule
  })
  return { r, timers, logs, warnings }
}

describe('startRenewer', () => {
  it('renews every interval, the first one an interval after it starts', async () => {
    const at: number[] = []
    const { timers } = renewer(async () => {
      at.push(timers.now())
      return { renewed: true }
    })
    await timers.advance(14_999)
    expect(at).toEqual([])
    await timers.advance(45_001)
    expect(at).toEqual([15_000, 30_000, 45_000, 60_000])
  })

  it('schedules the next renewal only once the one under way has ended', async () => {
    let finish: (o: RenewalOutcome) => void = () => undefined
    let calls = 0
    const { timers } = renewer(
      () =>
        new Promise(resolve => {
          calls++
          finish = resolve
        })
    )
    await timers.advance(60_000)
    expect(calls).toBe(1)
    expect(timers.pending()).toBe(0)
    finish({ renewed: true })
    await timers.advance(15_000)
    expect(calls).toBe(2)
  })

  it('a failed renewal is tried again at the next tick, and said so', async () => {
    let calls = 0
    const { timers, logs, warnings } = renewer(async () => {
      calls++
      if (calls === 1) throw new Error('connection refused\nmore detail')
      return { renewed: true }
    })
    await timers.advance(30_000)
    expect(calls).toBe(2)
    expect(logs).toEqual(['Could not renew the lock (connection refused); trying again in 15s.'])
    expect(warnings).toEqual([])
  })

  it('stops for good, with a warning saying what it means, once the lock is not ours', async () => {
    let calls = 0
    const { timers, warnings } = renewer(async () => {
      calls++
      return { renewed: false, why: 'run-43 holds it' }
    })
    await timers.advance(60_000)
    expect(calls).toBe(1)
    expect(timers.pending()).toBe(0)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^This run no longer holds the lock: run-43 holds it\./)
    expect(warnings[0]).toMatch(/Another rollback may now change the cluster/)
  })

  it('stop() cancels the next renewal and waits for the one under way', async () => {
    let finish: (o: RenewalOutcome) => void = () => undefined
    let calls = 0
    const { r, timers } = renewer(
      () =>
        new Promise(resolve => {
          calls++
          finish = resolve
        })
    )
    await timers.advance(15_000)
    let stopped = false
    const stopping = r.stop().then(() => (stopped = true))
    await Promise.resolve()
    expect(stopped).toBe(false)
    finish({ renewed: true })
    await stopping
    expect(stopped).toBe(true)
    await timers.advance(60_000)
    expect(calls).toBe(1)
    expect(timers.pending()).toBe(0)
  })

  it('stops when the run is cancelled, and never starts on a cancelled run', async () => {
    const cancel = new AbortController()
    let calls = 0
    const { timers } = renewer(async () => {
      calls++
      return { renewed: true }
    }, cancel.signal)
    await timers.advance(15_000)
    cancel.abort()
    await timers.advance(60_000)
    expect(calls).toBe(1)
    expect(timers.pending()).toBe(0)

    const late = renewer(async () => ({ renewed: true }), AbortSignal.abort())
    expect(late.timers.pending()).toBe(0)
  })
})
