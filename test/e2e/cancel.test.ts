/**
 * Cancelling a run as the runner does (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that):
 * the bundle must stop, report and give the lock back before SIGKILL, and a re-run with the same
 * inputs must finish the rollback.
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActionRun } from '../../testbed/run-action.js'
import type { World } from '../../testbed/scenario.js'
import { act, image, upgradeAgain, world } from './support.js'

const lease = (w: World) =>
  w.kubectl([
    'get',
    'lease',
    'rancher-rollback',
    '-n',
    'kube-system',
    '--ignore-not-found',
    '-o',
    'name'
  ])

/** Processes still running from this run's private directory (its kubectl and helm copies). */
function leftovers(r: ActionRun): string[] {
  try {
    return execFileSync('pgrep', ['-af', r.runnerTemp], { encoding: 'utf8' })
      .split('\n')
      .filter(l => l.trim() !== '')
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

/** Exited by itself, before the runner would have sent SIGKILL, having written its report. */
function expectCancelledInTime(r: ActionRun, step: RegExp): void {
  expect(r.exitSignal, r.log).toBeNull()
  expect(r.signals.map(s => s.signal)).not.toContain('SIGKILL')
  expect(r.exitCode).toBe(1)
  expect(r.outputs.status).toBe('cancelled')
  expect(r.summary).toContain('Rancher rollback cancelled')
  expect(r.summary).toMatch(step)
  expect(r.summary).toContain('**Re-run:** Run it again with the same inputs')
  expect(leftovers(r)).toEqual([])
}

describe('cancelled in place 2.8.5 → 2.8.4, then run again', () => {
  let w: World
  beforeAll(async () => {
    w = await world({ install: '2.8.4', upgradeTo: ['2.8.5'] })
  })
  afterAll(() => w?.stop())

  const inputs = () => ({ 'backup-filename': w.backupFilename })

  it('during the Restore wait: stops at once, reports, gives the lock back; a re-run finishes', async () => {
    const r = await act(w, inputs(), { cancelOn: /Waiting for Restore/ })
    expectCancelledInTime(
      r,
      /Cancelled by SIGINT at [^,]+, in step &quot;Restore|Cancelled by SIGINT at [^,]+, in step "Restore/
    )
    // Only SIGINT was needed: nothing mutating was in flight.
    expect(r.signals.map(s => s.signal)).toEqual(['SIGINT'])
    expect(await lease(w)).toBe('')
    expect(await image(w)).toBe('rancher/rancher:v2.8.5')
    // The operator finishes the Restore whatever the action does.
    await w.kubectl([
      'wait',
      `restores.resources.cattle.io/${r.outputs['restore-name']}`,
      '--for=condition=Ready=True',
      '--timeout=120s'
    ])
    const again = await act(w, inputs())
    expect(again.exitCode, again.log).toBe(0)
    expect(again.outputs['to-version']).toBe('2.8.4')
    expect(again.summary).toContain('already Completed by an earlier run')
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
  })

  it('during helm rollback: Helm gets its grace, the run still exits before SIGKILL; a re-run finishes', async () => {
    // Back at 2.8.5 for another rollback (the 2.8.4 backup still applies).
    await upgradeAgain(w, '2.8.5')
    const r = await act(w, inputs(), { cancelOn: /\[command\] helm rollback/ })
    // SIGINT came while Helm ran: Helm was let finish (killing it half-way leaves the release
    // pending), and the run stopped before the next step's first command.
    expectCancelledInTime(r, /in step (&quot;|")Make sure deployment/)
    expect(r.summary).toMatch(
      /\| helm rollback rancher to revision \d+ \(v2\.8\.4\) \| ✅ succeeded/
    )
    expect(await lease(w)).toBe('')
    const again = await act(w, inputs())
    expect(again.exitCode, again.log).toBe(0)
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    const history = JSON.parse(
      await w.helm(['history', 'rancher', '-n', 'cattle-system', '-o', 'json'])
    ) as { status: string; app_version: string }[]
    expect(history.at(-1)).toMatchObject({ status: 'deployed', app_version: 'v2.8.4' })
  })
})
