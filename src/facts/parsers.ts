/** Pure parsers from kubectl/helm JSON output to the fact types. */
import { loadAll } from 'js-yaml'
import type { BackupOperatorFacts, HelmRevision, RancherDeploymentFacts } from './cluster-facts.js'
import { asArray, asNumber, asObject, asString } from './json-fields.js'
import { normalizeVersion } from '../decide/versions.js'
import { BACKUP_CHART, BACKUP_NAMESPACE, RESTORE_CRD } from '../kube/names.js'

export function parseJson(text: string, what: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`Could not parse ${what} as JSON: ${text.slice(0, 200)}`)
  }
}

export function parseHelmHistory(text: string): HelmRevision[] {
  const list = parseJson(text, 'helm history')
  if (!Array.isArray(list)) return []
  return list
    .map(item => {
      const o = asObject(item)
      return {
        revision: asNumber(o.revision),
        updated: asString(o.updated),
        status: asString(o.status),
        chart: asString(o.chart),
        appVersion: normalizeVersion(asString(o.app_version)),
        description: asString(o.description)
      }
    })
    .filter(r => r.revision > 0)
    .sort((a, b) => a.revision - b.revision)
}

export interface HelmListEntry {
  name: string
  namespace: string
  status: string
  chart: string
  appVersion: string
}

export function parseHelmList(text: string): HelmListEntry[] {
  const list = parseJson(text, 'helm list')
  if (!Array.isArray(list)) return []
  return list.map(item => {
    const o = asObject(item)
    return {
      name: asString(o.name),
      namespace: asString(o.namespace),
      status: asString(o.status),
      chart: asString(o.chart),
      appVersion: normalizeVersion(asString(o.app_version))
    }
  })
}

/** `rancher-backup-103.0.2+up4.0.2` → `103.0.2+up4.0.2` given the chart name. */
export function chartVersionOf(chart: string, chartName: string): string {
  return chart.startsWith(`${chartName}-`) ? chart.slice(chartName.length + 1) : ''
}

export function findRelease(
  list: HelmListEntry[],
  name: string,
  namespace: string
): HelmListEntry | undefined {
  return list.find(r => r.name === name && r.namespace === namespace)
}

export function parseDeployment(text: string): RancherDeploymentFacts {
  const d = asObject(parseJson(text, 'deployment'))
  if (!d.metadata) {
    return { exists: false, image: '', imageVersion: '', replicas: 0, readyReplicas: 0 }
  }
  const spec = asObject(d.spec)
  const containers = asObject(asObject(spec.template).spec).containers
  const first = Array.isArray(containers) ? asObject(containers[0]) : {}
  const image = asString(first.image)
  const tag = image.includes('@') ? '' : (image.split('/').pop()?.split(':')[1] ?? '')
  const status = asObject(d.status)
  return {
    exists: true,
    image,
    imageVersion: /^v?\d+\.\d+\.\d+/.test(tag) ? normalizeVersion(tag) : '',
    replicas: asNumber(spec.replicas),
    readyReplicas: asNumber(status.readyReplicas)
  }
}

/**
 * The replicas a release asks for: `spec.replicas` of its Deployment `name` in `helm get
 * manifest` output (1, the Kubernetes default, when unset); undefined when it has no such
 * Deployment or the manifest does not parse.
 */
export function deploymentReplicas(manifest: string, name: string): number | undefined {
  let docs: unknown[]
  try {
    docs = loadAll(manifest)
  } catch {
    return undefined
  }
  for (const doc of docs) {
    const o = asObject(doc)
    if (o.kind !== 'Deployment' || asObject(o.metadata).name !== name) continue
    const replicas = asObject(o.spec).replicas
    return typeof replicas === 'number' ? replicas : 1
  }
  return undefined
}

/** A Deployment is ready when every desired replica is updated and available. */
export function deploymentReady(text: string): boolean {
  const d = asObject(parseJson(text, 'deployment'))
  if (!d.metadata) return false
  const want = asNumber(asObject(d.spec).replicas)
  const status = asObject(d.status)
  return (
    want > 0 && asNumber(status.readyReplicas) >= want && asNumber(status.updatedReplicas) >= want
  )
}

/** `listCrdStoredVersions` output (`<name>\t["v1","v2"]` lines) → name → status.storedVersions. */
/** Each CRD's name → status.storedVersions, from the API's CustomResourceDefinitionList. */
export function parseCrdStoredVersions(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const item of asArray(asObject(parseJson(text, 'CRD list')).items)) {
    const crd = asObject(item)
    const name = asString(asObject(crd.metadata).name)
    if (name === '') continue
    out.set(name, asArray(asObject(crd.status).storedVersions).map(asString).filter(Boolean))
  }
  return out
}

/** The API server's `/version`: its gitVersion (`v1.20.15`). */
export function parseServerVersion(text: string): string {
  return asString(asObject(parseJson(text, 'API server version')).gitVersion)
}

/** An object's metadata.uid (the kube-system namespace's names the cluster's backups). */
export function parseUid(text: string): string {
  return asString(asObject(asObject(parseJson(text, 'object')).metadata).uid)
}

/** Names of the management clusters Rancher provisions with RKE1: they carry an RKE config. */
export function parseRke1ClusterNames(text: string): string[] {
  return asArray(asObject(parseJson(text, 'cluster list')).items)
    .map(asObject)
    .filter(c => asObject(c.spec).rancherKubernetesEngineConfig !== undefined)
    .map(c => asString(asObject(c.metadata).name))
    .filter(Boolean)
}

export function operatorFacts(
  releases: HelmListEntry[],
  crds: Map<string, string[]>,
  deploymentIsReady: boolean
): BackupOperatorFacts {
  const operator = findRelease(releases, BACKUP_CHART, BACKUP_NAMESPACE)
  return {
    releaseExists: operator !== undefined,
    restoreCrdExists: crds.has(RESTORE_CRD),
    deploymentReady: deploymentIsReady
  }
}

/** Decodes an S3 credential Secret's `accessKey` / `secretKey` (base64 `data`). */
export function parseCredentialSecret(
  text: string
): { accessKey: string; secretKey: string } | undefined {
  const data = asObject(asObject(parseJson(text, 'secret')).data)
  const decode = (v: unknown) => Buffer.from(asString(v), 'base64').toString('utf8')
  const accessKey = decode(data.accessKey)
  const secretKey = decode(data.secretKey)
  return accessKey && secretKey ? { accessKey, secretKey } : undefined
}

/** `helm version --template {{.Version}}` → 3 or 4; older or unknown majors are refused. */
export function parseHelmMajor(text: string): 3 | 4 {
  const major = /^v?(\d+)\./.exec(text.trim())?.[1]
  if (major === '3' || major === '4') return Number(major) as 3 | 4
  throw new Error(
    `Unsupported helm version "${text.trim()}": Helm 3 or 4 is required (input helm-version).`
  )
}
