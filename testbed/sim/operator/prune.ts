/**
 * Prune after a restore: what the ResourceSet selects now but the backup does not hold goes,
 * then, after `deleteTimeoutSeconds`, again with finalizers removed; the second pass's errors
 * fail the Restore. As rancher/backup-restore-operator pkg/controllers/restore/prune.go at tags
 * v1.2.1 to v11.0.1. Differs from upstream: deletions run one after another (upstream: 25
 * workers), so their order, and the order of the errors in the message, is fixed.
 */
import { abortableSleep } from '../../cluster/fake-kubelet.js'
import { KubeApiError, kpath, type KubeObject } from '../../cluster/kube-api.js'
import { Aborted, errList, gvOf, isNotFound, message, type Gvr } from './helpers.js'
import { ResourceGatherer, typeDir, type ResourceSelector } from './resources.js'
import type { ObjectsFromBackup } from './restore-load.js'
import type { OperatorRuntime } from './runtime.js'

export async function prune(
  op: OperatorRuntime,
  objs: ObjectsFromBackup,
  deleteTimeoutSeconds: number
): Promise<void> {
  const gatherer = new ResourceGatherer(op.guarded(), op.discovery, op.log)
  const selectors: ResourceSelector[] = objs.resourceSet.resourceSelectors ?? []
  const gathered = await gatherer.gather(selectors)
  const toDelete: { name: string; namespace: string; gvr: Gvr }[] = []
  for (const { type, objects } of gathered) {
    for (const o of objects) {
      const objName = o.metadata.name ?? ''
      const ns = o.metadata.namespace ?? ''
      let p = typeDir(type)
      if (type.namespaced) p = `${p}/${ns}`
      const file = `${p}/${objName}.json`
      op.log.info(`resourceFilePath: ${file}`)
      if (!objs.resourcesFromBackup.has(file)) {
        toDelete.push({
          name: objName,
          namespace: ns,
          gvr: { group: type.group, version: type.version, resource: type.name }
        })
      }
    }
  }
  op.log.info(
    `Pruning following resources [${toDelete
      .map(r => `{${r.name} ${r.namespace} {${r.gvr.group} ${r.gvr.version} ${r.gvr.resource}}}`)
      .join(' ')}]`
  )
  try {
    await deleteResources(op, toDelete, false)
  } catch (e) {
    if (e instanceof Aborted) throw e
    op.log.error(`Error pruning resources: ${message(e)}`)
  }
  op.log.info(`Will retry pruning resources by removing finalizers in ${deleteTimeoutSeconds}s`)
  await abortableSleep(deleteTimeoutSeconds * 1000, op.signal)
  op.log.info('Retrying pruning resources by removing finalizers')
  await deleteResources(op, toDelete, true)
}

async function deleteResources(
  op: OperatorRuntime,
  list: { name: string; namespace: string; gvr: Gvr }[],
  removeFinalizers: boolean
): Promise<void> {
  const errs: string[] = []
  for (const r of list) {
    const path = kpath(gvOf(r.gvr), r.gvr.resource, r.namespace || undefined, r.name)
    try {
      if (removeFinalizers) {
        let obj: KubeObject
        try {
          obj = await op.api.get(path)
        } catch (e) {
          if (isNotFound(e) || (e instanceof KubeApiError && e.status === 410)) continue
          throw e
        }
        delete obj.metadata.finalizers
        await op.api.replace(path, obj)
      }
      await op.api.delete(path)
    } catch (e) {
      if (e instanceof Aborted) throw e
      errs.push(message(e))
    }
  }
  const err = errList(errs)
  if (err) throw err
}
