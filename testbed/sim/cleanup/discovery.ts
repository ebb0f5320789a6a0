/** Discovery (kubectl api-resources) as the simulated kubectl sees it. */
import { KubeApiError, type KubeApi } from '../../cluster/kube-api.js'

export interface ApiResource {
  group: string
  version: string
  /** Plural. */
  name: string
  kind: string
  namespaced: boolean
  verbs: string[]
  shortNames: string[]
  singularName: string
}

export const gvOf = (r: ApiResource): string => (r.group ? `${r.group}/${r.version}` : r.version)
/** `kubectl api-resources -o name`: `plural.group`. */
export const resourceName = (r: ApiResource): string => (r.group ? `${r.name}.${r.group}` : r.name)
/** What `-o name`, `delete` and `patch` print: `kind.group`, kind lowercased. */
export const kindGroup = (r: ApiResource): string =>
  r.group ? `${r.kind.toLowerCase()}.${r.group}` : r.kind.toLowerCase()

export interface Discovery {
  /** The API server's minor version (warnings depend on it). */
  minor: number
  resources: ApiResource[]
  failed: { gv: string; message: string }[]
}

interface ApiGroupList {
  groups: {
    name: string
    versions: { groupVersion: string; version: string }[]
    preferredVersion?: { groupVersion: string; version: string }
  }[]
}

interface ApiResourceList {
  resources: {
    name: string
    singularName?: string
    namespaced: boolean
    kind: string
    verbs?: string[]
    shortNames?: string[]
  }[]
}

export async function discover(api: KubeApi): Promise<Discovery> {
  const [groups, version] = await Promise.all([
    api.request<ApiGroupList>('GET', '/apis'),
    api.request<{ minor?: string }>('GET', '/version')
  ])
  const minor = Number.parseInt(version.minor ?? '', 10) || 0
  const gvs: { group: string; version: string; path: string }[] = [
    { group: '', version: 'v1', path: '/api/v1' }
  ]
  for (const g of groups.groups) {
    const versions = [...g.versions]
    const pref = g.preferredVersion?.version
    versions.sort((a, b) => (a.version === pref ? -1 : b.version === pref ? 1 : 0))
    for (const v of versions)
      gvs.push({ group: g.name, version: v.version, path: `/apis/${v.groupVersion}` })
  }
  const failed: Discovery['failed'] = []
  const lists = await Promise.all(
    gvs.map(gv =>
      api.request<ApiResourceList>('GET', gv.path).catch((e: unknown) => {
        const body = e instanceof KubeApiError ? (e.body as { message?: string }) : undefined
        failed.push({
          gv: gv.group ? `${gv.group}/${gv.version}` : gv.version,
          message: body?.message ?? (e as Error).message
        })
        return undefined
      })
    )
  )
  const seen = new Set<string>()
  const resources: ApiResource[] = []
  gvs.forEach((gv, i) => {
    for (const r of lists[i]?.resources ?? []) {
      if (r.name.includes('/')) continue
      const key = `${gv.group}/${r.name}`
      if (seen.has(key)) continue
      seen.add(key)
      resources.push({
        group: gv.group,
        version: gv.version,
        name: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
        shortNames: r.shortNames ?? [],
        singularName: r.singularName || r.kind.toLowerCase()
      })
    }
  })
  // kubectl api-resources sorts by API group, then by name.
  resources.sort((a, b) =>
    a.group === b.group ? (a.name < b.name ? -1 : 1) : a.group < b.group ? -1 : 1
  )
  return { minor, resources, failed }
}

/**
 * Deprecation warnings the API server sends (as `Warning:` response headers) for a served
 * group/version/resource; kubectl prints each once per invocation on stderr.
 *
 * API server warnings (`Warning: extensions/v1beta1 Ingress is deprecated …`) are printed where
 * kubectl prints them: the KubeApi client does not expose response headers, so the known
 * deprecations of the served versions are listed here (seen with kubectl 1.32 on the 1.20 API
 * server).
 */
export const DEPRECATIONS: Record<string, { message: string; fromMinor: number }> = {
  'extensions/v1beta1/ingresses': {
    message:
      'extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress',
    fromMinor: 19
  }
}
