/**
 * Kill anywhere (issue 8): for each procedure, the bundled action is killed with `kill -9` (with
 * its whole process tree, as a runner ends a job: testbed/run-action.ts `killAt`) at every step
 * boundary and in the middle of every long step, or cancelled as the runner cancels (SIGINT,
 * SIGTERM, SIGKILL) in every long step; each time the next run is a GitHub re-run of the same
 * workflow run (same run id, attempt + 1) with the same inputs. The last one must end
 * `succeeded` with Rancher verified at the target, the values it had (cleanup path), and nothing
 * of the action's left in the cluster.
 *
 * One chain per procedure: run i stops at point i, run i + 1 picks up what it left and stops at
 * point i + 1, and so on; the points come in the order a run reaches them, so each run gets to its
 * point by finishing what the one before left. Each point is checked to have been hit: the killed
 * run logged that step's start (or that command) and was killed there, before the step ended.
 */
import { describe, expect, it } from 'vitest'
import { inCommand, stepStart, type ActionRun, type KillPoint } from '../../testbed/run-action.js'
import type { World } from '../../testbed/scenario.js'
import { act, history, image, log, storedVersions, world } from './support.js'

/** One stop in a chain: a kill -9 or a runner cancel at a log line. */
interface Point {
  name: string
  how: 'kill' | 'cancel'
  at: KillPoint
  /**
   * Keep the backup operator busy (its own Lease, as another Restore would hold it) while this
   * run lasts, so the run is stopped while its Restore is still in flight, however fast the
   * simulated operator would be.
   */
  holdOperator?: boolean
}

const kill = (name: string, at: KillPoint, more: Partial<Point> = {}): Point => ({
  name,
  how: 'kill',
  at,
  ...more
})
const cancel = (name: string, at: KillPoint, more: Partial<Point> = {}): Point => ({
  name,
  how: 'cancel',
  at,
  ...more
})

/** Step titles (src/run/steps/*.ts `title`), by the start that tells them apart. */
const STEP = {
  lock: 'Take the cluster lock',
  removeWebhook: 'Scale Rancher to 0 and uninstall rancher-webhook',
  restore: 'Restore ',
  adoptRestore: 'Adopt Restore ',
  helmRollback: 'helm rollback ',
  scale: 'Make sure deployment ',
  verify: 'Verify: ',
  releaseLock: 'Release the cluster lock',
  saveValues: 'Save the Helm values',
  saveSecrets: 'Save the Secrets cleanup deletes',
  takeSaved: 'Take the values and Secrets the interrupted run saved',
  cleanup: 'Run rancher-cleanup (',
  verifyCleanup: 'Run rancher-cleanup verify',
  installOperator: 'Install rancher-backup-crd and rancher-backup',
  recreateSecrets: 'Recreate the saved Secrets',
  adoptRestored: 'Give ',
  helmInstall: 'Install rancher ',
  forgetSaved: 'Delete kube-system/rancher-rollback-saved'
} as const

/** The commands of the long steps (src/kube/commands.ts), as the command layer logs them. */
const CMD = {
  restoreWait: 'kubectl wait restores.resources.cattle.io/',
  helmRollback: 'helm rollback ',
  cleanupJob: 'kubectl wait job/cleanup-job ',
  verifyJob: 'kubectl wait job/verify-job ',
  installCrd: 'helm upgrade --install rancher-backup-crd ',
  installOperator: 'helm upgrade --install rancher-backup rancher-backup ',
  installRancher: 'helm upgrade --install rancher rancher '
} as const

const OPERATOR_LEASE = ['lease', 'restore-controller', '-n', 'cattle-resources-system']

async function holdOperator(w: World): Promise<void> {
  await w.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'restore-controller', namespace: 'cattle-resources-system' },
      spec: { holderIdentity: 'another-restore' }
    })
  )
}

const releaseOperator = (w: World) => w.kubectl(['delete', ...OPERATOR_LEASE, '--ignore-not-found'])

/** What the action may leave behind, by kind and name (src/kube/names.ts). */
async function leftBehind(w: World): Promise<string> {
  const [ns, cluster] = await Promise.all([
    w.kubectl([
      'get',
      'lease/rancher-rollback',
      'secret/rancher-rollback-saved',
      'job/cleanup-job',
      'job/verify-job',
      'serviceaccount/cleanup-service-account',
      '-n',
      'kube-system',
      '--ignore-not-found',
      '-o',
      'name'
    ]),
    w.kubectl(['get', 'clusterrolebinding/cleanup-admin', '--ignore-not-found', '-o', 'name'])
  ])
  return `${ns}${cluster}`.trim()
}

/** The run was stopped at its point: killed there, or cancelled there and exited in time. */
function expectStoppedAt(r: ActionRun, p: Point): void {
  const context = `${p.name}\n${r.log.slice(-4000)}`
  expect(r.leftovers, context).toEqual([])
  if (p.how === 'kill') {
    expect(r.killedAt, context).toBeDefined()
    expect(r.killedAt!.line, context).toMatch(p.at.on)
    expect(r.outputs.status, context).toBeUndefined() // died before writing its outputs
    const after = r.log.slice(r.log.indexOf(r.killedAt!.line) + r.killedAt!.line.length).split('\n')
    if (p.at.afterMs) {
      // Killed inside the step: it had not ended.
      expect(
        after.filter(l => /^(✔|▶) /.test(l)),
        context
      ).toEqual([])
    } else {
      // Killed at the step's start. The kill takes a millisecond or two to land, within which a
      // step that has no command to run (recreate-secrets with nothing saved) can end; no later
      // step may have run a command.
      const next = after.findIndex(l => l.startsWith('▶ '))
      const later = next === -1 ? [] : after.slice(next).filter(l => l.startsWith('[command] '))
      expect(later, context).toEqual([])
    }
    return
  }
  expect(r.exitSignal, context).toBeNull()
  expect(
    r.signals.map(s => s.signal),
    context
  ).not.toContain('SIGKILL')
  expect(r.outputs.status, context).toBe('cancelled')
  expect(r.summary, context).toContain('Rancher rollback cancelled')
  expect(r.summary, context).toContain('**Re-run:**')
}

/** What a run decided, and the steps it started: for the test's own log. */
function decisionOf(r: ActionRun): string {
  const decision = /^Decision: (.*)$/m.exec(r.log)?.[1] ?? '(no decision)'
  const steps = r.log
    .split('\n')
    .filter(l => l.startsWith('▶ '))
    .map(l => l.slice(2, 30))
  return `${decision.slice(0, 160)}; steps: ${steps.join(' | ')}`
}

interface ChainResult {
  runs: ActionRun[]
  last: ActionRun
}

/** Runs attempts 1..n+1 of one workflow run: attempt i stops at point i, the last one must finish. */
async function chain(
  w: World,
  inputs: Record<string, string>,
  runId: string,
  points: Point[]
): Promise<ChainResult> {
  const runs: ActionRun[] = []
  for (const [i, p] of points.entries()) {
    const env = { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(i + 1) }
    if (p.holdOperator) await holdOperator(w)
    try {
      const r = await act(
        w,
        inputs,
        p.how === 'kill'
          ? { env, killAt: p.at }
          : { env, cancelOn: new RegExp(p.at.on.source, `${p.at.on.flags}m`) }
      )
      log(`  ${p.how} at ${p.name}: ${r.killedAt?.line ?? r.signals.map(s => s.signal).join(' ')}`)
      log(`    ${decisionOf(r)}`)
      expectStoppedAt(r, p)
      runs.push(r)
    } finally {
      if (p.holdOperator) await releaseOperator(w)
    }
  }
  const last = await act(w, inputs, {
    env: { GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(points.length + 1) }
  })
  log(`  last: ${decisionOf(last)}`)
  expect(last.outputs.status, last.log.slice(-6000)).toBe('succeeded')
  expect(last.exitCode).toBe(0)
  expect(last.leftovers).toEqual([])
  // Re-runs of the same run take the lock of the attempt before at once: none waited for it.
  for (const r of [...runs, last]) expect(r.log).not.toContain('watching it until it lapses')
  return { runs, last }
}

async function expectAt(w: World, version: string): Promise<void> {
  expect(await image(w)).toBe(`rancher/rancher:v${version}`)
  expect((await history(w)).at(-1)).toMatchObject({
    status: 'deployed',
    app_version: `v${version}`
  })
  const ready = await w.kubectl([
    'get',
    'deploy',
    'rancher',
    '-n',
    'cattle-system',
    '-o',
    'jsonpath={.status.readyReplicas}/{.spec.replicas}'
  ])
  expect(ready).toMatch(/^([1-9]\d*)\/\1$/)
}

/** A world for one test, stopped whatever happens. */
async function inWorld(
  opts: Parameters<typeof world>[0],
  body: (w: World) => Promise<void>
): Promise<void> {
  const w = await world(opts)
  try {
    await body(w)
  } finally {
    await w.stop()
  }
}

const rancherValues = async (w: World): Promise<unknown> =>
  JSON.parse(await w.helm(['get', 'values', 'rancher', '-n', 'cattle-system', '-o', 'json']))

/** The cleanup path's chain, from its first point (a fresh world) to its successful end. */
async function cleanupChain(runId: string, points: Point[]): Promise<void> {
  await inWorld({ install: '2.6.3', upgradeTo: ['2.6.5'] }, async w => {
    const values = await rancherValues(w)
    const inputs = { 'backup-filename': w.backupFilename, 'allow-downtime': 'true' }
    const { last } = await chain(w, inputs, runId, points)
    expect(last.outputs).toMatchObject({
      procedure: 'cleanup-and-reinstall',
      'to-version': '2.6.3'
    })
    await expectAt(w, '2.6.3')
    expect(await rancherValues(w)).toEqual(values)
    // The backup is in the cluster: the Restore after the last rancher-cleanup completed, and what
    // it restored (the CAPI CRDs as 2.6.3 stored them) is there.
    const restores = JSON.parse(
      await w.kubectl(['get', 'restores.resources.cattle.io', '-o', 'json'])
    ) as { items: { metadata: { name: string }; status?: { restoreCompletionTs?: string } }[] }
    expect(
      restores.items.filter(
        r => r.metadata.name.startsWith('rollback-2-6-5-to-2-6-3-') && r.status?.restoreCompletionTs
      )
    ).not.toEqual([])
    expect(await storedVersions(w, 'clusters.cluster.x-k8s.io')).toBe('["v1alpha4"]')
    expect(await leftBehind(w)).toBe('')
  })
}

// Three worlds at once (each chain is a sequence; the chains are independent): the file's
// duration is its longest chain's, not their sum.
describe.concurrent('kill anywhere', () => {
  it('in-place 2.8.5 → 2.8.4, then restore-only at 2.8.4: killed at every step and in the Restore wait and helm rollback, cancelled in both; each last re-run finishes', async () => {
    await inWorld({ install: '2.8.4', upgradeTo: ['2.8.5'] }, async w => {
      const inPlace = await chain(w, { 'backup-filename': w.backupFilename }, '7001', [
        kill('lock', stepStart(STEP.lock)),
        kill('remove-webhook', stepStart(STEP.removeWebhook)),
        kill('restore', stepStart(STEP.restore)),
        cancel('Restore wait', inCommand(CMD.restoreWait, 0), { holdOperator: true }),
        kill('Restore wait', inCommand(CMD.restoreWait, 500), { holdOperator: true }),
        kill('helm-rollback', stepStart(STEP.helmRollback)),
        kill('helm rollback', inCommand(CMD.helmRollback, 700)),
        cancel('helm rollback', inCommand(CMD.helmRollback, 0)),
        kill('scale-rancher', stepStart(STEP.scale)),
        kill('verify', stepStart(STEP.verify)),
        kill('release-lock', stepStart(STEP.releaseLock))
      ])
      expect(inPlace.last.outputs).toMatchObject({ procedure: 'in-place', 'to-version': '2.8.4' })
      await expectAt(w, '2.8.4')
      expect(await leftBehind(w)).toBe('')

      const inputs = { 'target-version': '2.8.4', 'backup-filename': w.backupFilename }
      const restoreOnly = await chain(w, inputs, '7002', [
        kill('lock', stepStart(STEP.lock)),
        kill('remove-webhook', stepStart(STEP.removeWebhook)),
        kill('restore', stepStart(STEP.restore)),
        cancel('Restore wait', inCommand(CMD.restoreWait, 0), { holdOperator: true }),
        kill('Restore wait', inCommand(CMD.restoreWait, 500), { holdOperator: true }),
        kill('scale-rancher', stepStart(STEP.scale)),
        kill('verify', stepStart(STEP.verify)),
        kill('release-lock', stepStart(STEP.releaseLock))
      ])
      expect(restoreOnly.last.outputs).toMatchObject({
        procedure: 'restore-only',
        'to-version': '2.8.4'
      })
      await expectAt(w, '2.8.4')
      expect(await leftBehind(w)).toBe('')
    })
  })

  it('cleanup-and-reinstall 2.6.5 → 2.6.3, up to the Restore: killed at every step and in the cleanup and verify Jobs, the chart installs and the Restore wait, cancelled in each; the last re-run reinstalls 2.6.3 with its values', async () => {
    await cleanupChain('7003', [
      kill('lock', stepStart(STEP.lock)),
      kill('save-values', stepStart(STEP.saveValues)),
      kill('save-secrets', stepStart(STEP.saveSecrets)),
      kill('cleanup', stepStart(STEP.cleanup)),
      kill('take-saved', stepStart(STEP.takeSaved)),
      cancel('cleanup Job', inCommand(CMD.cleanupJob, 0)),
      kill('cleanup Job', inCommand(CMD.cleanupJob, 300)),
      kill('verify-cleanup', stepStart(STEP.verifyCleanup)),
      kill('verify Job', inCommand(CMD.verifyJob, 300)),
      kill('install-backup-operator', stepStart(STEP.installOperator)),
      cancel('rancher-backup-crd install', inCommand(CMD.installCrd, 0)),
      kill('rancher-backup-crd install', inCommand(CMD.installCrd, 300)),
      kill('rancher-backup install', inCommand(CMD.installOperator, 300)),
      kill('recreate-secrets', stepStart(STEP.recreateSecrets)),
      kill('restore', stepStart(STEP.restore)),
      cancel('Restore wait', inCommand(CMD.restoreWait, 0), { holdOperator: true }),
      kill('Restore wait', inCommand(CMD.restoreWait, 500), { holdOperator: true }),
      kill('adopt-restored', stepStart(STEP.adoptRestored))
    ])
  })

  it('cleanup-and-reinstall 2.6.5 → 2.6.3, from the Rancher install on: killed at every step and in the install, cancelled in it; the last re-run finishes', async () => {
    await cleanupChain('7004', [
      kill('helm-install', stepStart(STEP.helmInstall)),
      // The kill first: a cancel lets Helm finish when it can, and a re-run after an install
      // that went through only verifies.
      kill('Rancher install', inCommand(CMD.installRancher, 700)),
      cancel('Rancher install', inCommand(CMD.installRancher, 0)),
      kill('verify', stepStart(STEP.verify)),
      kill('forget-saved', stepStart(STEP.forgetSaved)),
      kill('release-lock', stepStart(STEP.releaseLock))
    ])
  })
})
