import { describe, expect, it } from 'vitest'
import { afterCancel } from '../src/report/cancelled.js'
import type { StepRecord } from '../src/report/run-report.js'
import { Cancellation } from '../src/run/cancellation.js'

describe('Cancellation: the runner’s SIGINT, then SIGTERM, then SIGKILL', () => {
  it('the first signal cancels, the second makes it urgent', () => {
    const c = new Cancellation(60_000, () => new Date('2026-12-01T10:00:00Z'))
    c.cancel('SIGINT')
    expect([c.signal.aborted, c.urgent.aborted, c.cause]).toEqual([true, false, 'SIGINT'])
    expect(c.at?.toISOString()).toBe('2026-12-01T10:00:00.000Z')
    c.cancel('SIGTERM')
    expect(c.urgent.aborted).toBe(true)
    expect(c.cause).toBe('SIGINT')
  })

  it('turns urgent by itself before the runner’s SIGTERM would', async () => {
    const c = new Cancellation(30)
    c.cancel('SIGINT')
    await new Promise<void>(resolve => c.urgent.addEventListener('abort', () => resolve()))
    expect(c.urgent.aborted).toBe(true)
  })

  it('listens to SIGINT and SIGTERM and stops listening', () => {
    const handlers = new Map<string, () => void>()
    const proc = {
      on: (s: string, f: () => void) => handlers.set(s, f),
      off: (s: string) => handlers.delete(s)
    } as unknown as Pick<NodeJS.Process, 'on' | 'off'>
    const c = new Cancellation(60_000)
    const stop = c.listen(proc)
    handlers.get('SIGTERM')!()
    expect(c.cause).toBe('SIGTERM')
    stop()
    expect(handlers.size).toBe(0)
  })
})

describe('afterCancel: what a cancelled run leaves and what a re-run does', () => {
  const record = (id: string, status: StepRecord['status']): StepRecord => ({
    id,
    title: `step ${id}`,
    status,
    durationMs: 0,
    detail: '',
    commands: []
  })
  it.each([
    [['lock:cancelled'], 'in-place', 'Nothing in the cluster was changed.'],
    [['lock:succeeded', 'remove-webhook:cancelled'], 'in-place', 'Rancher may be scaled to 0'],
    [
      ['lock:succeeded', 'remove-webhook:succeeded', 'restore:cancelled'],
      'in-place',
      'The Restore was created'
    ],
    [
      ['lock:succeeded', 'restore:succeeded', 'helm-rollback:cancelled'],
      'in-place',
      'helm rollback may have been stopped'
    ],
    [
      ['lock:succeeded', 'save-values:succeeded', 'save-secrets:cancelled'],
      'cleanup-and-reinstall',
      'Rancher was not touched yet'
    ],
    [
      ['lock:succeeded', 'save-values:succeeded', 'cleanup:cancelled'],
      'cleanup-and-reinstall',
      'rancher-cleanup may have deleted Rancher'
    ]
  ] as const)('%j (%s)', (steps, procedure, state) => {
    const records = steps.map(s => record(...(s.split(':') as [string, StepRecord['status']])))
    const after = afterCancel(procedure, records)
    expect(after.state).toContain(state)
    expect(after.step).toBe(records.find(r => r.status === 'cancelled')!.title)
  })
})
