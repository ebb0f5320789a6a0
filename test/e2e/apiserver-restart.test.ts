/**
 * The API server goes away and comes back while the action waits (issue 8, part 4): a
 * control-plane restart, as an RKE2/K3s upgrade or a kube-apiserver crash does. The run must carry
 * on within its budget, never take the outage for success or for the end, and say in the summary
 * what it rode out. The restart is triggered from what the cluster shows (the Restore created, the
 * release pending), not from the action's log, so it lands inside the wait whatever the timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isTransientError } from '../../src/kube/transient-errors.js'
import type { ActionRun } from '../../testbed/run-action.js'
import type { World } from '../../testbed/scenario.js'
import { act, history, image, log, upgradeAgain, world } from './support.js'

/** Longer than a lock renewal interval (15 s), so the run itself meets the outage. */
const DOWN_MS = 16_000

/** Polls `probe` until it answers non-empty, then restarts the API server; resolves with when. */
async function restartWhen(
  w: World,
  what: string,
  probe: () => Promise<string>,
  running: Promise<ActionRun>
): Promise<{ stoppedAt: number; readyAt: number }> {
  let ended = false
  void running.then(() => (ended = true))
  for (;;) {
    if (ended) throw new Error(`the run ended before ${what}`)
    if ((await probe().catch(() => '')).trim() !== '') break
    await new Promise(r => setTimeout(r, 100))
  }
  const restart = await w.cluster.restartApiServer({ downMs: DOWN_MS })
  log(`API server restarted after ${what}: down ${restart.readyAt - restart.stoppedAt} ms`)
  return restart
}

/** The summary's interruption rows, as they render. */
const interruptionRows = (r: ActionRun): string[] =>
  (r.summary.split('### API server interruptions')[1] ?? '')
    .split('\n\n###')[0]!
    .split('\n')
    .filter(l => l.startsWith('| ') && !l.startsWith('| During') && !l.startsWith('| ---'))

describe('the API server restarts during an in-place rollback 2.8.5 → 2.8.4', () => {
  let w: World
  beforeAll(async () => {
    w = await world({ install: '2.8.4', upgradeTo: ['2.8.5'] })
  })
  afterAll(() => w?.stop())

  const inputs = () => ({ 'backup-filename': w.backupFilename })

  it('in the Restore wait: the wait is carried through the outage, the Restore completes, the summary records it', async () => {
    const t0 = Date.now()
    const running = act(w, inputs())
    const restart = await restartWhen(
      w,
      'the Restore was created',
      () => w.kubectl(['get', 'restores.resources.cattle.io', '-o', 'name']),
      running
    )
    const r = await running
    if (r.exitCode !== 0) log(r.summary)
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs.status).toBe('succeeded')
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    // The run outlived the outage: it did not end while the API server was away.
    expect(t0 + r.durationMs).toBeGreaterThan(restart.readyAt)
    expect(r.summary).toMatch(/\| Restore [^|]+ \| ✅ succeeded/)
    const rows = interruptionRows(r)
    expect(rows.length, r.summary).toBeGreaterThan(0)
    // Everything it met happened during the Restore step, and was an outage as the command layer
    // judges one (kubectl's "connection refused", or the proxy's own words for the same outage).
    for (const row of rows) {
      expect(row).toMatch(/^\| Restore /)
      expect(isTransientError(row, 1), row).toBe(true)
    }
    // When BRO's deferred Unlock failed while the API server was away, the operator jammed on its
    // own lock (operator-lock.ts): the run must have released it, and said so. Whether the outage
    // caught the operator mid-pass depends on timing; the log says which case this was.
    const operatorLog = await w.kubectl([
      'logs',
      '-n',
      'cattle-resources-system',
      '-l',
      'app.kubernetes.io/name=rancher-backup',
      '--tail=-1'
    ])
    const jammed =
      operatorLog.includes(`${r.outputs['restore-name']}:`) &&
      / is in progress, requeuing/.test(operatorLog)
    log(`the operator ${jammed ? 'jammed on its own lock' : 'did not jam'} during the outage`)
    if (jammed)
      expect(r.summary).toMatch(
        /after this run released the operator&#39;s own lock[^|]+ is in progress, requeuing\)/
      )
    else expect(r.summary).not.toContain('released the operator')
    // kubectl wait either rides the outage out inside its informer or exits refused; in the second
    // case it was started again and went through.
    const waitRow = rows.find(row => row.includes('<code>kubectl wait restores'))
    if (waitRow !== undefined) expect(waitRow).toMatch(/refused.* \| ✅ answered after/)
  })

  it('in helm rollback --wait: the rollback is repeated once the API server answers, and ends deployed at 2.8.4', async () => {
    await upgradeAgain(w, '2.8.5')
    const t0 = Date.now()
    const running = act(w, inputs())
    const restart = await restartWhen(
      w,
      'helm rollback wrote its pending revision',
      () =>
        w.kubectl([
          'get',
          'secrets',
          '-n',
          'cattle-system',
          '-l',
          'owner=helm,name=rancher,status=pending-rollback',
          '-o',
          'name'
        ]),
      running
    )
    const r = await running
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs.status).toBe('succeeded')
    expect(t0 + r.durationMs).toBeGreaterThan(restart.readyAt)
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    expect((await history(w)).at(-1)).toMatchObject({ status: 'deployed', app_version: 'v2.8.4' })
    expect(r.summary).toMatch(
      /\| helm rollback rancher to revision \d+ \(v2\.8\.4\) \| ✅ succeeded/
    )
    // Helm rides out an outage in its wait, not one while it reads or applies the objects; when
    // the restart caught it there, it was run again and went through.
    const helmRow = interruptionRows(r).find(row => row.includes('<code>helm rollback'))
    if (helmRow !== undefined) {
      expect(helmRow).toMatch(
        /^\| helm rollback rancher to revision \d+ \(v2\.8\.4\) \| <code>helm rollback rancher \d+ -n cattle-system --wait --timeout \d+s<\/code> \| .*refused.* \| ✅ answered after/
      )
    }
    log(`helm rollback ${helmRow === undefined ? 'rode the outage out' : 'was run again after it'}`)
  })
})
