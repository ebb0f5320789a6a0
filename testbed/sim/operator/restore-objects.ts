/**
 * The objects of a restore, one scope at a time: owners before dependents (the dependency
 * graph of ownerReferences), each created or updated through the API server.
 */
import { kpath, type KubeObject } from '../../cluster/kube-api.js'
import {
  Aborted,
  errList,
  goErr,
  gvOf,
  gvrString,
  isNotFound,
  message,
  rec,
  type Obj
} from './helpers.js'
import { splitGroupVersion } from './resources.js'
import type { ObjInfo } from './restore-load.js'
import type { OperatorRuntime } from './runtime.js'

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
        op.say(
          'info',
          `Skip restoring the deployment ${info.namespace}/${info.name}`,
          'Skipping deployment restoration due to existing configuration',
          { namespace: info.namespace, name: info.name }
        )
        continue
      }
    }
    if (op.customizeObjects) customize(info.data)
    const md = rec(info.data['metadata'])
    const refs = md['ownerReferences']
    if (!Array.isArray(refs)) {
      toRestore.push(info)
      continue
    }
    let owners = 0
    let refErrors = false
    op.say(
      'info',
      `Checking ownerRefs for resource ${info.name} of type ${gvrString(info.gvr)}`,
      'Checking owner references for resource with specified type',
      { name: info.name, string: gvrString(info.gvr) }
    )
    for (const r of refs as Obj[]) {
      const apiVersion = String(r['apiVersion'] ?? '')
      const kind = String(r['kind'] ?? '')
      let owner: { resource: string; namespaced: boolean }
      try {
        owner = await op.discovery.resourceForKind(apiVersion, kind)
      } catch (e) {
        if (e instanceof Aborted) throw e
        refErrors = true
        op.log.error(
          `Invalid ownerRef ${apiVersion}, Kind=${kind}, either of the fields is incorrect: APIVersion or Kind`
        )
        continue
      }
      if (op.structured && (/^globalrole$/i.test(kind) || /^roletemplate$/i.test(kind))) {
        refErrors = true
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
  op.say(
    'info',
    `restoreResource: Restoring ${info.name} of type ${gvrString(info.gvr)}`,
    'Starting resource restoration for specified object type',
    { name: info.name, g_v_r: gvrString(info.gvr) }
  )
  const obj = info.data
  const md = rec(obj['metadata'])
  obj['metadata'] = md
  const { name, namespace, gvr } = info
  if (gvr.resource === 'secrets' && obj['type'] === 'fleet.cattle.io/cluster-registration-values') {
    op.log.info(`Skipping secret ${namespace}/${name} of type cluster-registration-values`)
    return
  }
  if (namespace && op.structured) {
    op.log.info('Restoring resource in namespace with specified name and type', {
      namespace,
      name,
      g_v_r: gvrString(gvr)
    })
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
      throw goErr(
        op.structured ? `restoreResource: err creating resource ${message(e)}` : message(e)
      )
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
  op.say(
    'info',
    `Successfully restored ${name}`,
    'Database backup successfully restored for resource',
    { name }
  )
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

/** customize(): restore-time fix-ups of the real operator. */
function customize(obj: Obj): void {
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
  } else if (apiVersion === 'provisioning.cattle.io/v1') {
    const g = spec['redeploySystemAgentGeneration']
    spec['redeploySystemAgentGeneration'] = (typeof g === 'number' ? g : 0) + 1
    obj['spec'] = spec
  } else if (apiVersion === 'management.cattle.io/v3') {
    const md = rec(obj['metadata'])
    md['annotations'] = { ...rec(md['annotations']), 'io.cattle.agent.force.deploy': 'true' }
    obj['metadata'] = md
  }
}
