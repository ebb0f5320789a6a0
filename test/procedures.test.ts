/**
 * Component tests: whole runs of main.run() against the scripted command layer. They pin the exact
 * command sequence of each procedure and prove a dry run issues no mutating command.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { run, type Environment } from '../src/main.js'
import { Cancellation, CancelledError } from '../src/run/cancellation.js'
import type { S3Object } from '../src/facts/s3-client.js'
import { fakeRancher, type WorldOptions } from './support/fake-rancher.js'

const BACKUP = 'rancher-nightly-b0450532-cee1-4aa1-a881-f5f48a007b1c-2026-11-21T02-00-00Z.tar.gz'
const SECRET_KEY = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY'
const BOOTSTRAP = 's3cr3t-bootstrap'

let dir: string
const saved = { ...process.env }

function setInputs(inputs: Record<string, string>): void {
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rr-component-'))
  for (const f of ['output', 'summary', 'state']) writeFileSync(join(dir, f), '')
  Object.assign(process.env, {
    RUNNER_TEMP: dir,
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_RUN_ID: '42',
    GITHUB_REPOSITORY: 'acme/platform'
  })
  setInputs({
    's3-bucket-name': 'rancher-backups',
    's3-folder': 'prod',
    's3-endpoint': 'minio.example:9000',
    's3-credential-secret-name': 's3-creds',
    's3-access-key': 'AKIAEXAMPLE',
    's3-secret-key': SECRET_KEY
  })
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
})

afterEach(() => {
  process.env = { ...saved }
  process.exitCode = undefined
  rmSync(dir, { recursive: true, force: true })
})

function environment(
  world: WorldOptions,
  objects: S3Object[] = [
    { key: `prod/${BACKUP}`, lastModified: '2026-11-21T02:00:05Z', size: 1234 }
  ],
  /** The helm the installer verified. */
  helmVersion = '3.17.2'
) {
  const { runner, state } = fakeRancher(world)
  const env: Environment = {
    install: async () => ({
      helmPath: '/bin/helm',
      kubectlPath: '/bin/kubectl',
      helmVersion
    }),
    runner: () => runner,
    s3: {
      headObject: async (_t, key) => objects.find(o => o.key === key),
      listObjects: async (_t, prefix) => objects.filter(o => o.key.startsWith(prefix))
    },
    now: () => new Date(state.clock),
    cancellation: new Cancellation()
  }
  return { env, runner, state }
}

function outputs(): Record<string, string> {
  const text = readFileSync(join(dir, 'output'), 'utf8')
  const out: Record<string, string> = {}
  const re = /^(.+?)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!
  return out
}

const summary = () => readFileSync(join(dir, 'summary'), 'utf8')

/** Everything the action wrote where a person or a later step can read it. */
function published(): string {
  return summary() + readFileSync(join(dir, 'output'), 'utf8')
}

const inPlaceWorld: WorldOptions = {
  history: [
    { revision: 1, version: '2.8.4', status: 'superseded' },
    { revision: 2, version: '2.8.5', status: 'deployed' }
  ],
  capiNamespace: true
}

const LEASE_POST = 'POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases?timeout=30s'
const LEASE_PUT =
  'PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'

describe('in-place 2.8.5 → 2.8.4', () => {
  it('restores, rolls back to the revision of 2.8.4 and verifies, in this exact order', async () => {
    setInputs({ 'target-version': 'previous', 'backup-filename': BACKUP })
    const { env, runner, state } = environment(inPlaceWorld)
    const report = await run(env)

    expect(report.error).toBe('')
    expect(report.status).toBe('succeeded')
    expect(runner.mutating()).toEqual([
      'POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases?timeout=30s', // lease
      'PATCH /apis/apps/v1/namespaces/cattle-system/deployments/rancher/scale?timeout=30s',
      'helm uninstall rancher-webhook -n cattle-system --wait --timeout 1800s',
      'POST /apis/resources.cattle.io/v1/restores?timeout=30s', // restore
      'helm rollback rancher 1 -n cattle-system --wait --timeout 1800s',
      'DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
    ])
    const lines = runner.lines()
    const afterFacts = lines.slice(
      lines.indexOf('POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases?timeout=30s')
    )
    expect(afterFacts).toEqual([
      // no Lease: taken in one call
      'POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases?timeout=30s',
      // remove-webhook: Rancher first, or it would reinstall the webhook at once
      'PATCH /apis/apps/v1/namespaces/cattle-system/deployments/rancher/scale?timeout=30s',
      'kubectl wait pod -l app=rancher -n cattle-system --for=delete --timeout=1800s',
      'helm history rancher-webhook -n cattle-system -o json --max 256',
      'helm uninstall rancher-webhook -n cattle-system --wait --timeout 1800s',
      'POST /apis/resources.cattle.io/v1/restores?timeout=30s',
      'kubectl wait restores.resources.cattle.io/rollback-2-8-5-to-2-8-4-20261124t090000 --for=condition=Ready=True --timeout=1200s',
      'GET /apis/resources.cattle.io/v1/restores/rollback-2-8-5-to-2-8-4-20261124t090000?timeout=30s',
      'helm rollback rancher 1 -n cattle-system --wait --timeout 1800s',
      'GET /apis/apps/v1/namespaces/cattle-system/deployments/rancher?timeout=30s',
      'kubectl rollout status deployment/rancher -n cattle-system --timeout=1800s',
      // the replicas to expect were planned from revision 1's manifest: no second read
      'helm history rancher -n cattle-system -o json --max 256',
      'GET /apis/apps/v1/namespaces/cattle-system/deployments/rancher?timeout=30s',
      // Rancher, running again, has reinstalled its webhook
      'kubectl wait deployment/rancher-webhook -n cattle-system --for=create --timeout=1800s',
      'kubectl rollout status deployment/rancher-webhook -n cattle-system --timeout=1800s',
      'helm history rancher-webhook -n cattle-system -o json --max 256',
      'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s',
      'DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
    ])
    // The Restore sent on stdin is the documented one, pointing at the chosen backup.
    const restore = JSON.parse(runner.calls.find(c => c.stdin?.includes('"Restore"'))!.stdin!)
    expect(restore.spec.backupFilename).toBe(BACKUP)
    expect(restore.spec.prune).toBe(true)
    expect(restore.spec.storageLocation.s3).toMatchObject({
      bucketName: 'rancher-backups',
      folder: 'prod',
      endpoint: 'minio.example:9000',
      credentialSecretName: 's3-creds'
    })
    expect(state.image).toBe('rancher/rancher:v2.8.4')

    const out = outputs()
    expect(out).toMatchObject({
      status: 'succeeded',
      procedure: 'in-place',
      'from-version': '2.8.5',
      'to-version': '2.8.4',
      'helm-revision': '3',
      'restore-name': 'rollback-2-8-5-to-2-8-4-20261124t090000'
    })
    expect(summary()).toContain('2.8.5')
    expect(published()).not.toContain(SECRET_KEY)
  })

  it('uses Helm 4 spelling of --wait when helm is 4', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment(inPlaceWorld, undefined, '4.1.4')
    await run(env)
    expect(runner.mutating()).toContain(
      'helm rollback rancher 1 -n cattle-system --wait=watcher --timeout 1800s'
    )
  })

  it('a dry run reads only and publishes the plan', async () => {
    setInputs({ 'backup-filename': BACKUP, 'dry-run': 'true' })
    const { env, runner } = environment(inPlaceWorld)
    const report = await run(env)
    expect(report.status).toBe('planned')
    expect(runner.mutating()).toEqual([])
    expect(runner.calls.length).toBeGreaterThan(5)
    const plan = JSON.parse(outputs().plan!)
    expect(plan.map((s: { id: string }) => s.id)).toEqual([
      'lock',
      'remove-webhook',
      'restore',
      'helm-rollback',
      'scale-rancher',
      'verify',
      'release-lock'
    ])
    expect(plan[1].commands).toEqual([
      'PATCH /apis/apps/v1/namespaces/cattle-system/deployments/rancher/scale?timeout=30s < (replicas: 0)',
      'kubectl wait pod -l app=rancher -n cattle-system --for=delete --timeout=1800s',
      'helm history rancher-webhook -n cattle-system -o json --max 256',
      'helm uninstall rancher-webhook -n cattle-system --wait --timeout 1800s'
    ])
    expect(plan[3].commands).toEqual([
      'helm rollback rancher 1 -n cattle-system --wait --timeout 1800s'
    ])
    expect(process.exitCode).not.toBe(1)
  })

  it('fails with the operator error and log when the Restore does not complete', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment({ ...inPlaceWorld, restoreOutcome: 'error' })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toMatch(/error restoring CRDs/)
    expect(runner.lines().some(l => l.startsWith('helm rollback'))).toBe(false)
    expect(summary()).toContain('storedVersions')
    // the lock is released even on failure
    expect(runner.mutating().at(-1)).toMatch(
      /^DELETE \/apis\/coordination.k8s.io\/v1\/namespaces\/kube-system\/leases\/rancher-rollback\?timeout=30s$/
    )
    expect(process.exitCode).toBe(1)
  })

  it('cancelled during the Restore wait: starts nothing more, releases the lock, reports where it stopped', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment(inPlaceWorld)
    // The runner sends SIGINT while the action waits on its Restore; the real runner kills the wait.
    runner.on(/^kubectl wait restores/, () => {
      env.cancellation.cancel('SIGINT')
      return { exitCode: 1, stderr: 'signal: interrupt' }
    })
    const report = await run(env)
    expect(report.status).toBe('cancelled')
    const status = (id: string) => report.steps.find(s => s.id === id)?.status
    expect(status('restore')).toBe('cancelled')
    expect(status('helm-rollback')).toBe('not-run')
    expect(status('release-lock')).toBe('succeeded')
    // nothing after the wait but the lock release
    const after = runner
      .lines()
      .slice(runner.lines().findIndex(l => l.startsWith('kubectl wait restores')) + 1)
    expect(after).toEqual([
      'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s',
      'DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
    ])
    expect(report.error).toMatch(
      /^Cancelled by SIGINT at .*, in step "Restore .*"\. The Restore was created and the backup operator keeps working on it/
    )
    expect(outputs().status).toBe('cancelled')
    expect(summary()).toContain('**Re-run:** Run it again with the same inputs:')
    expect(process.exitCode).toBe(1)
  })

  it('cancelled during the Restore wait, the wait stopped as the real runner stops it (CancelledError): reports cancelled', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment(inPlaceWorld)
    const rejections: unknown[] = []
    const onRejection = (e: unknown): void => void rejections.push(e)
    process.on('unhandledRejection', onRejection)
    try {
      runner.on(/^kubectl wait restores/, () => {
        env.cancellation.cancel('SIGINT')
        throw new CancelledError(
          'kubectl wait restores… was stopped after 1s: the run was cancelled'
        )
      })
      const report = await run(env)
      await new Promise(r => setTimeout(r, 10))
      expect(report.status).toBe('cancelled')
      expect(outputs().status).toBe('cancelled')
      // A rejection nobody handles ends the real process (Node's default) before it reports.
      expect(rejections).toEqual([])
    } finally {
      process.off('unhandledRejection', onRejection)
    }
  })

  it('does not re-create a Restore an earlier run completed', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const done = {
      metadata: {
        name: 'rollback-2-8-5-to-2-8-4-20261124t080000',
        creationTimestamp: '2026-11-24T08:00:00Z'
      },
      spec: { backupFilename: BACKUP },
      status: {
        restoreCompletionTs: '2026-11-24T08:05:00Z',
        conditions: [{ type: 'Ready', status: 'True', message: 'Completed' }]
      }
    }
    const { env, runner } = environment({ ...inPlaceWorld, restores: [done] })
    const report = await run(env)
    expect(report.status).toBe('succeeded')
    expect(runner.lines().filter(l => l.startsWith('POST '))).toHaveLength(1) // lease only
    expect(report.steps.find(s => s.id === 'restore')?.detail).toMatch(/already Completed/)
  })

  const otherRun = 'https://github.com/acme/platform/actions/runs/41/attempts/1 job rollback'
  const heldLease = (renewTime: string, leaseDurationSeconds = 60) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'rancher-rollback', namespace: 'kube-system', resourceVersion: '7' },
    spec: {
      holderIdentity: otherRun,
      leaseDurationSeconds,
      acquireTime: '2026-11-24T08:55:00.000000Z',
      renewTime
    }
  })
  const started = Date.parse('2026-11-24T09:00:00Z')
  const watches = (runner: { lines(): string[] }) =>
    runner.lines().filter(l => l.startsWith('kubectl wait lease/rancher-rollback'))

  it('fails fast naming the holder when a live run holds the lock (it renews it)', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner, state } = environment({
      ...inPlaceWorld,
      lease: heldLease('2026-11-24T08:59:55.000000Z'),
      lockHolder: 'renews'
    })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain('actions/runs/41')
    expect(report.error).toContain('since 2026-11-24T08:55:00.000Z')
    expect(report.error).toMatch(/It is running: it renewed the lock at 2026-11-24T09:00:10/)
    expect(report.nextStep).toMatch(/Do not delete the Lease/)
    // one watch of the Lease, no longer than a renewal interval, showed it renewed
    expect(watches(runner)).toHaveLength(1)
    expect(state.clock - started).toBeLessThanOrEqual(15_000)
    expect(runner.mutating()).toEqual([LEASE_POST]) // the one-call take, refused
    expect(state.lease?.spec).toMatchObject({ holderIdentity: otherRun })
  })

  it('waits for a dead holder (it stopped renewing) until its lock lapses, then takes it over', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner, state } = environment({
      ...inPlaceWorld,
      lease: heldLease('2026-11-24T08:59:30.000000Z')
    })
    const report = await run(env)
    expect(report.status, report.error).toBe('succeeded')
    // lapsed at 09:00:30; the watches end every 10s
    expect(state.clock).toBe(Date.parse('2026-11-24T09:00:40Z'))
    expect(watches(runner)).toHaveLength(4)
    expect(report.steps.find(s => s.id === 'lock')?.detail).toBe(
      `taken over from expired holder ${otherRun} after waiting 40s for ${otherRun}, who stopped renewing it; renewed every 15s`
    )
    expect(runner.mutating().slice(0, 2)).toEqual([LEASE_POST, LEASE_PUT])
    expect(runner.mutating().at(-1)).toMatch(
      /^DELETE \/apis\/coordination.k8s.io\/v1\/namespaces\/kube-system\/leases\/rancher-rollback\?timeout=30s$/
    )
  })

  it('a re-run (attempt 2 of the same run) takes over the lock of attempt 1 at once: that attempt has ended', async () => {
    setInputs({ 'backup-filename': BACKUP })
    process.env.GITHUB_RUN_ATTEMPT = '2'
    const attempt1 =
      'https://github.com/acme/platform/actions/runs/42/attempts/1 job rollback (r:1)'
    const lease = heldLease('2026-11-24T08:59:55.000000Z')
    lease.spec.holderIdentity = attempt1
    const { env, runner, state } = environment({ ...inPlaceWorld, lease, lockHolder: 'renews' })
    const report = await run(env)
    expect(report.status, report.error).toBe('succeeded')
    expect(watches(runner)).toEqual([])
    expect(report.steps.find(s => s.id === 'lock')?.detail).toBe(
      `took over the lock of attempt 1 of this run, which ended (${attempt1}), at once; renewed every 15s`
    )
    expect(runner.mutating().slice(0, 2)).toEqual([LEASE_POST, LEASE_PUT])
    expect(state.clock - started).toBeLessThan(5_000)
  })

  it('fails fast when the holder releases the lock before a renewal was due: it was running, the plan may be stale', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner, state } = environment({
      ...inPlaceWorld,
      lease: heldLease('2026-11-24T08:59:50.000000Z'),
      lockHolder: { releasedAt: '2026-11-24T09:00:04Z' }
    })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain(`${otherRun}, since 2026-11-24T08:55:00.000Z`)
    expect(report.error).toContain('it released the lock while this run waited')
    expect(report.nextStep).toBe('Re-run: it plans from what that run left.')
    expect(state.clock - started).toBe(4_000) // the watch ended with the release
    expect(runner.mutating()).toEqual([LEASE_POST])
  })

  it("takes the lock once a dead holder's Lease is deleted by hand, and says for whom it waited", async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment({
      ...inPlaceWorld,
      lease: heldLease('2026-11-24T08:59:50.000000Z'),
      lockHolder: { releasedAt: '2026-11-24T09:00:25Z' }
    })
    const report = await run(env)
    expect(report.status, report.error).toBe('succeeded')
    expect(watches(runner)).toHaveLength(3)
    expect(report.steps.find(s => s.id === 'lock')?.detail).toMatch(
      /^taken by .* for 60s after waiting 25s for https:\/\/github\.com\/acme\/platform\/actions\/runs\/41\/attempts\/1 job rollback, whose Lease was deleted after it stopped renewing it; renewed every 15s$/
    )
    expect(runner.mutating().slice(0, 2)).toEqual([LEASE_POST, LEASE_POST])
  })

  describe('while later steps run', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    /** The Restore takes a renewal interval; `meanwhile` changes the world first. */
    function slowRestore(world: ReturnType<typeof environment>, meanwhile = () => {}) {
      world.runner.on(/^kubectl wait restores.resources.cattle.io/, () => {
        meanwhile()
        world.state.clock += 15_000
        vi.advanceTimersByTime(15_000)
        return {}
      })
    }

    it("renews the lock every 15s, through the lock step's planned commands", async () => {
      setInputs({ 'backup-filename': BACKUP })
      const world = environment(inPlaceWorld)
      slowRestore(world)
      const report = await run(world.env)
      expect(report.status, report.error).toBe('succeeded')
      const lines = world.runner.lines()
      const renewRead =
        'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=10s'
      expect(lines.filter(l => l === renewRead)).toHaveLength(1)
      expect(lines.indexOf(renewRead)).toBeGreaterThan(
        lines.findIndex(l => l.startsWith('kubectl wait restores'))
      )
      const renewal = world.runner.calls.find(c => c.about?.includes('renewed by this run'))!
      const lease = JSON.parse(renewal.stdin!)
      expect(lease.metadata.resourceVersion).toBe('101') // the created Lease's
      expect(lease.spec).toEqual({
        holderIdentity: expect.stringContaining('actions/runs/42'),
        leaseDurationSeconds: 60,
        acquireTime: '2026-11-24T09:00:00.000000Z',
        renewTime: '2026-11-24T09:00:15.000000Z'
      })
      const lock = report.steps.find(s => s.id === 'lock')!
      expect(lock.commands).toContain(world.runner.described()[world.runner.calls.indexOf(renewal)])
      expect(lock.commands).toContain(renewRead)
      expect(world.state.lease).toBeUndefined() // released at the end
    })

    it('stops renewing, with a warning, when another run took the lock; release leaves it alone', async () => {
      setInputs({ 'backup-filename': BACKUP })
      const world = environment(inPlaceWorld)
      const other = heldLease('2026-11-24T09:00:10.000000Z')
      slowRestore(world, () => (world.state.lease = other))
      const report = await run(world.env)
      expect(report.status, report.error).toBe('succeeded')
      expect(
        world.runner.lines().some(l => l.startsWith('PUT ') && l.includes('renewed by this run'))
      ).toBe(false)
      const log = vi
        .mocked(process.stdout.write)
        .mock.calls.map(c => String(c[0]))
        .join('')
      expect(log).toContain(
        `Warning: This run no longer holds the lock: ${otherRun} holds it since 2026-11-24T08:55:00.000Z. Another rollback may now change the cluster`
      )
      expect(report.steps.find(s => s.id === 'release-lock')?.detail).toBe(
        'not held by this run: left alone'
      )
      expect(world.state.lease).toBe(other)
    })
  })

  it('a lock that would not lapse within two lease durations fails at once, naming the holder', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment({
      ...inPlaceWorld,
      lease: heldLease('2026-11-24T08:55:00.000000Z', 1800)
    })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain(
      `holds the lock (Lease kube-system/rancher-rollback): ${otherRun}, since 2026-11-24T08:55:00.000Z, until 2026-11-24T09:25:00.000Z`
    )
    expect(report.nextStep).toContain('kubectl -n kube-system delete lease rancher-rollback')
    expect(watches(runner)).toEqual([])
    expect(runner.mutating()).toEqual([LEASE_POST])
  })
})

describe('cleanup-and-reinstall 2.7.9 → 2.7.6', () => {
  const world: WorldOptions = {
    history: [
      { revision: 1, version: '2.7.6', status: 'superseded' },
      { revision: 2, version: '2.7.9', status: 'deployed' }
    ],
    capiNamespace: true
  }

  it('is refused without allow-downtime, before anything changes', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP })
    const { env, runner } = environment(world)
    const report = await run(env)
    expect(report.status).toBe('refused')
    expect(report.decision).toMatchObject({ procedure: 'cleanup-and-reinstall' })
    expect(runner.mutating()).toEqual([])
    expect(outputs().status).toBe('refused')
    expect(process.exitCode).toBe(1)
  })

  it('saves values first, cleans up, verifies, reinstalls the operator and Rancher, in this order', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const { env, runner, state } = environment(world)
    const report = await run(env)
    expect(report.error).toBe('')
    expect(report.status).toBe('succeeded')
    const lines = runner.lines()
    const order = [
      "helm show chart rancher-backup --repo https://charts.rancher.io --version '>=102.0.0 <103.0.0'",
      'helm get values rancher -n cattle-system -o yaml',
      'GET /api/v1/namespaces/cattle-system/secrets/tls-rancher-ingress?timeout=30s',
      'kubectl delete job cleanup-job -n kube-system --ignore-not-found --wait=true --request-timeout=30s',
      'kubectl wait job/cleanup-job -n kube-system --for=condition=Complete --timeout=1800s',
      'kubectl wait job/verify-job -n kube-system --for=condition=Complete --timeout=1800s',
      'kubectl delete clusterrolebinding cleanup-admin --ignore-not-found --wait=true --request-timeout=30s',
      'helm upgrade --install rancher-backup-crd rancher-backup-crd --repo https://charts.rancher.io --version 102.0.3+up3.1.3 -n cattle-resources-system --create-namespace --wait --timeout 1800s',
      'helm upgrade --install rancher-backup rancher-backup --repo https://charts.rancher.io --version 102.0.3+up3.1.3 -n cattle-resources-system --create-namespace --wait --timeout 1800s',
      'kubectl wait restores.resources.cattle.io/rollback-2-7-9-to-2-7-6-20261124t090000 --for=condition=Ready=True --timeout=1200s'
    ]
    const positions = order.map(l => lines.indexOf(l))
    expect(
      positions.every(p => p >= 0),
      `missing: ${order.filter((_, i) => positions[i]! < 0).join('\n')}`
    ).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    const install = lines.find(l => l.startsWith('helm upgrade --install rancher rancher'))!
    expect(install).toMatch(
      /--version 2\.7\.6 -n cattle-system --create-namespace -f .*values\.yaml --wait --timeout \d+s$/
    )
    expect(lines.indexOf(install)).toBeGreaterThan(positions.at(-1)!)
    const restore = JSON.parse(runner.calls.find(c => c.stdin?.includes('"Restore"'))!.stdin!)
    expect(restore.spec.prune).toBe(false)

    // the values were saved to a private file before cleanup, and never published
    const valuesFile = outputs()['values-file']!
    expect(readFileSync(valuesFile, 'utf8')).toContain('hostname: rancher.example.com')
    expect(published()).not.toContain(BOOTSTRAP)
    expect(state.image).toBe('rancher/rancher:v2.7.6')
  })

  it.each([
    [
      'the target rancher chart (kubeVersion < 1.27.0-0) on Kubernetes v1.27.4',
      { kubernetesVersion: 'v1.27.4' },
      'The rancher chart 2.7.6 requires Kubernetes < 1.27.0-0 (its Chart.yaml kubeVersion) and this cluster runs v1.27.4'
    ],
    [
      'the rancher-backup chart (kubeVersion >= 1.23.0-0) on Kubernetes v1.20.2',
      { backupKubeVersion: '>= 1.23.0-0' },
      'The rancher-backup chart 102.0.3+up3.1.3 requires Kubernetes >= 1.23.0-0'
    ]
  ])('refuses before cleanup when %s', async (_what, over, message) => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const { env, runner } = environment({ ...world, ...over })
    const report = await run(env)
    expect(report.status).toBe('refused')
    expect(report.error).toContain(message)
    expect(report.error).toContain('nothing was changed')
    expect(runner.mutating()).toEqual([])
  })

  it('stops before cleanup when the values have no hostname', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const { env, runner } = environment({ ...world, values: 'replicas: 1\n' })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toMatch(/hostname/)
    expect(runner.lines().some(l => l.includes('cleanup-job'))).toBe(false)
  })

  it('stops when verify reports leftovers, judged by output not exit code', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const { env, runner } = environment({
      ...world,
      verifyOutput: 'Checking for Rancher resources\nclusters.management.cattle.io/local\n'
    })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toMatch(/leftover/)
    expect(runner.lines().some(l => l.startsWith('helm upgrade'))).toBe(false)
  })

  it('stops when a namespace cleanup should delete survives, though verify.sh says nothing', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const { env, runner } = environment({ ...world, leftoverNamespace: 'cattle-global-data' })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain('namespace/cattle-global-data')
    expect(runner.lines().some(l => l.startsWith('helm upgrade'))).toBe(false)
  })

  it('a dry run of the cleanup path changes nothing', async () => {
    setInputs({
      'target-version': '2.7.6',
      'backup-filename': BACKUP,
      'allow-downtime': 'true',
      'dry-run': 'true'
    })
    const { env, runner } = environment(world)
    const report = await run(env)
    expect(report.status).toBe('planned')
    expect(runner.mutating()).toEqual([])
    expect(JSON.parse(outputs().plan!).map((s: { id: string }) => s.id)).toEqual([
      'lock',
      'save-values',
      'save-secrets',
      'cleanup',
      'verify-cleanup',
      'install-backup-operator',
      'recreate-secrets',
      'restore',
      'adopt-restored',
      'helm-install',
      'verify',
      'forget-saved',
      'release-lock'
    ])
    // 2.7.6's chart renders bootstrap-secret as a hook, which Helm never checks: only the SA.
    const adopt = JSON.parse(outputs().plan!).find((s: { id: string }) => s.id === 'adopt-restored')
    expect(adopt.commands.join('\n')).not.toContain('bootstrap-secret')
  })
})

describe('cleanup-and-reinstall 2.6.5 → 2.6.3 after a Restore of objects Helm did not create', () => {
  const world: WorldOptions = {
    history: [
      { revision: 1, version: '2.6.3', status: 'superseded' },
      { revision: 2, version: '2.6.5', status: 'deployed' }
    ],
    storedVersions: ['v1alpha4', 'v1beta1']
  }
  const inputs = { 'target-version': '2.6.3', 'backup-filename': BACKUP, 'allow-downtime': 'true' }
  const patch =
    'kubectl patch secret bootstrap-secret -n cattle-system --type=merge -p \'{"metadata":{"labels":{"app.kubernetes.io/managed-by":"Helm"},"annotations":{"meta.helm.sh/release-name":"rancher","meta.helm.sh/release-namespace":"cattle-system"}}}\' --request-timeout=30s'

  it('plans the ownership reads and patches between the Restore and helm install', async () => {
    setInputs({ ...inputs, 'dry-run': 'true' })
    const { env, runner } = environment(world)
    expect((await run(env)).status).toBe('planned')
    expect(runner.mutating()).toEqual([])
    const plan = JSON.parse(outputs().plan!) as { id: string; commands: string[] }[]
    const ids = plan.map(s => s.id)
    expect(ids.slice(ids.indexOf('restore'), ids.indexOf('restore') + 3)).toEqual([
      'restore',
      'adopt-restored',
      'helm-install'
    ])
    expect(plan.find(s => s.id === 'adopt-restored')!.commands).toEqual([
      `kubectl get secret bootstrap-secret -n cattle-system --ignore-not-found -o 'jsonpath={.metadata.name}{"\\t"}{.metadata.labels.app\\.kubernetes\\.io/managed-by}{"\\t"}{.metadata.annotations.meta\\.helm\\.sh/release-name}{"\\t"}{.metadata.annotations.meta\\.helm\\.sh/release-namespace}' --request-timeout=30s`,
      `kubectl get serviceaccount rancher -n cattle-system --ignore-not-found -o 'jsonpath={.metadata.name}{"\\t"}{.metadata.labels.app\\.kubernetes\\.io/managed-by}{"\\t"}{.metadata.annotations.meta\\.helm\\.sh/release-name}{"\\t"}{.metadata.annotations.meta\\.helm\\.sh/release-namespace}' --request-timeout=30s`,
      patch,
      patch.replace('secret bootstrap-secret', 'serviceaccount rancher')
    ])
  })

  it("adopts only what lacks the release's ownership (the ServiceAccount has it), before helm install", async () => {
    setInputs(inputs)
    const { env, runner, state } = environment({
      ...world,
      objects: {
        'secret/bootstrap-secret': ['', '', ''],
        'serviceaccount/rancher': ['Helm', 'rancher', 'cattle-system']
      }
    })
    const report = await run(env)
    expect(report.error).toBe('')
    expect(report.status).toBe('succeeded')
    const lines = runner.lines()
    expect(lines.filter(l => l.startsWith('kubectl patch'))).toEqual([patch])
    const install = lines.findIndex(l => l.startsWith('helm upgrade --install rancher rancher'))
    expect(lines.indexOf(patch)).toBeLessThan(install)
    expect(lines.indexOf(patch)).toBeGreaterThan(
      lines.findIndex(l => l.startsWith('kubectl wait restores.resources.cattle.io'))
    )
    expect(state.objects['secret/bootstrap-secret']).toEqual(['Helm', 'rancher', 'cattle-system'])
    expect(readFileSync(process.env.GITHUB_STEP_SUMMARY!, 'utf8')).toContain(
      'secret/bootstrap-secret adopted into release rancher'
    )
  })

  it('stops before helm install when another release owns a restored object', async () => {
    setInputs(inputs)
    const { env, runner } = environment({
      ...world,
      objects: { 'serviceaccount/rancher': ['Helm', 'other', 'cattle-system'] }
    })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain("release 'other'")
    expect(runner.lines().some(l => l.startsWith('kubectl patch'))).toBe(false)
    expect(runner.lines().some(l => l.startsWith('helm upgrade --install rancher rancher'))).toBe(
      false
    )
  })
})

describe('an interrupted cleanup-and-reinstall', () => {
  const world: WorldOptions = {
    history: [
      { revision: 1, version: '2.7.6', status: 'superseded' },
      { revision: 2, version: '2.7.9', status: 'deployed' }
    ],
    capiNamespace: true
  }

  it('keeps values and Secrets in the cluster before cleanup, and a re-run finishes from them', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const first = environment({ ...world, installFails: true })
    const failed = await run(first.env)
    expect(failed.status).toBe('failed')
    expect(failed.steps.find(s => s.id === 'helm-install')?.status).toBe('failed')
    // Rancher is gone, the runner's files may be gone: the cluster still holds what was saved.
    expect(first.state.releaseExists).toBe(false)
    const saved = first.state.saved!
    expect(saved).toBeDefined()
    const savedData = JSON.parse(saved).data
    expect(Buffer.from(savedData['values.yaml'], 'base64').toString()).toContain(
      'hostname: rancher.example.com'
    )
    expect(published()).not.toContain(BOOTSTRAP)

    // A re-run on a fresh runner, with the default inputs a post-failure job would use.
    rmSync(join(dir, 'output'))
    writeFileSync(join(dir, 'output'), '')
    setInputs({ 'target-version': 'previous', 'backup-filename': 'latest' })
    const second = environment({ ...world, saved })
    second.state.releaseExists = false
    second.state.operatorInstalled = false
    second.state.history = []
    const report = await run(second.env)
    expect(report.error).toBe('')
    expect(report.decision).toMatchObject({
      procedure: 'cleanup-and-reinstall',
      from: '2.7.9',
      to: '2.7.6'
    })
    expect(report.facts?.backup.filename).toBe(BACKUP)
    const lines = second.runner.lines()
    expect(lines.some(l => l.startsWith('helm get values'))).toBe(false)
    expect(lines.find(l => l.startsWith('helm upgrade --install rancher rancher'))).toContain(
      '--version 2.7.6'
    )
    expect(second.state.image).toBe('rancher/rancher:v2.7.6')
    // verified: the safety copy is deleted last
    expect(second.runner.mutating().at(-2)).toMatch(
      /^kubectl delete secret rancher-rollback-saved -n kube-system/
    )
    expect(second.state.saved).toBeUndefined()
  })

  it('a re-run after the reinstall went through (killed before verify) verifies it and forgets the state, no rancher-cleanup again', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const first = environment({ ...world, installFails: true })
    await run(first.env)
    const saved = first.state.saved!
    setInputs({ 'target-version': 'previous' })
    const restored = {
      metadata: {
        name: 'rollback-2-7-9-to-2-7-6-20261124t080000',
        creationTimestamp: '2026-11-24T08:00:00Z',
        labels: {
          'app.kubernetes.io/managed-by': 'rancher-rollback',
          'rancher-rollback/from-version': '2.7.9',
          'rancher-rollback/to-version': '2.7.6'
        }
      },
      spec: { backupFilename: BACKUP },
      status: {
        restoreCompletionTs: '2026-11-24T08:05:00Z',
        conditions: [{ type: 'Ready', status: 'True', message: 'Completed' }]
      }
    }
    const second = environment({
      history: [{ revision: 1, version: '2.7.6', status: 'deployed' }],
      saved,
      restores: [restored]
    })
    const report = await run(second.env)
    expect(report.error).toBe('')
    expect(report.decision).toMatchObject({
      procedure: 'cleanup-and-reinstall',
      from: '2.7.9',
      to: '2.7.6',
      reinstalled: true
    })
    expect(report.steps.map(s => s.id)).toEqual(['lock', 'verify', 'forget-saved', 'release-lock'])
    expect(second.runner.mutating().filter(l => /cleanup|helm upgrade/.test(l))).toEqual([])
    expect(second.state.saved).toBeUndefined()
  })

  it('a re-run that runs rancher-cleanup again restores again, though an earlier run of the move completed its Restore (cleanup deleted what it restored)', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const first = environment({ ...world, installFails: true })
    await run(first.env)
    const saved = first.state.saved!
    const restored = {
      metadata: {
        name: 'rollback-2-7-9-to-2-7-6-20261124t080000',
        creationTimestamp: '2026-11-24T08:00:00Z',
        labels: {
          'app.kubernetes.io/managed-by': 'rancher-rollback',
          'rancher-rollback/from-version': '2.7.9',
          'rancher-rollback/to-version': '2.7.6'
        }
      },
      spec: { backupFilename: BACKUP },
      status: {
        restoreCompletionTs: '2026-11-24T08:05:00Z',
        conditions: [{ type: 'Ready', status: 'True', message: 'Completed' }]
      }
    }
    const second = environment({ ...world, saved, restores: [restored] })
    second.state.releaseExists = false
    second.state.history = []
    const report = await run(second.env)
    expect(report.status, report.error).toBe('succeeded')
    const mutating = second.runner.mutating()
    const cleanupAt = mutating.indexOf(
      'kubectl delete job cleanup-job -n kube-system --ignore-not-found --wait=true --request-timeout=30s'
    )
    const installAt = mutating.findIndex(l =>
      l.startsWith('helm upgrade --install rancher-backup ')
    )
    // the Lease, then the Restore: after cleanup and the operator's install, before Rancher's
    const creates = mutating.flatMap((l, i) => (l.startsWith('POST ') ? [i] : []))
    expect(cleanupAt, mutating.join('\n')).toBeGreaterThanOrEqual(0)
    expect(creates).toHaveLength(2)
    expect(creates[1]).toBeGreaterThan(installAt)
    expect(installAt).toBeGreaterThan(cleanupAt)
    expect(report.steps.find(s => s.id === 'restore')?.detail).not.toMatch(/already Completed/)
  })

  it('refuses to start another rollback on top of an unfinished one', async () => {
    setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
    const first = environment({ ...world, installFails: true })
    await run(first.env)
    setInputs({ 'target-version': '2.7.5' })
    const second = environment({ ...world, saved: first.state.saved })
    second.state.releaseExists = false
    const report = await run(second.env)
    expect(report.status).toBe('refused')
    expect(report.nextStep).toMatch(/target-version 2\.7\.6/)
  })
})

describe('evidence and refusals', () => {
  it.each([
    {
      why: 'clusters stored at v1beta1, history 2.6.3 → 2.6.3-ish',
      to: '2.6.3',
      history: [
        { revision: 1, version: '2.6.3', status: 'superseded' },
        { revision: 2, version: '2.6.3', status: 'failed' }
      ],
      world: { storedVersions: ['v1alpha4', 'v1beta1'] },
      fact: 'clusters.cluster.x-k8s.io status.storedVersions: [v1alpha4, v1beta1]'
    },
    {
      // any cluster.x-k8s.io CRD counts, not only clusters
      why: 'ipaddresses.ipam stored at v1beta2, history 2.13.3 → 2.13.2',
      to: '2.13.2',
      history: [
        { revision: 1, version: '2.13.2', status: 'superseded' },
        { revision: 2, version: '2.13.3', status: 'deployed' }
      ],
      world: { storedVersions: ['v1beta1'], ipamStoredVersions: ['v1beta2'] },
      fact: 'ipaddresses.ipam.cluster.x-k8s.io status.storedVersions: [v1beta2]'
    }
  ])('CAPI evidence forces cleanup over an in-place history: $why', async c => {
    setInputs({
      'target-version': c.to,
      'backup-filename': BACKUP,
      'dry-run': 'true',
      'allow-downtime': 'true'
    })
    const { env } = environment({ history: c.history, ...c.world })
    const report = await run(env)
    expect(report.decision).toMatchObject({ kind: 'proceed', procedure: 'cleanup-and-reinstall' })
    const reasons = report.decision?.kind === 'proceed' ? report.decision.reasons.join('\n') : ''
    expect(reasons).toContain(c.fact)
  })

  it('refuses a target newer than the current version', async () => {
    setInputs({ 'target-version': '2.9.0', 'backup-filename': BACKUP })
    const { env, runner } = environment(inPlaceWorld)
    const report = await run(env)
    expect(report.status).toBe('refused')
    expect(runner.mutating()).toEqual([])
  })

  it('refuses when the backup file does not exist', async () => {
    setInputs({ 'backup-filename': 'missing.tar.gz' })
    const { env, runner } = environment(inPlaceWorld)
    const report = await run(env)
    expect(report.status).toBe('refused')
    expect(report.error).toContain('missing.tar.gz')
    expect(runner.mutating()).toEqual([])
  })

  it('refuses a named backup of another cluster before anything changes, unless allowed', async () => {
    const theirs =
      'rancher-nightly-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9-2026-11-21T02-00-00Z.tar.gz'
    const objects = [{ key: `prod/${theirs}`, lastModified: '2026-11-21T02:00:05Z', size: 1 }]
    setInputs({ 'backup-filename': theirs })
    const refused = environment(inPlaceWorld, objects)
    const report = await run(refused.env)
    expect(report.status).toBe('refused')
    expect(report.error).toContain('taken on another cluster')
    expect(refused.runner.mutating()).toEqual([])

    setInputs({ 'allow-other-cluster-backup': 'true' })
    const allowed = environment(inPlaceWorld, objects)
    expect((await run(allowed.env)).status).toBe('succeeded')
  })

  it('refuses when there is no Rancher release (Docker install?)', async () => {
    setInputs({ 'backup-filename': 'latest' })
    const { env, state } = environment(inPlaceWorld)
    state.releaseExists = false
    const report = await run(env)
    expect(report.status).toBe('refused')
    expect(report.error + report.nextStep).toMatch(/Docker/)
  })

  it('picks the newest backup taken before the upgrade for backup-filename: latest', async () => {
    setInputs({ 'backup-filename': 'latest', 'dry-run': 'true' })
    const before =
      'rancher-nightly-b0450532-cee1-4aa1-a881-f5f48a007b1c-2026-11-21T02-00-00Z.tar.gz'
    const after = 'rancher-nightly-b0450532-cee1-4aa1-a881-f5f48a007b1c-2026-11-23T02-00-00Z.tar.gz'
    const { env } = environment(
      {
        history: [
          {
            revision: 1,
            version: '2.8.4',
            status: 'superseded',
            updated: '2026-11-01T10:00:00.1Z'
          },
          {
            revision: 2,
            version: '2.8.5',
            status: 'failed',
            updated: '2026-11-22T10:00:00.123456789Z'
          }
        ]
      },
      [before, after].map(f => ({ key: `prod/${f}`, lastModified: '', size: 1 }))
    )
    const report = await run(env)
    expect(report.facts?.backup.filename).toBe(before)
    expect(report.decision).toMatchObject({ procedure: 'in-place', from: '2.8.5', to: '2.8.4' })
  })

  it('a bad input fails before any tool is installed or command run', async () => {
    setInputs({ 'target-version': '2.8' })
    const { env, runner } = environment(inPlaceWorld)
    const install = vi.fn(env.install)
    const report = await run({ ...env, install })
    expect(report.status).toBe('failed')
    expect(report.error).toMatch(/target-version/)
    expect(install).not.toHaveBeenCalled()
    expect(runner.calls).toEqual([])
  })
})

/**
 * The dry-run plan is a promise: on the same world, the real run issues no command the dry run did
 * not list, and what it leaves out is only what a step skips by design.
 */
describe('the plan is what runs', () => {
  /** The first command of the first step: the lock, taken in one call. */
  const LEASE_CREATE =
    'POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases?timeout=30s < (Lease kube-system/rancher-rollback naming this run)'

  /** A dry run, then the real run on an identical fresh world. */
  async function planThenRun(world: WorldOptions, inputs: Record<string, string>) {
    setInputs({ ...inputs, 'dry-run': 'true' })
    const dry = environment(world)
    const planned = await run(dry.env)
    expect(planned.status, planned.error).toBe('planned')
    const plan = JSON.parse(outputs().plan!) as { id: string; commands: string[] }[]
    writeFileSync(join(dir, 'output'), '')

    setInputs({ 'dry-run': 'false' })
    const real = environment(world)
    const report = await run(real.env)
    expect(report.error).toBe('')
    expect(report.status).toBe('succeeded')
    // Each run has its own private work directory: the one thing that differs by design.
    const work = (c: string) => c.replace(/rancher-rollback-\w+\//g, '<work>/')
    const issued = real.runner.described().map(work)
    const steps = issued.slice(issued.indexOf(LEASE_CREATE))
    const listed = new Set(plan.flatMap(s => s.commands).map(work))
    return { plan, steps, listed, report }
  }

  const notIssued = (listed: Set<string>, steps: string[]) =>
    [...listed].filter(c => !steps.includes(c))

  it('in-place: every command issued after the decision is in the dry-run plan', async () => {
    const { steps, listed } = await planThenRun(inPlaceWorld, { 'backup-filename': BACKUP })
    expect(steps.filter(c => !listed.has(c))).toEqual([])
    expect(notIssued(listed, steps)).toEqual([
      'PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s < (Lease kube-system/rancher-rollback taken over from an expired holder or an ended attempt of this run)',
      // no other holder to watch, and the runs end before the first renewal is due
      'kubectl wait lease/rancher-rollback -n kube-system --for=delete --timeout=10s',
      'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=10s',
      'PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=10s < (Lease kube-system/rancher-rollback renewed by this run)',
      'kubectl logs -n cattle-resources-system -l app.kubernetes.io/name=rancher-backup --tail=1000 --prefix --request-timeout=30s',
      // the operator did not jam on its own lock (no API server outage)
      'GET /apis/coordination.k8s.io/v1/namespaces/cattle-resources-system/leases/restore-controller?timeout=30s',
      "PUT /apis/coordination.k8s.io/v1/namespaces/cattle-resources-system/leases/restore-controller?timeout=30s < (Lease cattle-resources-system/restore-controller with its holder cleared, as the operator's own failed unlock would have left it)",
      // helm rollback already brought the release's 3 replicas back
      'PATCH /apis/apps/v1/namespaces/cattle-system/deployments/rancher/scale?timeout=30s < (replicas: 3)'
    ])
  })

  it('restore-only: the same', async () => {
    const { plan, steps, listed } = await planThenRun(inPlaceWorld, {
      'target-version': '2.8.5',
      'backup-filename': BACKUP
    })
    expect(plan.map(s => s.id)).toEqual([
      'lock',
      'remove-webhook',
      'restore',
      'scale-rancher',
      'verify',
      'release-lock'
    ])
    expect(steps.filter(c => !listed.has(c))).toEqual([])
  })

  it('keep-rancher-webhook: no remove-webhook step, nothing scaled down or uninstalled, and no wait for a reinstall', async () => {
    const { plan, steps, listed } = await planThenRun(inPlaceWorld, {
      'backup-filename': BACKUP,
      'keep-rancher-webhook': 'true'
    })
    expect(plan.map(s => s.id)).toEqual([
      'lock',
      'restore',
      'helm-rollback',
      'scale-rancher',
      'verify',
      'release-lock'
    ])
    expect(steps.filter(c => !listed.has(c))).toEqual([])
    expect(steps.some(c => /rancher-webhook|--replicas=0/.test(c))).toBe(false)
  })

  it('a re-run that finds rancher-webhook already uninstalled skips the uninstall and still waits for the reinstall', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment({ ...inPlaceWorld, webhookInstalled: false })
    const report = await run(env)
    expect(report.status, report.error).toBe('succeeded')
    expect(runner.lines().some(l => l.startsWith('helm uninstall'))).toBe(false)
    expect(report.steps.find(s => s.id === 'remove-webhook')?.detail).toBe(
      'Rancher stopped; rancher-webhook was not installed'
    )
    expect(report.steps.find(s => s.id === 'verify')?.detail).toContain(
      'Rancher reinstalled rancher-webhook (rancher-webhook-103.0.5+up0.4.6, deployed)'
    )
  })

  it('verify fails when Rancher does not reinstall rancher-webhook', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env } = environment({ ...inPlaceWorld, webhookReinstalled: false })
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain('Rancher did not reinstall rancher-webhook')
  })

  it('cleanup-and-reinstall: the same, with the exact chart versions and the cleanup Jobs removed', async () => {
    const world: WorldOptions = {
      history: [
        { revision: 1, version: '2.7.6', status: 'superseded' },
        { revision: 2, version: '2.7.9', status: 'deployed' }
      ],
      capiNamespace: true
    }
    const { plan, steps, listed } = await planThenRun(world, {
      'target-version': '2.7.6',
      'backup-filename': BACKUP,
      'allow-downtime': 'true'
    })
    expect(steps.filter(c => !listed.has(c))).toEqual([])
    expect(notIssued(listed, steps)).toEqual([
      'PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s < (Lease kube-system/rancher-rollback taken over from an expired holder or an ended attempt of this run)',
      // no other holder to watch, and the runs end before the first renewal is due
      'kubectl wait lease/rancher-rollback -n kube-system --for=delete --timeout=10s',
      'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=10s',
      'PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=10s < (Lease kube-system/rancher-rollback renewed by this run)',
      // this world has none of the Secrets cleanup would delete: nothing to recreate
      'kubectl apply -f - --request-timeout=30s < (the saved Secrets and their namespaces)',
      'kubectl logs -n cattle-resources-system -l app.kubernetes.io/name=rancher-backup --tail=1000 --prefix --request-timeout=30s',
      // the operator did not jam on its own lock (no API server outage)
      'GET /apis/coordination.k8s.io/v1/namespaces/cattle-resources-system/leases/restore-controller?timeout=30s',
      "PUT /apis/coordination.k8s.io/v1/namespaces/cattle-resources-system/leases/restore-controller?timeout=30s < (Lease cattle-resources-system/restore-controller with its holder cleared, as the operator's own failed unlock would have left it)",
      // the Restore brought no ServiceAccount back: nothing to adopt
      'kubectl patch serviceaccount rancher -n cattle-system --type=merge -p \'{"metadata":{"labels":{"app.kubernetes.io/managed-by":"Helm"},"annotations":{"meta.helm.sh/release-name":"rancher","meta.helm.sh/release-namespace":"cattle-system"}}}\' --request-timeout=30s'
    ])
    const commands = (id: string) => plan.find(s => s.id === id)!.commands
    expect(commands('install-backup-operator')).toContain(
      'helm upgrade --install rancher-backup rancher-backup --repo https://charts.rancher.io --version 102.0.3+up3.1.3 -n cattle-resources-system --create-namespace --wait --timeout 1800s'
    )
    expect(commands('verify-cleanup')).toEqual(
      expect.arrayContaining([
        'kubectl delete clusterrolebinding cleanup-admin --ignore-not-found --wait=true --request-timeout=30s',
        'kubectl delete serviceaccount cleanup-service-account -n kube-system --ignore-not-found --wait=true --request-timeout=30s'
      ])
    )
    expect(commands('release-lock')).toContain(
      'DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
    )
  })

  it('cleanup-and-reinstall from a Turtles world (2.14.1 → 2.13.3): removes what v1.0.3 leaves, before verify', async () => {
    const world: WorldOptions = {
      history: [
        { revision: 1, version: '2.13.3', status: 'superseded' },
        { revision: 2, version: '2.14.1', status: 'deployed' }
      ],
      storedVersions: ['v1beta2'],
      turtles: true
    }
    const { plan, steps, listed } = await planThenRun(world, {
      'target-version': '2.13.3',
      'backup-filename': BACKUP,
      'allow-downtime': 'true'
    })
    expect(steps.filter(c => !listed.has(c))).toEqual([])
    const ids = plan.map(s => s.id)
    expect(ids.slice(ids.indexOf('cleanup'), ids.indexOf('cleanup') + 3)).toEqual([
      'cleanup',
      'remove-turtles',
      'verify-cleanup'
    ])
    const removal = [
      'kubectl delete namespace cattle-turtles-system cattle-capi-system --ignore-not-found --wait=true --timeout=300s --request-timeout=30s',
      'kubectl delete validatingwebhookconfiguration capi-validating-webhook-configuration --ignore-not-found --wait=true --request-timeout=30s',
      'kubectl delete mutatingwebhookconfiguration capi-mutating-webhook-configuration --ignore-not-found --wait=true --request-timeout=30s'
    ]
    expect(plan.find(s => s.id === 'remove-turtles')!.commands).toEqual(removal)
    const at = removal.map(c => steps.indexOf(c))
    expect(at.every(i => i >= 0)).toBe(true)
    expect(at[0]).toBeGreaterThan(
      steps.indexOf(
        'kubectl wait job/cleanup-job -n kube-system --for=condition=Complete --timeout=1800s'
      )
    )
    expect(at[2]).toBeLessThan(steps.findIndex(c => c.startsWith('kubectl wait job/verify-job')))
  })

  it('cleanup-and-reinstall without the Turtles namespaces plans no removal', async () => {
    const world: WorldOptions = {
      history: [
        { revision: 1, version: '2.7.6', status: 'superseded' },
        { revision: 2, version: '2.7.9', status: 'deployed' }
      ],
      capiNamespace: true
    }
    setInputs({
      'target-version': '2.7.6',
      'backup-filename': BACKUP,
      'allow-downtime': 'true',
      'dry-run': 'true'
    })
    await run(environment(world).env)
    const plan = JSON.parse(outputs().plan!) as { id: string }[]
    expect(plan.map(s => s.id)).not.toContain('remove-turtles')
  })

  it("restore-only with Rancher at 0 scales it back to the release's replicas before verifying", async () => {
    setInputs({ 'target-version': '2.8.5', 'backup-filename': BACKUP })
    const { env, runner, state } = environment({ ...inPlaceWorld, replicas: 0 })
    const report = await run(env)
    expect(report.status, report.error).toBe('succeeded')
    expect(runner.described()).toContain(
      'PATCH /apis/apps/v1/namespaces/cattle-system/deployments/rancher/scale?timeout=30s < (replicas: 3)'
    )
    expect(state.replicas).toBe(3)
    expect(report.steps.find(s => s.id === 'scale-rancher')?.detail).toBe(
      'scaled from 0 to 3 replicas'
    )
  })

  it('verify fails at 0 replicas even though rollout status passes at 0/0', async () => {
    setInputs({ 'target-version': '2.8.5', 'backup-filename': BACKUP })
    const { env, runner } = environment({ ...inPlaceWorld, replicas: 0 })
    runner.on(/^PATCH .*\/deployments\/rancher\/scale/, {}) // the scale is lost
    const report = await run(env)
    expect(report.status).toBe('failed')
    expect(report.error).toContain('0/0 replicas ready, the release asks for 3')
  })

  it('with a moving clock, each step records the limits it really ran with', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment(inPlaceWorld)
    let t = Date.parse('2026-11-24T09:00:00Z')
    const report = await run({ ...env, now: () => new Date((t += 60_000)) })
    expect(report.status, report.error).toBe('succeeded')
    const rollback = runner.described().find(c => c.startsWith('helm rollback'))!
    expect(rollback).not.toContain('--timeout 1800s')
    expect(report.steps.find(s => s.id === 'helm-rollback')!.commands).toEqual([rollback])
    // the summary's plan and the plan output show it too
    const planned = JSON.parse(outputs().plan!) as { id: string; commands: string[] }[]
    expect(planned.find(s => s.id === 'helm-rollback')!.commands).toEqual([rollback])
    expect(summary()).toContain(rollback)
    for (const step of report.steps) {
      expect(step.status).toBe('succeeded')
    }
    const allowed = new Set(report.steps.flatMap(s => s.commands))
    const issued = runner.described()
    expect(issued.slice(issued.indexOf(LEASE_CREATE)).filter(c => !allowed.has(c))).toEqual([])
  })
})

describe('a re-run adopts the work an earlier run left in flight', () => {
  const labels = (from: string, to: string) => ({
    'app.kubernetes.io/managed-by': 'rancher-rollback',
    'rancher-rollback/from-version': from,
    'rancher-rollback/to-version': to
  })
  /** A Restore the operator is still working on (it writes no status until done or failing). */
  const inFlight = (from: string, to: string, backup = BACKUP) => ({
    metadata: {
      name: `rollback-${from.replace(/\./g, '-')}-to-${to.replace(/\./g, '-')}-20261124t080000`,
      labels: labels(from, to),
      creationTimestamp: '2026-11-24T08:00:00Z'
    },
    spec: { backupFilename: backup, prune: true }
  })

  it('in-place: waits on the Restore of this move and backup instead of refusing or creating one', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment({
      ...inPlaceWorld,
      webhookInstalled: false, // the earlier run uninstalled it
      replicas: 0,
      restores: [inFlight('2.8.5', '2.8.4')]
    })
    const report = await run(env)
    expect(report.error).toBe('')
    expect(report.status).toBe('succeeded')
    // the lease is the only object created
    expect(runner.lines().filter(l => l.startsWith('POST '))).toHaveLength(1)
    expect(runner.lines()).toContain(
      'kubectl wait restores.resources.cattle.io/rollback-2-8-5-to-2-8-4-20261124t080000 --for=condition=Ready=True --timeout=1200s'
    )
    expect(runner.mutating()).toContain(
      'helm rollback rancher 1 -n cattle-system --wait --timeout 1800s'
    )
    const step = report.steps.find(s => s.id === 'restore')!
    expect(step.commands.some(c => c.startsWith('kubectl create'))).toBe(false)
    expect(step.detail).toMatch(/adopted Restore rollback-2-8-5-to-2-8-4-20261124t080000/)
    expect(report.restoreName).toBe('rollback-2-8-5-to-2-8-4-20261124t080000')
    expect(summary()).toMatch(/Adopt Restore rollback-2-8-5-to-2-8-4-20261124t080000/)
  })

  it('a dry run plans the wait on the adopted Restore, and the real run issues only what it planned', async () => {
    const world = { ...inPlaceWorld, restores: [inFlight('2.8.5', '2.8.4')] }
    setInputs({ 'backup-filename': BACKUP, 'dry-run': 'true' })
    const dry = await run(environment(world).env)
    expect(dry.status, dry.error).toBe('planned')
    const plan = JSON.parse(outputs().plan!) as { id: string; title: string; commands: string[] }[]
    const restoreStep = plan.find(s => s.id === 'restore')!
    expect(restoreStep.title).toMatch(/^Adopt Restore rollback-2-8-5-to-2-8-4-20261124t080000/)
    expect(restoreStep.commands.some(c => c.startsWith('kubectl create'))).toBe(false)
    setInputs({ 'dry-run': 'false' })
    const real = environment(world)
    const report = await run(real.env)
    expect(report.status, report.error).toBe('succeeded')
    const listed = new Set(plan.flatMap(s => s.commands))
    const issued = real.runner.described()
    const steps = issued.slice(
      issued.indexOf(
        'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
      )
    )
    expect(steps.filter(c => !listed.has(c))).toEqual([])
  })

  it('a Restore of another backup is still refused, before anything changes', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const { env, runner } = environment({
      ...inPlaceWorld,
      restores: [inFlight('2.8.5', '2.8.4', BACKUP.replace('nightly', 'weekly'))]
    })
    const report = await run(env)
    expect(report.status).toBe('refused')
    expect(report.error).toMatch(/has not completed/)
    expect(runner.mutating()).toEqual([])
  })

  it('after a failed helm rollback: rolls back again, without a second Restore', async () => {
    setInputs({ 'backup-filename': BACKUP })
    const completed = {
      ...inFlight('2.8.5', '2.8.4'),
      status: {
        restoreCompletionTs: '2026-11-24T08:05:00Z',
        conditions: [{ type: 'Ready', status: 'True', message: 'Completed' }]
      }
    }
    const { env, runner, state } = environment({
      history: [
        { revision: 1, version: '2.8.4', status: 'superseded' },
        { revision: 2, version: '2.8.5', status: 'deployed' },
        // what helm 3.17.2 records when `helm rollback --wait` times out (rollback.go)
        {
          revision: 3,
          version: '2.8.4',
          status: 'failed',
          description: 'Release "rancher" failed: context deadline exceeded'
        }
      ],
      capiNamespace: true,
      restores: [completed]
    })
    const report = await run(env)
    expect(report.error).toBe('')
    expect(report.decision).toMatchObject({ procedure: 'in-place', from: '2.8.5', to: '2.8.4' })
    expect(report.status).toBe('succeeded')
    expect(runner.lines().filter(l => l.startsWith('POST '))).toHaveLength(1) // lease
    expect(runner.mutating()).toContain(
      'helm rollback rancher 1 -n cattle-system --wait --timeout 1800s'
    )
    expect(state.history.at(-1)).toMatchObject({ status: 'deployed', app_version: 'v2.8.4' })
  })

  describe('cleanup-and-reinstall, resumed', () => {
    const world: WorldOptions = {
      history: [
        { revision: 1, version: '2.7.6', status: 'superseded' },
        { revision: 2, version: '2.7.9', status: 'deployed' }
      ],
      capiNamespace: true
    }
    /** What an earlier run kept in the cluster before cleanup (it failed to install Rancher). */
    async function savedByEarlierRun(): Promise<string> {
      setInputs({ 'target-version': '2.7.6', 'backup-filename': BACKUP, 'allow-downtime': 'true' })
      const first = environment({ ...world, installFails: true })
      expect((await run(first.env)).status).toBe('failed')
      writeFileSync(join(dir, 'output'), '')
      return first.state.saved!
    }

    it('killed during its Restore: waits on that Restore and does not run cleanup over it', async () => {
      const saved = await savedByEarlierRun()
      const second = environment({ ...world, saved, restores: [inFlight('2.7.9', '2.7.6')] })
      second.state.releaseExists = false
      second.state.history = []
      const report = await run(second.env)
      expect(report.error).toBe('')
      expect(report.status).toBe('succeeded')
      expect(report.steps.map(s => s.id)).not.toContain('cleanup')
      expect(report.steps.map(s => s.id)).not.toContain('verify-cleanup')
      const lines = second.runner.lines()
      expect(lines).toContain(
        'kubectl wait restores.resources.cattle.io/rollback-2-7-9-to-2-7-6-20261124t080000 --for=condition=Ready=True --timeout=1200s'
      )
      expect(lines.filter(l => l.startsWith('POST '))).toHaveLength(1) // lease
      expect(second.state.image).toBe('rancher/rancher:v2.7.6')
    })

    it('killed during helm install (pending-install): cleanup runs again, clearing the stuck release, and installs', async () => {
      // Helm refuses to upgrade a release whose newest revision is pending (upgrade.go); rancher-cleanup
      // deletes cattle-system with the release's records, which is how Helm says to recover a pending
      // install: delete it and install again.
      const saved = await savedByEarlierRun()
      const second = environment({
        ...world,
        saved,
        history: [{ revision: 1, version: '2.7.6', status: 'pending-install' }]
      })
      const report = await run(second.env)
      expect(report.error).toBe('')
      expect(report.status).toBe('succeeded')
      expect(report.steps.find(s => s.id === 'cleanup')?.status).toBe('succeeded')
      const mutating = second.runner.mutating()
      expect(mutating.some(l => l.startsWith('helm upgrade --install rancher rancher'))).toBe(true)
    })
  })
})
