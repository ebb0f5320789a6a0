/**
 * The ResourceSet's controllerReferences during a restore (pause.go): scaled to 0 before the
 * restore, their replica counts kept in memory, scaled back up after it.
 */
import { kpath, type KubeObject } from '../../cluster/kube-api.js'
import { Aborted, isConflict, message, rec, type Obj } from './helpers.js'
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
 * Update of the controller's replicas (the real operator: one dynamic Update). A conflict is
 * retried here with a fresh GET: the fake kubelet churns pods so fast that the Deployment's
 * status moves between GET and Update far more often than on a real cluster, and a lost
 * scale-up would leave Rancher at 0 for every later attempt.
 */
async function updateReplicas(
  op: OperatorRuntime,
  ref: ControllerReference,
  first: KubeObject,
  replicas: number
): Promise<void> {
  const path = kpath(ref.apiVersion, ref.resource, ref.namespace, ref.name)
  let obj = first
  for (let attempt = 0; ; attempt++) {
    obj['spec'] = { ...rec(obj['spec']), replicas }
    try {
      await op.api.replace(path, obj)
      return
    } catch (e) {
      if (!isConflict(e) || attempt >= 4) throw e
      obj = await op.api.get(path)
    }
  }
}
