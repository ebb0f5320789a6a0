/** kubectl, emulated through the API: the invocations the scripts make, with their output. */
import { abortableSleep } from '../../cluster/fake-kubelet.js'
import { KubeApiError, kpath, type KubeApi, type KubeObject } from '../../cluster/kube-api.js'
import {
  DEPRECATIONS,
  discover,
  gvOf,
  kindGroup,
  resourceName,
  type ApiResource,
  type Discovery
} from './discovery.js'
import { tabwrite, type Output } from './output.js'
import { cellsOf, columnsOf, type Obj } from './tables.js'

class Aborted extends Error {
  override name = 'Aborted'
}

/** One kubectl invocation failed (its error already printed). */
export class KubectlFailed extends Error {
  override name = 'KubectlFailed'
}

interface Subject {
  namespace: string
  serviceAccount: string
}

export interface GetOptions {
  namespace?: string
  allNamespaces?: boolean
  labelSelector?: string
}

export class Kubectl {
  private discovery: Discovery | undefined
  /** Warnings printed by the current invocation (kubectl deduplicates them). */
  private warned = new Set<string>()
  /** The current invocation's stderr goes to /dev/null. */
  private quiet = false
  private admin: boolean | undefined
  private readonly sar = new Map<string, boolean>()

  /** In-cluster kubectl's default namespace: the pod's own. */
  readonly defaultNamespace: string

  constructor(
    readonly api: KubeApi,
    readonly out: Output,
    readonly signal: AbortSignal,
    private readonly subject?: Subject
  ) {
    this.defaultNamespace = subject?.namespace ?? 'default'
  }

  /** Start a kubectl invocation (warning dedup; `quiet` = `2>/dev/null`). */
  begin(quiet = false): void {
    this.check()
    this.warned = new Set()
    this.quiet = quiet
  }

  check(): void {
    if (this.signal.aborted) throw new Aborted('aborted')
  }

  err(text: string): void {
    if (!this.quiet) this.out.line(text)
  }

  apiError(e: unknown): void {
    if (e instanceof KubeApiError) {
      const body = e.body as { message?: string } | undefined
      this.err(`Error from server (${e.reason || 'InternalError'}): ${body?.message ?? e.message}`)
    } else {
      this.err(`error: ${(e as Error).message}`)
    }
  }

  warn(r: ApiResource): void {
    const d = DEPRECATIONS[`${gvOf(r)}/${r.name}`]
    const msg = d && (this.discovery?.minor ?? 0) >= d.fromMinor ? d.message : undefined
    if (msg && !this.warned.has(msg)) {
      this.warned.add(msg)
      this.err(`Warning: ${msg}`)
    }
  }

  get user(): string {
    return this.subject
      ? `system:serviceaccount:${this.subject.namespace}:${this.subject.serviceAccount}`
      : 'system:admin'
  }

  /** SubjectAccessReview for the pod's ServiceAccount (cluster-admin is checked once). */
  async can(verb: string, r: ApiResource, namespace?: string): Promise<boolean> {
    if (!this.subject) return true
    const review = async (attrs: Record<string, string>): Promise<boolean> => {
      const res = await this.api.create<KubeObject & { status?: { allowed?: boolean } }>(
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: this.user,
            groups: [
              'system:serviceaccounts',
              `system:serviceaccounts:${this.subject?.namespace}`,
              'system:authenticated'
            ],
            resourceAttributes: attrs
          }
        }
      )
      return res.status?.allowed === true
    }
    this.admin ??= await review({ verb: '*', group: '*', resource: '*' })
    if (this.admin) return true
    const key = `${verb}/${r.group}/${r.name}/${namespace ?? ''}`
    let ok = this.sar.get(key)
    if (ok === undefined) {
      ok = await review({
        verb,
        group: r.group,
        resource: r.name,
        ...(namespace ? { namespace } : {})
      })
      this.sar.set(key, ok)
    }
    return ok
  }

  async authorize(verb: string, r: ApiResource, namespace?: string, name?: string): Promise<void> {
    if (await this.can(verb, r, namespace)) return
    const what = name ? `${resourceName(r)} "${name}"` : resourceName(r)
    const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'
    this.err(
      `Error from server (Forbidden): ${what} is forbidden: User "${this.user}" cannot ${verb} resource "${r.name}" in API group "${r.group}" ${scope}`
    )
    throw new KubectlFailed('forbidden')
  }

  async discover(fresh = false): Promise<Discovery> {
    if (fresh || !this.discovery) this.discovery = await discover(this.api)
    return this.discovery
  }

  /** `kubectl api-resources --namespaced=<n> --verbs=delete -o name` (always fresh). */
  async apiResources(namespaced: boolean): Promise<string[]> {
    this.check()
    const d = await this.discover(true)
    for (const f of d.failed)
      this.out.line(
        `error: unable to retrieve the complete list of server APIs: ${f.gv}: ${f.message}`
      )
    return d.resources
      .filter(r => r.namespaced === namespaced && r.verbs.includes('delete'))
      .map(resourceName)
  }

  /** Resolve one type argument as kubectl does (plural, singular, kind or short name[.group]). */
  async resolve(arg: string): Promise<ApiResource | undefined> {
    const d = await this.discover()
    const find = (res: ApiResource[]) => {
      const dot = arg.indexOf('.')
      const word = (dot < 0 ? arg : arg.slice(0, dot)).toLowerCase()
      const group = dot < 0 ? undefined : arg.slice(dot + 1)
      const ok = (r: ApiResource) =>
        r.name === word ||
        r.singularName === word ||
        r.kind.toLowerCase() === word ||
        r.shortNames.includes(word)
      // An exact `plural.group` (e.g. customresourcedefinitions.apiextensions.k8s.io) first.
      const exact = res.find(r => resourceName(r) === arg)
      if (exact) return exact
      if (group !== undefined) return res.find(r => r.group === group && ok(r))
      return res.find(r => r.group === '' && ok(r)) ?? res.find(ok)
    }
    let r = find(d.resources)
    if (!r) r = find((await this.discover(true)).resources)
    return r
  }

  async resolveOrFail(arg: string): Promise<ApiResource> {
    const r = await this.resolve(arg)
    if (!r) {
      // The image's kubectl v1.25.14 (package/Dockerfile l.3 of v1.0.3) names the resource part
      // of the argument, before the first dot: k8s.io/cli-runtime v0.25.14, pkg/resource/
      // builder.go l.797 (`podsecuritypolicy.policy/x` → "podsecuritypolicy").
      this.err(`error: the server doesn't have a resource type "${arg.split('.')[0]}"`)
      throw new KubectlFailed(arg)
    }
    return r
  }

  path(r: ApiResource, namespace?: string, name?: string, sub?: string): string {
    return kpath(gvOf(r), r.name, r.namespaced ? namespace : undefined, name, sub)
  }

  async list(r: ApiResource, opts: GetOptions = {}): Promise<Obj[]> {
    this.check()
    const ns =
      r.namespaced && !opts.allNamespaces ? (opts.namespace ?? this.defaultNamespace) : undefined
    await this.authorize('list', r, ns)
    this.warn(r)
    try {
      const list = await this.api.list<Obj>(
        this.path(r, ns),
        opts.labelSelector ? { labelSelector: opts.labelSelector } : {}
      )
      return list.items.map(o => ({ ...o, kind: o.kind ?? r.kind, apiVersion: gvOf(r) }))
    } catch (e) {
      this.apiError(e)
      throw new KubectlFailed('list')
    }
  }

  /** GET one object; undefined when absent (the NotFound error printed unless ignoreNotFound). */
  async getOne(
    r: ApiResource,
    name: string,
    namespace: string | undefined,
    ignoreNotFound = false
  ): Promise<Obj | undefined> {
    this.check()
    const ns = r.namespaced ? (namespace ?? this.defaultNamespace) : undefined
    await this.authorize('get', r, ns, name)
    this.warn(r)
    try {
      const o = await this.api.get<Obj>(this.path(r, ns, name))
      return { ...o, kind: o.kind ?? r.kind, apiVersion: gvOf(r) }
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) {
        if (!ignoreNotFound)
          this.err(`Error from server (NotFound): ${resourceName(r)} "${name}" not found`)
        return undefined
      }
      this.apiError(e)
      throw new KubectlFailed('get')
    }
  }

  /**
   * `kubectl get <types> [names]` in the human-readable form: one table per type (NAME prefixed
   * with `kind.group/` when several types are asked for), a blank line between tables.
   */
  async getTable(
    typesArg: string,
    names: string[],
    opts: GetOptions & { ignoreNotFound?: boolean; noHeaders?: boolean } = {}
  ): Promise<string[]> {
    const types = typesArg.split(',')
    const resources: ApiResource[] = []
    for (const t of types) resources.push(await this.resolveOrFail(t))
    const found: [ApiResource, Obj[]][] = []
    for (const r of resources) {
      let items: Obj[]
      if (names.length > 0) {
        items = []
        for (const n of names) {
          const o = await this.getOne(r, n, opts.namespace, opts.ignoreNotFound)
          if (o) items.push(o)
        }
      } else {
        items = await this.list(r, opts)
      }
      if (items.length > 0) found.push([r, items])
    }
    // kubectl's get.go `multipleGVKsRequested(infos)`: the kind prefix comes from the objects
    // found, not from the types asked for.
    const multi = found.length > 1
    const out: string[] = []
    for (const [r, items] of found) {
      const withNs = r.namespaced && opts.allNamespaces === true
      const header = [...(withNs ? ['NAMESPACE'] : []), 'NAME', ...columnsOf(r)]
      const rows = items.map(o => [
        ...(withNs ? [o.metadata.namespace ?? ''] : []),
        multi ? `${kindGroup(r)}/${o.metadata.name}` : (o.metadata.name ?? ''),
        ...cellsOf(r, o)
      ])
      if (out.length > 0) out.push('')
      out.push(...tabwrite(opts.noHeaders ? rows : [header, ...rows]))
    }
    if (found.length === 0 && !opts.ignoreNotFound && names.length === 0) {
      const nsScoped = resources.every(r => r.namespaced) && !opts.allNamespaces
      this.err(
        nsScoped
          ? `No resources found in ${opts.namespace ?? this.defaultNamespace} namespace.`
          : 'No resources found'
      )
    }
    return out
  }

  /** `kubectl get <types> -o name` lines (`kind.group/name`). */
  async getNames(typesArg: string, opts: GetOptions = {}): Promise<string[]> {
    const out: string[] = []
    for (const t of typesArg.split(',')) {
      const r = await this.resolveOrFail(t)
      for (const o of await this.list(r, opts)) out.push(`${kindGroup(r)}/${o.metadata.name}`)
    }
    return out
  }

  /**
   * `kubectl get <types> [-A|-n ns] --no-headers -o custom-columns=NAME:.metadata.name,
   * NAMESPACE:.metadata.namespace,KIND:.kind,APIVERSION:.apiVersion`: one table for all types.
   */
  async getCustomColumns(typesArg: string, opts: GetOptions): Promise<string[][]> {
    const rows: string[][] = []
    for (const t of typesArg.split(',')) {
      const r = await this.resolveOrFail(t)
      for (const o of await this.list(r, opts))
        rows.push([
          o.metadata.name ?? '<none>',
          o.metadata.namespace ?? '<none>',
          o.kind ?? r.kind,
          o.apiVersion ?? gvOf(r)
        ])
    }
    return rows
  }

  /**
   * kubectl delete --ignore-not-found=true --grace-period=G --timeout=Ts <args>: deletes, prints
   * `kind.group "name" deleted`, then waits for each to be gone. Returns the exit code.
   */
  async delete(args: string[], graceSeconds: number, timeoutSeconds: number): Promise<number> {
    let namespace: string | undefined
    let all = false
    const positional: string[] = []
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? ''
      if (a === '-n' || a === '--namespace') namespace = args[++i]
      else if (a.startsWith('--namespace=')) namespace = a.slice('--namespace='.length)
      else if (a === '--all') all = true
      else positional.push(a)
    }
    const targets: { r: ApiResource; name: string; ns?: string }[] = []
    try {
      if (positional.length > 0 && positional.every(p => p.includes('/'))) {
        for (const p of positional) {
          const slash = p.indexOf('/')
          const r = await this.resolveOrFail(p.slice(0, slash))
          targets.push({ r, name: p.slice(slash + 1), ns: namespace })
        }
      } else if (positional.length > 0) {
        const [typesArg = '', ...names] = positional
        const resources: ApiResource[] = []
        for (const t of typesArg.split(',')) resources.push(await this.resolveOrFail(t))
        if (all) {
          for (const r of resources)
            for (const o of await this.list(r, { namespace }))
              targets.push({ r, name: o.metadata.name ?? '', ns: namespace })
        } else if (names.length === 0) {
          this.err(
            'error: resource(s) were provided, but no name was specified. Use --all to delete all resources of a type'
          )
          return 1
        } else {
          for (const r of resources)
            for (const n of names) targets.push({ r, name: n, ns: namespace })
        }
      } else {
        this.err('error: You must provide one or more resources by argument or filename.')
        return 1
      }
    } catch (e) {
      if (e instanceof KubectlFailed) return 1
      throw e
    }

    let code = 0
    const deleted: { r: ApiResource; name: string; ns?: string; uid?: string }[] = []
    for (const t of targets) {
      this.check()
      const ns = t.r.namespaced ? (t.ns ?? this.defaultNamespace) : undefined
      try {
        await this.authorize('delete', t.r, ns, t.name)
      } catch (e) {
        if (e instanceof KubectlFailed) {
          code = 1
          continue
        }
        throw e
      }
      this.warn(t.r)
      try {
        const current = await this.api.tryGet<Obj>(this.path(t.r, ns, t.name))
        if (!current) continue // --ignore-not-found
        const existed = await this.api.delete(this.path(t.r, ns, t.name), {
          gracePeriodSeconds: graceSeconds,
          propagationPolicy: 'Background'
        })
        if (!existed) continue
        this.out.line(`${kindGroup(t.r)} "${t.name}" deleted`)
        deleted.push({ ...t, ns, uid: current.metadata.uid })
      } catch (e) {
        this.apiError(e)
        code = 1
      }
    }
    // kubectl delete --wait (the default): until each object (by UID) is gone.
    const deadline = Date.now() + timeoutSeconds * 1000
    for (const t of deleted) {
      for (;;) {
        this.check()
        const o = await this.api.tryGet<Obj>(this.path(t.r, t.ns, t.name))
        if (!o || o.metadata.uid !== t.uid) break
        if (Date.now() >= deadline) {
          this.err(`error: timed out waiting for the condition on ${t.r.name}/${t.name}`)
          code = 1
          break
        }
        await abortableSleep(Math.min(200, Math.max(1, deadline - Date.now())), this.signal)
      }
    }
    return code
  }
}
