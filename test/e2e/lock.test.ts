/**
 * The cluster lock against a real API server: a run killed with `kill -9` leaves a Lease that
 * lapses within a minute, so a re-run with the same inputs finishes the job; a run started while
 * another is alive fails fast, naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ActionRun, RunActionOptions } from '../../testbed/run-action.js'
import { startWorld, type World } from '../../testbed/scenario.js'
import { act, image, log } from './support.js'

const runUrl = (id: string, attempt = 1) =>
  `https://github.com/acme/platform/actions/runs/${id}/attempts/${attempt}`

/** The action as run `runId` of the workflow, attempt `attempt` (the Lease's holder names both). */
const actAs = (
  w: World,
  inputs: Record<string, string>,
  runId: string,
  extra: Partial<RunActionOptions> = {},
  attempt = 1
): Promise<ActionRun> =>
  act(w, inputs, {
    ...extra,
    env: { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(attempt) }
  })

async function lease(w: World): Promise<{ spec: Record<string, unknown> } | undefined> {
  const out = await w.kubectl([
    'get',
    'lease',
    'rancher-rollback',
    '-n',
    'kube-system',
    '-o',
    'json',
    '--ignore-not-found'
  ])
  return out.trim() === '' ? undefined : JSON.parse(out)
}

describe('the lock: in-place 2.8.5 → 2.8.4', () => {
  let w: World
  beforeAll(async () => {
    const started = Date.now()
    w = await startWorld({ install: '2.8.4', upgradeTo: ['2.8.5'], log })
    log(`world ready in ${Math.round((Date.now() - started) / 1000)}s`)
  })
  afterAll(() => w?.stop())

  it('after kill -9 of the run holding the lock, a re-run waits at most about a minute for it, takes it over and finishes', async () => {
    const inputs = { 'backup-filename': w.backupFilename }
    const killed = await actAs(w, inputs, '3001', { killOn: /✔ taken by /m })
    expect(killed.killed, killed.log).toBe(true)
    const left = await lease(w)
    expect(left?.spec).toMatchObject({
      holderIdentity: expect.stringContaining(runUrl('3001')),
      leaseDurationSeconds: 60
    })

    const rerun = await actAs(w, inputs, '3002')
    expect(rerun.exitCode, rerun.log).toBe(0)
    expect(rerun.outputs.status).toBe('succeeded')
    const took = rerun.log.match(
      /✔ taken over from expired holder (.*?)(?: after waiting (\d+)s for .*, who stopped renewing it)?; renewed every 15s/
    )
    expect(took, rerun.log).not.toBeNull()
    expect(took![1]).toContain(runUrl('3001'))
    // It waited for the lapse (a minute after the killed run's last renewal), not for its timeout.
    expect(Number(took![2] ?? 0)).toBeLessThanOrEqual(70)
    expect(rerun.durationMs).toBeLessThan(killed.durationMs + 5 * 60_000)
    expect(rerun.summary).toContain(`after waiting`)
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    expect(await lease(w)).toBeUndefined()
  })

  it('after kill -9, a GitHub re-run of the same run (attempt 2) takes over the lock of attempt 1 at once', async () => {
    // restore-only at the version the first test rolled back to
    const inputs = { 'target-version': '2.8.4', 'backup-filename': w.backupFilename }
    const killed = await actAs(w, inputs, '3010', { killOn: /✔ taken by /m })
    expect(killed.killed, killed.log).toBe(true)
    expect((await lease(w))?.spec.holderIdentity).toContain(runUrl('3010', 1))

    const rerun = await actAs(w, inputs, '3010', {}, 2)
    expect(rerun.exitCode, rerun.log).toBe(0)
    expect(rerun.outputs.status).toBe('succeeded')
    expect(rerun.log).toMatch(
      new RegExp(
        `✔ took over the lock of attempt 1 of this run, which ended \\(${runUrl('3010', 1).replace(/[.]/g, '\\.')} job rollback \\([^)]+\\)\\), at once; renewed every 15s`
      )
    )
    expect(rerun.log).not.toContain('watching it until it lapses')
    // The lock step took seconds, not the minute a lapse takes.
    const lock = rerun.summary.match(
      /\| Take the cluster lock [^|]*\| ✅ succeeded \| ([\d.]+) (ms|s) \|/
    )
    expect(lock, rerun.summary).not.toBeNull()
    expect(lock![2] === 'ms' || Number(lock![1]) < 10).toBe(true)
    expect(rerun.durationMs).toBeLessThan(60_000)
    expect(rerun.summary).toContain('took over the lock of attempt 1 of this run, which ended')
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    expect(await lease(w)).toBeUndefined()
  })

  it('two runs at once: the second fails fast, naming the first, which finishes', async () => {
    // restore-only at the version the first test rolled back to
    const inputs = { 'target-version': '2.8.4', 'backup-filename': w.backupFilename }
    const [a, b] = await Promise.all([actAs(w, inputs, '3003'), actAs(w, inputs, '3004')])
    const [winner, loser] = a.exitCode === 0 ? [a, b] : [b, a]
    const winnerId = winner === a ? '3003' : '3004'
    expect(winner.exitCode, winner.log).toBe(0)
    expect(winner.outputs).toMatchObject({ status: 'succeeded', procedure: 'restore-only' })
    expect(loser.exitCode, loser.log).toBe(1)
    expect(loser.summary).toMatch(/Another rollback holds the lock/)
    expect(loser.summary).toContain(runUrl(winnerId))
    // it saw the first renew the lock, or release it before a renewal was due
    expect(loser.summary).toMatch(
      /It is running: it renewed the lock at|It was running: it released the lock/
    )
    expect(loser.durationMs).toBeLessThan(45_000)
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    expect(await lease(w)).toBeUndefined()
  })
})
