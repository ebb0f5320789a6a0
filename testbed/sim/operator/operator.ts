/**
 * The simulated rancher backup-restore operator (BRO) of the end-to-end testbed: a fake-kubelet
 * behaviour that runs "inside" the pods of Deployment `rancher-backup` (label
 * `app.kubernetes.io/name: rancher-backup`) and does, against the real API server and S3, what
 * the real operator does (rancher/backup-restore-operator pkg/controllers/backup, …/restore,
 * pkg/resourcesets). It acts only while such a pod runs; a deleted pod stops it. It reaches S3
 * where a Backup's or Restore's storage location says, over TLS only, as the real one does
 * (s3.ts).
 *
 *   cluster.kubelet.registerBehaviour(simulatedOperator({ api: cluster.api }))
 *
 * Backup: backup.ts. Restore: restore.ts, with restore-load.ts (download, unpack, decrypt),
 * restore-scale.ts (controllerReferences), restore-crds.ts, restore-objects.ts and prune.ts. They
 * share runtime.ts (the API client that stops with the pod, logging, S3, encryption), the API
 * types of api-types.ts and the helpers of helpers.ts; queue.ts runs the controllers.
 *
 * Version-dependent behaviour follows the operator image tag (`v<major>.<minor>.<patch>`), with the
 * gates of versions.ts, each naming the upstream tags and file it follows. Every release logs the
 * printf-style messages of its own source (`Processing Restore CR %v`, …); the "structured" texts
 * of commit d268c54 are on no release branch or tag (only refs/pull/852/head) and are not
 * simulated.
 *
 * Start-up as cmd/operator/main.go + pkg/operator/start.go (v7.0.0 on) or main.go (before):
 * the banner of versions.ts `improvedLogging` / `operatorBanner`. Differs from upstream: the
 * banner's commit is random and the build date reads "unknown" (a dev build's value); the metrics
 * server, PVC storage and the operator-level default S3 location are not simulated; only Info and
 * above are logged (the chart's default, no `--debug`).
 */
import { randomBytes } from 'node:crypto'
import type { BehaviourOutcome, Pod, PodBehaviour } from '../../cluster/fake-kubelet.js'
import { kpath } from '../../cluster/kube-api.js'
import { RESOURCES_V1, type BackupObject, type RestoreObject } from './api-types.js'
import { onBackupChange } from './backup.js'
import { Aborted, message } from './helpers.js'
import { Controller } from './queue.js'
import { LEASE_NAME, onRestoreChange } from './restore.js'
import { OperatorRuntime, type SimulatedOperatorOptions } from './runtime.js'

export { LEASE_NAME } from './restore.js'
export type { SimulatedOperatorOptions } from './runtime.js'

export const OPERATOR_LABEL = 'app.kubernetes.io/name'
export const OPERATOR_LABEL_VALUE = 'rancher-backup'
const DEFAULT_CHART_NAMESPACE = 'cattle-resources-system'
const WORKERS = 2

/** The operator's version from its image tag (`…:v4.0.2` → [4, 0, 2]). */
export function operatorVersion(image: string): [number, number, number] {
  const tag = image.slice(image.lastIndexOf(':') + 1)
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag)
  if (!m) return [4, 0, 0]
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

async function runOperator(op: OperatorRuntime): Promise<BehaviourOutcome> {
  const v = `v${op.version.join('.')}`
  const commit = randomBytes(4).toString('hex').slice(0, 7)
  if (op.features.operatorBanner) {
    op.log.info(`Starting backup-restore-operator version ${v} (${commit}) [built at unknown]`)
  } else if (op.features.improvedLogging) {
    op.log.info(`Starting backup-restore controller version ${v} (${commit})`)
  } else {
    // Logged before main.go sets the formatter.
    op.log.plain('info', 'Starting controller')
  }
  op.log.info(
    'No PVC or S3 details provided for storing backups by default. User must specify storageLocation' +
      (op.features.improvedLogging ? ' on each Backup CR' : 'on each Backup CR')
  )
  op.log.info(
    `Secrets containing encryption config files must be stored in the namespace ${op.chartNamespace}`
  )
  try {
    const ks = await op.api.get(kpath('v1', 'namespaces', undefined, 'kube-system'))
    op.kubeSystemUid = ks.metadata.uid ?? ''
  } catch (e) {
    if (op.signal.aborted) return 'Failed'
    op.log.log('fatal', `Error getting namespace kube-system ${message(e)}`)
    return { result: 'Failed', exitCode: 1 }
  }
  // restore.Register: a Lease left by an earlier pod is removed.
  await op.api
    .delete(kpath('coordination.k8s.io/v1', 'leases', op.chartNamespace, LEASE_NAME))
    .catch(() => undefined)

  const listError = (kind: string) => (e: unknown) => {
    const ts = op.now()
    const mmdd = `${String(ts.getUTCMonth() + 1).padStart(2, '0')}${String(ts.getUTCDate()).padStart(2, '0')}`
    const hms = ts.toISOString().slice(11, 23) + '000'
    op.log.plainLine(
      `E${mmdd} ${hms}       1 reflector.go:138] pkg/mod/k8s.io/client-go/tools/cache/reflector.go:167: Failed to watch *v1.${kind}: failed to list *v1.${kind}: ${message(e)}`
    )
  }
  const backups = new Controller<BackupObject>(
    op.raw,
    kpath(RESOURCES_V1, 'backups'),
    (key, obj) => onBackupChange(op, key, obj),
    (key, e) => syncError(op, key, 'backups', e),
    listError('Backup')
  )
  const restores = new Controller<RestoreObject>(
    op.raw,
    kpath(RESOURCES_V1, 'restores'),
    (key, obj) => onRestoreChange(op, key, obj),
    (key, e) => syncError(op, key, 'restore', e),
    listError('Restore')
  )
  op.log.info(`Starting ${RESOURCES_V1}, Kind=Backup controller`)
  op.log.info(`Starting ${RESOURCES_V1}, Kind=Restore controller`)
  await Promise.all([backups.run(op.signal, WORKERS), restores.run(op.signal, WORKERS)])
  return 'Succeeded'
}

function syncError(op: OperatorRuntime, key: string, handler: string, e: unknown): void {
  if (e instanceof Aborted) return
  const msg = message(e)
  if (msg.includes('please apply your changes to the latest version and try again')) return
  op.log.error(`error syncing '${key}': handler ${handler}: ${msg}, requeuing`)
}

// ---------------------------------------------------------------------------------------------
// The behaviour
// ---------------------------------------------------------------------------------------------

function chartNamespaceOf(pod: Pod): string {
  for (const c of pod.spec.containers) {
    const env = (c['env'] as { name: string; value?: string }[] | undefined) ?? []
    const v = env.find(e => e.name === 'CHART_NAMESPACE')?.value
    if (v) return v
  }
  return pod.metadata.namespace ?? DEFAULT_CHART_NAMESPACE
}

/**
 * The behaviour of the operator's pods: matches pods labelled
 * `app.kubernetes.io/name=rancher-backup`; runs the Backup and Restore controllers for the
 * pod's lifetime, logging to the pod's first container.
 */
export function simulatedOperator(opts: SimulatedOperatorOptions): PodBehaviour {
  return {
    name: 'rancher-backup-operator',
    matches: pod =>
      pod.metadata.labels?.[OPERATOR_LABEL] === OPERATOR_LABEL_VALUE &&
      (pod.spec.restartPolicy ?? 'Always') === 'Always',
    async run(pod, log, signal) {
      const image = pod.spec.containers[0]?.image ?? ''
      const op = new OperatorRuntime(
        opts.api,
        opts,
        chartNamespaceOf(pod),
        operatorVersion(image),
        line => log(line),
        signal
      )
      try {
        return await runOperator(op)
      } catch (e) {
        if (signal.aborted) return 'Succeeded'
        throw e
      }
    }
  }
}
