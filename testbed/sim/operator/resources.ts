/**
 * ResourceSet semantics of the backup-restore operator (pkg/resourcesets/collector.go,
 * GatherResources), over the real API server's discovery and list calls:
 *
 * - one selector = one apiVersion; its resource types are picked by `kindsRegexp` (matched
 *   against the Kind and the plural; "." = all but `excludeKinds`) and `kinds`; subresources
 *   are skipped; a group/version the server does not serve is skipped ("No resources found");
 * - objects are listed (label selector from `labelSelectors`) and filtered by
 *   `resourceNameRegexp` / `excludeResourceNameRegexp` / `resourceNames`, then, for namespaced
 *   types, by `namespaces` / `namespaceRegexp`.
 *
 * As collector.go at tags v1.2.1 to v11.0.1. Differs from upstream: `fieldSelectors` (v5.0.4,
 * v6.0.2, v7.0.1 and later) are not simulated, since no testbed ResourceSet uses them; regexps
 * are JavaScript's, not Go's RE2 (the same for the testbed's patterns).
 */
import { KubeApiError, kpath, type KubeApi, type KubeObject } from '../../cluster/kube-api.js'
import type { OperatorLogger } from './log.js'

export interface APIResource {
  name: string
  namespaced: boolean
  kind: string
  verbs: string[]
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

export interface ResourceSelector {
  apiVersion: string
  kinds?: string[]
  kindsRegexp?: string
  excludeKinds?: string[]
  resourceNames?: string[]
  resourceNameRegexp?: string
  excludeResourceNameRegexp?: string
  namespaces?: string[]
  namespaceRegexp?: string
  labelSelectors?: LabelSelector | null
}

export interface ControllerReference {
  apiVersion: string
  resource: string
  name: string
  namespace: string
  replicas: number
}

export interface ResourceSet extends KubeObject {
  resourceSelectors?: ResourceSelector[]
  controllerReferences?: ControllerReference[]
}

/** A resource type of one group/version (GVResource in the real code). */
export interface GVResource {
  /** `v1` or `group/version` */
  groupVersion: string
  group: string
  version: string
  /** Plural resource name. */
  name: string
  namespaced: boolean
  kind: string
}

export interface GatheredType {
  type: GVResource
  objects: KubeObject[]
}

export function splitGroupVersion(gv: string): { group: string; version: string } {
  const i = gv.indexOf('/')
  return i < 0 ? { group: '', version: gv } : { group: gv.slice(0, i), version: gv.slice(i + 1) }
}

/** The archive directory of a resource type: `<resource>.<group>#<version>`. */
export function typeDir(t: { name: string; group: string; version: string }): string {
  return `${t.name}.${t.group}#${t.version}`
}

/** Discovery (uncached: CRDs come and go during a restore). */
export class Discovery {
  constructor(private readonly api: KubeApi) {}

  /** The resources of a group/version, or undefined when the server does not serve it. */
  async resourcesFor(groupVersion: string): Promise<APIResource[] | undefined> {
    const path = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`
    try {
      const list = await this.api.request<{ resources?: APIResource[] }>('GET', path)
      return list.resources ?? []
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined
      throw e
    }
  }

  /** The resource of a kind (the REST mapper's answer); throws "no matches for kind". */
  async resourceForKind(
    apiVersion: string,
    kind: string
  ): Promise<{ resource: string; namespaced: boolean }> {
    const resources = await this.resourcesFor(apiVersion)
    const r = resources?.find(x => x.kind === kind && !x.name.includes('/'))
    if (!r) {
      const { group, version } = splitGroupVersion(apiVersion)
      throw new Error(
        `no matches for kind "${kind}" in version "${group ? `${group}/${version}` : version}"`
      )
    }
    return { resource: r.name, namespaced: r.namespaced }
  }
}

/** metav1.LabelSelectorAsSelector(...).String() */
export function labelSelectorString(sel: LabelSelector): string {
  const reqs: { key: string; text: string }[] = []
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}))
    reqs.push({ key: k, text: `${k}=${v}` })
  for (const e of sel.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort()
    switch (e.operator) {
      case 'In':
        reqs.push({ key: e.key, text: `${e.key} in (${values.join(',')})` })
        break
      case 'NotIn':
        reqs.push({ key: e.key, text: `${e.key} notin (${values.join(',')})` })
        break
      case 'Exists':
        reqs.push({ key: e.key, text: e.key })
        break
      case 'DoesNotExist':
        reqs.push({ key: e.key, text: `!${e.key}` })
        break
      default:
        throw new Error(`"${e.operator}" is not a valid pod selector operator`)
    }
  }
  return reqs
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(r => r.text)
    .join(',')
}

function goRegexp(pattern: string): RegExp {
  try {
    return new RegExp(pattern)
  } catch (e) {
    throw new Error(`error parsing regexp: ${(e as Error).message}`)
  }
}

function isKindExcluded(excludes: string[] | undefined, res: APIResource): boolean {
  return (excludes ?? []).some(x => x === res.name || x === res.kind)
}

export class ResourceGatherer {
  constructor(
    private readonly api: KubeApi,
    private readonly discovery: Discovery,
    private readonly log: OperatorLogger
  ) {}

  /** GatherResources: every selector, in order; objects per resource type. */
  async gather(selectors: ResourceSelector[]): Promise<GatheredType[]> {
    const out = new Map<string, GatheredType>()
    for (const sel of selectors) {
      let resources: APIResource[]
      try {
        resources = await this.resourcesForGroupVersion(sel)
      } catch (e) {
        throw new Error(`error gathering resource for ${sel.apiVersion}: ${errText(e)}`)
      }
      const { group, version } = splitGroupVersion(sel.apiVersion)
      for (const res of resources) {
        if (res.name.includes('/')) continue
        const type: GVResource = {
          groupVersion: sel.apiVersion,
          group,
          version,
          name: res.name,
          namespaced: res.namespaced,
          kind: res.kind
        }
        const key = `${sel.apiVersion}|${res.name}`
        if (!res.verbs.includes('list')) {
          if (res.verbs.includes('get')) {
            out.set(key, { type, objects: await this.objectsForNonListResource(type, sel) })
          } else {
            this.log.info(
              `Not collecting objects for resource ${res.name} since it does not have list or get verbs`
            )
          }
          continue
        }
        const objects = await this.objectsForResource(type, sel)
        const prev = out.get(key)
        if (prev) prev.objects.push(...objects)
        else out.set(key, { type, objects })
      }
    }
    for (const g of out.values()) g.objects = dedupe(g.objects)
    return [...out.values()]
  }

  private async resourcesForGroupVersion(sel: ResourceSelector): Promise<APIResource[]> {
    this.log.info(`Gathering resources for groupVersion: ${sel.apiVersion}`)
    const resources = await this.discovery.resourcesFor(sel.apiVersion)
    if (resources === undefined) {
      this.log.info(`No resources found for groupVersion ${sel.apiVersion}, skipping it`)
      return []
    }
    if (!sel.kindsRegexp && (sel.kinds ?? []).length === 0) return resources
    const fromRegex: APIResource[] = []
    if (sel.kindsRegexp) {
      if (sel.kindsRegexp === '.') {
        return resources.filter(r => !isKindExcluded(sel.excludeKinds, r))
      }
      const re = goRegexp(sel.kindsRegexp)
      for (const r of resources) {
        if (isKindExcluded(sel.excludeKinds, r)) continue
        if (re.test(r.kind) || re.test(r.name)) fromRegex.push(r)
      }
    }
    const fromNames: APIResource[] = []
    if ((sel.kinds ?? []).length > 0) {
      const seen = new Set(fromRegex.flatMap(r => [r.name, r.kind]))
      const wanted = new Set(sel.kinds)
      for (const r of resources) {
        if ((wanted.has(r.name) || wanted.has(r.kind)) && !seen.has(r.name) && !seen.has(r.kind)) {
          this.log.info(`resource kind ${r.name} found in list of resources to include`)
          fromNames.push(r)
        }
      }
    }
    return [...fromRegex, ...fromNames]
  }

  private async list(type: GVResource, labelSelector: string | undefined): Promise<KubeObject[]> {
    const list = await this.api.list(kpath(type.groupVersion, type.name), {
      ...(labelSelector ? { labelSelector } : {})
    })
    // The dynamic client fills in apiVersion/kind of list items from the list.
    return list.items.map(o => ({
      ...o,
      apiVersion: o.apiVersion ?? type.groupVersion,
      kind: o.kind ?? type.kind
    }))
  }

  private async objectsForResource(type: GVResource, sel: ResourceSelector): Promise<KubeObject[]> {
    const byName = await this.filterByNameAndLabel(type, sel)
    if (type.namespaced && ((sel.namespaces ?? []).length > 0 || sel.namespaceRegexp)) {
      return filterByNamespace(sel, byName)
    }
    return byName
  }

  private async filterByNameAndLabel(
    type: GVResource,
    sel: ResourceSelector
  ): Promise<KubeObject[]> {
    const labelSelector = sel.labelSelectors ? labelSelectorString(sel.labelSelectors) : undefined
    const items = await this.list(type, labelSelector)
    const names = sel.resourceNames ?? []
    if (names.length === 0 && !sel.resourceNameRegexp && !sel.excludeResourceNameRegexp) {
      return items
    }
    const byName: KubeObject[] = []
    if (sel.resourceNameRegexp) {
      if (sel.resourceNameRegexp === '.') return items
      const re = goRegexp(sel.resourceNameRegexp)
      byName.push(...items.filter(o => re.test(o.metadata.name ?? '')))
    }
    if (sel.excludeResourceNameRegexp) {
      const re = goRegexp(sel.excludeResourceNameRegexp)
      byName.push(...items.filter(o => !re.test(o.metadata.name ?? '')))
    }
    if (names.length > 0) {
      const allowed = new Set(names)
      const exact = items.filter(o => allowed.has(o.metadata.name ?? ''))
      if (exact.length === 0) return byName
      byName.push(...exact)
    }
    return byName
  }

  private async objectsForNonListResource(
    type: GVResource,
    sel: ResourceSelector
  ): Promise<KubeObject[]> {
    const names = sel.resourceNames ?? []
    if (names.length === 0) {
      this.log.info(
        `Cannot get objects for res ${type.name} since it doesn't allow list, and no resource names are provided`
      )
      return []
    }
    const namespaces = sel.namespaces ?? []
    if (type.namespaced && namespaces.length === 0) {
      this.log.info(
        `Cannot get objects for res ${type.name} since it doesn't allow list, and no namespaces are provided`
      )
      return []
    }
    const out: KubeObject[] = []
    for (const ns of type.namespaced ? namespaces : [undefined]) {
      for (const name of names) {
        out.push(await this.api.get(kpath(type.groupVersion, type.name, ns, name)))
      }
    }
    return out
  }
}

function filterByNamespace(sel: ResourceSelector, objects: KubeObject[]): KubeObject[] {
  const out: KubeObject[] = []
  const allowed = new Set(sel.namespaces ?? [])
  if (allowed.size > 0) out.push(...objects.filter(o => allowed.has(o.metadata.namespace ?? '')))
  if (sel.namespaceRegexp) {
    if (sel.namespaceRegexp === '.') return objects
    const re = goRegexp(sel.namespaceRegexp)
    out.push(...objects.filter(o => re.test(o.metadata.namespace ?? '')))
  }
  return out
}

function dedupe(objects: KubeObject[]): KubeObject[] {
  const seen = new Set<string>()
  return objects.filter(o => {
    const k = `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** The message a Go client error would print (a Status' message when the server sent one). */
export function errText(e: unknown): string {
  if (e instanceof KubeApiError) {
    const body = e.body as { message?: string } | undefined
    if (body && typeof body === 'object' && typeof body.message === 'string') return body.message
    return e.message
  }
  return e instanceof Error ? e.message : String(e)
}
