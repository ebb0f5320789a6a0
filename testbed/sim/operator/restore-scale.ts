/**
 * The ResourceSet's controllerReferences during a restore, as
 * rancher/backup-restore-operator pkg/controllers/restore/pause.go at tags v1.2.1 to v11.0.1:
 * scaled to 0 before the restore, their replica counts kept in memory, scaled back up after it.
 * A controllerRef whose object cannot be read is skipped, logged as versions.ts
 * `missingControllerRefLog` says.
 */
import { kpath, type KubeObject } from '../../cluster/kube-api.js'
import { Aborted, message, rec, type Obj } from './helpers.js'
import type { ControllerReference } from './resources.js'
import type { ObjectsFromBackup } from './restore-load.js'
import type { OperatorRuntime } from './runtime.js'

async function controllerObject(
  op: OperatorRuntime,
  ref: ControllerReference
): Promise<KubeObject | undefined> {
  const id = `${ref.apiVersion}/${ref.resource}/${ref.name}`
  op.log.info(`Processing controllerRef ${id}`)
  try {
    return await op.api.get(kpath(ref.apiVersion, ref.resource, ref.namespace, ref.name))
  } catch (e) {
    if (e instanceof Aborted) throw e
    const log = op.features.missingControllerRefLog
    if (log === 'warn')
      op.log.warn(`Error getting object for controllerRef ${ref.name}, skipping it`)
    else if (log === 'info')
      op.log.info(`Error getting object for controllerRef ${id}: ${message(e)}`)
    return undefined
  }
}

export async function scaleDown(op: OperatorRuntime, objs: ObjectsFromBackup): Promise<void> {
  for (const ref of objs.resourceSet.controllerReferences ?? []) {
    const obj = await controllerObject(op, ref)
    if (!obj) continue
    const spec = obj['spec'] as Obj | undefined
    if (!spec) {
      op.log.error(`Invalid controllerRef ${ref.name}, spec not found, skipping it`)
      continue
    }
    if (typeof spec['replicas'] !== 'number') {
      op.log.error(`Invalid controllerRef ${ref.name}, replicas not found, skipping it`)
      continue
    }
    ref.replicas = spec['replicas']
    const id = `${ref.apiVersion}/${ref.resource}/${ref.name}`
    op.log.info(`Scaling down controllerRef ${id} to 0`)
    try {
      await updateReplicas(op, ref, obj, 0)
    } catch (e) {
      if (e instanceof Aborted) throw e
      op.log.error(`Error scaling down ${id}, skipping it`)
    }
  }
}

export async function scaleUp(op: OperatorRuntime, objs: ObjectsFromBackup): Promise<void> {
  for (const ref of objs.resourceSet.controllerReferences ?? []) {
    const obj = await controllerObject(op, ref)
    if (!obj) continue
    const id = `${ref.apiVersion}/${ref.resource}/${ref.name}`
    op.log.info(`Scaling up controllerRef ${id} to ${ref.replicas}`)
    try {
      await updateReplicas(op, ref, obj, ref.replicas)
    } catch (e) {
      if (e instanceof Aborted) throw e
      op.log.error(`Error scaling up ${id}, edit it to scale back to ${ref.replicas}`)
    }
  }
}

/**
 * One Update of the object just read, and no retry, as upstream does
 * (rancher/backup-restore-operator pkg/controllers/restore/pause.go, `dr.Update` in
 * scaleDownControllersFromResourceSet / scaleUpControllersFromResourceSet; the same from v2.1.0
 * to v11). A conflict (the Deployment's status moved between the Get and the Update) loses the
 * change: a lost scale-up leaves Rancher at 0, which the action must notice and repair.
 */
async function updateReplicas(
  op: OperatorRuntime,
  ref: ControllerReference,
  obj: KubeObject,
  replicas: number
): Promise<void> {
  obj['spec'] = { ...rec(obj['spec']), replicas }
  await op.api.replace(kpath(ref.apiVersion, ref.resource, ref.namespace, ref.name), obj)
}
