/**
 * The CRDs of a restore: restored first, each awaited until Established (60 s at most), as
 * rancher/backup-restore-operator pkg/controllers/restore/controller.go restoreCRDs / waitCRD do
 * at every tag v1.2.1 to v11.0.1; from v9.0.2 on the v9 line and on v10 and later, each is first
 * merged with the live CRD's versions (pkg/controllers/restore/crd.go mergeVersionsFromLiveCRD,
 * PR #911 and its backport #914, commit a50d8ca; gate in versions.ts).
 *
 * Differs from upstream: CRDs are restored in the backup's order, upstream in Go map order.
 */
import { abortableSleep } from '../../cluster/fake-kubelet.js'
import { kpath, type KubeObject } from '../../cluster/kube-api.js'
import { Aborted, goErr, gvOf, isNotFound, message, rec, type Obj } from './helpers.js'
import type { ObjInfo, ObjectsFromBackup } from './restore-load.js'
import { restoreResource } from './restore-objects.js'
import type { OperatorRuntime } from './runtime.js'

export async function restoreCRDs(
  op: OperatorRuntime,
  created: Set<string>,
  objs: ObjectsFromBackup
): Promise<string[]> {
  const withStatus: string[] = []
  for (const info of objs.crds) {
    if (op.features.mergeLiveCrdVersions) {
      try {
        await mergeVersionsFromLiveCRD(op, info)
      } catch (e) {
        if (e instanceof Aborted) throw e
        op.log.error(
          `restoreCRDs: failed to merge live CRD versions for ${info.name}: ${message(e)}`
        )
        throw goErr(`restoreCRDs: ${message(e)}`)
      }
    }
    try {
      await restoreResource(op, info, false)
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(`restoreCRDs: ${message(e)}`)
    }
    created.add(info.configPath)
    withStatus.push(...crdsWithSubresourceStatus(info.data))
  }
  for (const info of objs.crds) await waitCRD(op, info.name)
  return withStatus
}

/** Keeps the live CRD's versions that the backup lacks (storage: false). */
async function mergeVersionsFromLiveCRD(op: OperatorRuntime, info: ObjInfo): Promise<void> {
  let live: KubeObject
  try {
    live = await op.api.get(kpath(gvOf(info.gvr), info.gvr.resource, undefined, info.name))
  } catch (e) {
    if (isNotFound(e)) return
    throw goErr(`error getting live CRD ${info.name}: ${message(e)}`)
  }
  const spec = rec(info.data['spec'])
  const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : []
  const have = new Set(versions.map(v => String(v['name'])))
  const added: string[] = []
  const liveVersions = rec(live['spec'])['versions']
  for (const v of Array.isArray(liveVersions) ? (liveVersions as Obj[]) : []) {
    const n = String(v['name'])
    if (have.has(n)) continue
    versions.push({ ...structuredClone(v), storage: false })
    added.push(n)
  }
  if (added.length === 0) return
  op.log.info(
    `mergeVersionsFromLiveCRD: merging live versions [${added.join(' ')}] into backup CRD ${info.name} to satisfy storedVersions invariant`
  )
  spec['versions'] = versions
  info.data['spec'] = spec
}

async function waitCRD(op: OperatorRuntime, crdName: string): Promise<void> {
  const waiting = () => op.log.info(`Waiting for CRD ${crdName} to become available`)
  waiting()
  try {
    const deadline = Date.now() + 60_000
    for (let first = true; ; first = false) {
      await abortableSleep(500, op.signal)
      if (!first) waiting()
      const crd = await op.api.get(
        kpath('apiextensions.k8s.io/v1', 'customresourcedefinitions', undefined, crdName)
      )
      const conditions = rec(crd['status'])['conditions']
      for (const c of Array.isArray(conditions) ? (conditions as Obj[]) : []) {
        if (c['type'] === 'Established' && c['status'] === 'True') return
        if (c['type'] === 'NamesAccepted' && c['status'] === 'False') {
          op.log.info(`Name conflict on ${crdName}: ${String(c['reason'])}\n`)
        }
      }
      if (Date.now() >= deadline) throw goErr('timed out waiting for the condition')
    }
  } finally {
    op.log.info(`Done waiting for CRD ${crdName} to become available`)
  }
}

/** getCRDsWithSubresourceStatus: `<crd name>/<version>` of versions with a status subresource. */
function crdsWithSubresourceStatus(crd: Obj): string[] {
  const spec = rec(crd['spec'])
  const name = String(rec(crd['metadata'])['name'] ?? '')
  if (spec['subresources'] !== undefined) {
    return 'status' in rec(spec['subresources']) ? [`${name}/${String(spec['version'])}`] : []
  }
  const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : []
  return versions
    .filter(v => 'status' in rec(v['subresources']))
    .map(v => `${name}/${String(v['name'])}`)
}
