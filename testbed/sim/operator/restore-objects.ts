/**
 * The objects of a restore, one scope at a time: owners before dependents (the dependency
 * graph of ownerReferences), each created or updated through the API server. Follows
 * rancher/backup-restore-operator pkg/controllers/restore/controller.go (generateDependencyGraph,
 * customize, createFromDependencyGraph, restoreResource, updateOwnerRefs) at tags v1.2.1 to
 * v11.0.1, with the version gates of versions.ts: the create error prefix (v2.1.2), the
 * namespace log line (v2.1.2), the skipped fleet registration Secrets (v3.1.0), customize() per Cluster kind (v1.2.1 / v2.0.0 / v3.1.1), dropped
 * GlobalRole/RoleTemplate ownerRefs (v7.0.3, v8.1.0, v9+) and Settings denied by the settings
 * webhook skipped (v11).
 *
 * Differs from upstream: objects are restored in the backup's order, where upstream iterates a Go
 * map (random order); v1.2.1's customize() also bumped the fleet-agent Bundle's
 * forceSyncGeneration and read redeployAgentGeneration as an int64 (a JSON number from the backup
 * is a float64 there, so it only warned), neither simulated; a management Cluster without
 * annotations would make upstream panic (nil map), here it gets the annotation.
 */
import { KubeApiError, kpath, type KubeObject } from '../../cluster/kube-api.js'
import {
  Aborted,
  errList,
  goErr,
  gvOf,
  gvrString,
  isNotFound,
  message,
  rec,
  type Gvr,
  type Obj
} from './helpers.js'
import { splitGroupVersion } from './resources.js'
import type { ObjInfo } from './restore-load.js'
import type { OperatorRuntime } from './runtime.js'
import type { OperatorFeatures } from './versions.js'

/** generateDependencyGraph + createFromDependencyGraph for one scope. */
export async function restoreFromGraph(
  op: OperatorRuntime,
  infos: ObjInfo[],
  created: Set<string>,
  crdsWithSubStatus: string[]
): Promise<void> {
  const ownerToDependents = new Map<string, ObjInfo[]>()
  const numOwners = new Map<string, number>()
  const toRestore: ObjInfo[] = []
  for (const info of infos) {
    if (info.data['kind'] === 'Deployment' && info.namespace === 'cattle-system') {
      if (info.name.endsWith('rancher') || info.name.endsWith('rancher-webhook')) {
        op.log.info(`Skip restoring the deployment ${info.namespace}/${info.name}`)
        continue
      }
    }
    customize(info.data, op.features)
    const md = rec(info.data['metadata'])
    const refs = md['ownerReferences']
    if (!Array.isArray(refs)) {
      toRestore.push(info)
      continue
    }
    let owners = 0
    let refErrors = false
    op.log.info(`Checking ownerRefs for resource ${info.name} of type ${gvrString(info.gvr)}`)
    for (const r of refs as Obj[]) {
      const apiVersion = String(r['apiVersion'] ?? '')
      const kind = String(r['kind'] ?? '')
      const gvk = `${apiVersion}, Kind=${kind}`
      op.log.info(`Getting GVR for ownerRef ${gvk} of resource ${info.name}`)
      let owner: { resource: string; namespaced: boolean }
      try {
        owner = await op.discovery.resourceForKind(apiVersion, kind)
      } catch (e) {
        if (e instanceof Aborted) throw e
        refErrors = true
        op.log.error(
          `Invalid ownerRef ${gvk}, either of the fields is incorrect: APIVersion or Kind`
        )
        op.log.error(
          `Error getting ownerRef ${gvk} for object ${info.name}(of ${gvrString(info.gvr)}): ${message(e)}`
        )
        continue
      }
      // Builtin GlobalRoles and RoleTemplates are not restored (shouldSkipBuiltin), so their
      // dependents would wait for ever for an owner.
      if (op.features.dropRoleOwnerRefs && /^(globalrole|roletemplate)$/i.test(kind)) {
        refErrors = true
        op.log.info(
          `Resource ${info.name} of type ${gvrString(info.gvr)} has ${gvk} as owner. The OwnerRefs will be dropped.`
        )
        continue
      }
      const { group, version } = splitGroupVersion(apiVersion)
      const ownerDir = `${owner.resource}.${group}#${version}`
      const ownerName = String(r['name'] ?? '')
      let ownerPath = `${ownerDir}/${ownerName}.json`
      if (!owner.namespaced && created.has(ownerPath)) continue
      if (owner.namespaced) ownerPath = `${ownerDir}/${info.namespace}/${ownerName}.json`
      ownerToDependents.set(ownerPath, [...(ownerToDependents.get(ownerPath) ?? []), info])
      owners++
    }
    if (owners > 0) numOwners.set(info.configPath, owners)
    else {
      if (refErrors) {
        op.log.warn(
          `Resource ${info.name} of type ${gvrString(info.gvr)} has invalid ownerRefs, adding it to restore queue by dropping the ownerRefs`
        )
        delete md['ownerReferences']
      }
      toRestore.push(info)
    }
  }

  const errs: string[] = []
  while (toRestore.length > 0) {
    const curr = toRestore.shift() as ObjInfo
    if (created.has(curr.configPath)) {
      op.log.info(`Resource ${curr.configPath} is already created/updated`)
      continue
    }
    const target = `${curr.gvr.resource}.${gvOf(curr.gvr)}`
    try {
      await restoreResource(op, curr, crdsWithSubStatus.includes(target))
    } catch (e) {
      if (e instanceof Aborted) throw e
      op.log.error(
        `Error restoring resource ${curr.name} of type ${gvrString(curr.gvr)}: ${message(e)}`
      )
      errs.push(`error restoring ${curr.name} of type ${gvrString(curr.gvr)}: ${message(e)}`)
      continue
    }
    for (const dep of ownerToDependents.get(curr.configPath) ?? []) {
      const n = numOwners.get(dep.configPath) ?? 0
      if (n > 0) numOwners.set(dep.configPath, n - 1)
      if ((numOwners.get(dep.configPath) ?? 0) === 0) {
        op.log.info(`dependent ${dep.name} is now ready to create`)
        toRestore.push(dep)
      }
    }
    created.add(curr.configPath)
  }
  const err = errList(errs)
  if (err) throw err
}

export async function restoreResource(
  op: OperatorRuntime,
  info: ObjInfo,
  hasStatusSubresource: boolean
): Promise<void> {
  op.log.info(`restoreResource: Restoring ${info.name} of type ${gvrString(info.gvr)}`)
  const obj = info.data
  const md = rec(obj['metadata'])
  obj['metadata'] = md
  const { name, namespace, gvr } = info
  if (
    op.features.skipFleetRegistrationSecrets &&
    gvr.resource === 'secrets' &&
    obj['type'] === 'fleet.cattle.io/cluster-registration-values'
  ) {
    op.log.info(
      `restoreResource: Skiping secret ${namespace}/${name} since it has type fleet.cattle.io/cluster-registration-values`
    )
    return
  }
  if (namespace && op.features.improvedLogging) {
    op.log.info(
      `restoreResource: Namespace ${namespace} for name ${name} of type ${gvrString(gvr)}`
    )
  }
  const refs = md['ownerReferences']
  if (Array.isArray(refs)) {
    try {
      await updateOwnerRefs(op, refs as Obj[], namespace)
    } catch (e) {
      if (!isNotFound(e)) throw e
      op.log.warn(`Could not find ownerRef for resource ${name}`)
      delete md['ownerReferences']
      op.log.warn(
        `Resource ${name} will be restored without ownerReferences, edit it to add required ownerReferences`
      )
    }
  }
  if (obj['apiVersion'] === 'apiextensions.k8s.io/v1') {
    const spec = rec(obj['spec'])
    if ('preserveUnknownFields' in spec) {
      spec['preserveUnknownFields'] = false
      const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : []
      for (const v of versions) {
        v['schema'] = {
          ...rec(v['schema']),
          openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
        }
      }
    }
  }
  delete md['deletionGracePeriodSeconds']

  const collection = kpath(gvOf(gvr), gvr.resource, namespace || undefined)
  const path = kpath(gvOf(gvr), gvr.resource, namespace || undefined, name)
  let existing: KubeObject | undefined
  try {
    existing = await op.api.get(path)
  } catch (e) {
    if (!isNotFound(e)) throw goErr(`restoreResource: err getting resource ${message(e)}`)
  }
  if (!existing) {
    let createdObj: KubeObject
    try {
      createdObj = await op.api.create(collection, obj)
    } catch (e) {
      if (e instanceof Aborted) throw e
      if (skippedSetting(op, gvr, name, e)) return
      if (!op.features.createErrorPrefix) throw e
      throw goErr(`restoreResource: err creating resource ${message(e)}`)
    }
    if (hasStatusSubresource && obj['status'] !== undefined) {
      op.log.info(
        `Post-create: Updating status subresource for "${name}" of type ${gvrString(gvr)}`
      )
      try {
        await op.api.replace(`${path}/status`, { ...createdObj, status: obj['status'] })
      } catch (e) {
        if (e instanceof Aborted) throw e
        throw goErr(`restoreResource: err updating status resource ${message(e)}`)
      }
    }
    return
  }
  md['resourceVersion'] = existing.metadata.resourceVersion
  let updated: KubeObject
  try {
    updated = await op.api.replace(path, obj)
  } catch (e) {
    if (e instanceof Aborted) throw e
    if (skippedSetting(op, gvr, name, e)) return
    throw goErr(`restoreResource: err updating resource ${message(e)}`)
  }
  if (hasStatusSubresource && obj['status'] !== undefined) {
    op.log.info(`Updating status subresource for "${name}" of type ${gvrString(gvr)}`)
    try {
      await op.api.replace(`${path}/status`, { ...updated, status: obj['status'] })
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(`restoreResource: err updating status resource ${message(e)}`)
    }
  }
  op.log.info(`Successfully restored ${name}`)
}

/**
 * isSettingsWebhookError (v11): an API error on a management.cattle.io Setting whose message
 * says the "rancher.cattle.io.settings" admission webhook denied it. A failure to call the
 * webhook, or another webhook's denial, is not one.
 */
export function isSettingsWebhookError(gvr: Gvr, e: unknown): boolean {
  if (gvr.group !== 'management.cattle.io' || gvr.resource !== 'settings') return false
  if (!(e instanceof KubeApiError)) return false
  const msg = message(e)
  return (
    msg.includes('admission webhook') &&
    msg.includes('rancher.cattle.io.settings') &&
    msg.includes('denied the request')
  )
}

/** From v11 a Setting the webhook refuses is skipped with a warning instead of failing. */
function skippedSetting(op: OperatorRuntime, gvr: Gvr, name: string, e: unknown): boolean {
  if (!op.features.skipSettingsWebhookDenial || !isSettingsWebhookError(gvr, e)) return false
  op.log.warn(
    `restoreResource: skipping setting ${name} due to webhook admission restriction: ${message(e)}`
  )
  return true
}

async function updateOwnerRefs(op: OperatorRuntime, refs: Obj[], namespace: string): Promise<void> {
  for (const r of refs) {
    const apiVersion = typeof r['apiVersion'] === 'string' ? r['apiVersion'] : ''
    const kind = typeof r['kind'] === 'string' ? r['kind'] : ''
    if (!apiVersion || !kind) continue
    let owner: { resource: string; namespaced: boolean }
    try {
      owner = await op.discovery.resourceForKind(apiVersion, kind)
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(`error getting resource for gvk ${apiVersion}, Kind=${kind}: ${message(e)}`)
    }
    const ownerName = String(r['name'] ?? '')
    op.log.info(`Getting new UID for ${ownerName} `)
    try {
      const o = await op.api.get(
        kpath(apiVersion, owner.resource, owner.namespaced ? namespace : undefined, ownerName)
      )
      r['uid'] = o.metadata.uid
    } catch (e) {
      if (isNotFound(e) || e instanceof Aborted) throw e
      throw goErr(`error obtaining new UID for ${ownerName}: ${message(e)}`)
    }
  }
}

/** customize(): restore-time fix-ups of the real operator, each from the release that added it. */
export function customize(obj: Obj, features: OperatorFeatures): void {
  if (!features.customizeFleetCluster) return
  if (obj['kind'] === 'ServiceAccount') {
    delete obj['secrets']
    return
  }
  if (obj['kind'] !== 'Cluster') return
  const apiVersion = obj['apiVersion']
  const spec = rec(obj['spec'])
  if (apiVersion === 'fleet.cattle.io/v1alpha1') {
    const g = spec['redeployAgentGeneration']
    spec['redeployAgentGeneration'] = (typeof g === 'number' ? g : 0) + 1
    obj['spec'] = spec
  } else if (apiVersion === 'provisioning.cattle.io/v1' && features.customizeProvisioningCluster) {
    const g = spec['redeploySystemAgentGeneration']
    spec['redeploySystemAgentGeneration'] = (typeof g === 'number' ? g : 0) + 1
    obj['spec'] = spec
  } else if (apiVersion === 'management.cattle.io/v3' && features.customizeManagementCluster) {
    const md = rec(obj['metadata'])
    md['annotations'] = { ...rec(md['annotations']), 'io.cattle.agent.force.deploy': 'true' }
    obj['metadata'] = md
  }
}
