/** The shell: bash's xtrace and the scripts' functions (kcd, kcpf, kcdns, the type loops). */
import { kpath } from '../../cluster/kube-api.js'
import { kindGroup, type ApiResource } from './discovery.js'
import { KubectlFailed, type GetOptions, type Kubectl } from './kubectl.js'
import { shellQuote, tabwrite, type Output } from './output.js'
import { dig, type Obj } from './tables.js'

export class Shell {
  /** `set -x` is on. */
  xtrace = false

  constructor(
    readonly k: Kubectl,
    readonly timeouts: { delete: number }
  ) {}

  get out(): Output {
    return this.k.out
  }

  /** xtrace line: `+ cmd args` (`++` inside a command substitution). */
  x(depth: number, ...words: string[]): void {
    if (!this.xtrace) return
    const assignment = words.length === 1 ? /^([A-Za-z_]\w*)=([\s\S]*)$/.exec(words[0] ?? '') : null
    const text = assignment
      ? `${assignment[1]}=${assignment[2] ? shellQuote(assignment[2]) : ''}`
      : words.map(shellQuote).join(' ')
    this.out.line(`${'+'.repeat(depth)} ${text}`)
  }

  echo(text: string, depth = 1): void {
    this.x(depth, 'echo', text)
    this.out.line(text)
  }

  /** Run one emulated kubectl invocation; a failure it already printed returns false. */
  async kubectl(fn: () => Promise<void>, quiet = false): Promise<boolean> {
    this.k.begin(quiet)
    try {
      await fn()
      return true
    } catch (e) {
      if (e instanceof KubectlFailed) return false
      throw e
    } finally {
      this.k.begin(false)
    }
  }

  /** The `kcd` function: up to 4 tries of `timeout 21 sh -c 'kubectl delete … <arg>'`. */
  async kcd(arg: string): Promise<void> {
    this.x(1, 'kcd', arg)
    await this.deleteTries(arg)
  }

  /** The loop kcd and kcdns share: up to 4 tries of the kubectl delete, traced. */
  private async deleteTries(arg: string): Promise<void> {
    const t = this.timeouts.delete
    let i = 0
    this.x(1, 'i=0')
    for (;;) {
      this.x(1, '[', String(i), '-lt', '4', ']')
      if (i >= 4) return
      const script = `kubectl delete --ignore-not-found=true --grace-period=15 --timeout=${t}s ${arg}`
      this.x(1, 'timeout', String(t + 1), 'sh', '-c', script)
      if ((await this.shC(script, t)) === 0) {
        this.x(1, 'break')
        return
      }
      i++
      this.x(1, `i=${i}`)
    }
  }

  /**
   * `sh -c '<script>'`: the first line is the kubectl delete; a kcd argument with several names
   * on separate lines makes the following lines commands of their own (which do not exist).
   */
  private async shC(script: string, timeoutSeconds: number): Promise<number> {
    const [first = '', ...rest] = script.split('\n')
    const words = first.split(/\s+/).filter(w => w !== '')
    const args = words
      .slice(1)
      .filter(
        w =>
          !w.startsWith('--ignore-not-found') &&
          !w.startsWith('--grace-period') &&
          !w.startsWith('--timeout')
      )
    this.k.begin()
    let code: number
    try {
      code = await this.k.delete(args.slice(1), 15, timeoutSeconds)
    } finally {
      this.k.begin()
    }
    rest.forEach((line, j) => {
      const cmd = line.trim().split(/\s+/)[0] ?? ''
      if (cmd === '') return
      this.out.line(
        `sh: line ${j + 2}: ${cmd}: ${cmd.includes('/') ? 'No such file or directory' : 'command not found'}`
      )
      code = 127
    })
    return code
  }

  /** Type, name and namespace of kcpf's arguments (`-n ns Kind.group name`, `type name`, `type/name`). */
  private async target(args: string[]): Promise<{ r: ApiResource; name: string; ns?: string }> {
    let ns: string | undefined
    const pos: string[] = []
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '-n') ns = args[++i]
      else pos.push(args[i] ?? '')
    }
    let type: string
    let name: string
    if (pos.length === 1 && pos[0]?.includes('/')) {
      const p = pos[0]
      type = p.slice(0, p.indexOf('/'))
      name = p.slice(p.indexOf('/') + 1)
    } else {
      type = pos[0] ?? ''
      name = pos[1] ?? ''
    }
    const r = await this.k.resolveOrFail(type)
    return { r, name, ns }
  }

  /** The `kcpf` function: patch metadata.finalizers to null when there are any. */
  async kcpf(args: string[]): Promise<void> {
    this.x(1, 'kcpf', ...args)
    this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.metadata.finalizers}', ...args)
    let target: { r: ApiResource; name: string; ns?: string } | undefined
    let obj: Obj | undefined
    await this.kubectl(async () => {
      const t = await this.target(args)
      target = t
      obj = await this.k.getOne(t.r, t.name, t.ns)
    })
    const finalizers = obj?.metadata.finalizers ?? []
    const text = finalizers.length > 0 ? JSON.stringify(finalizers) : ''
    this.x(1, `FINALIZERS=${text}`)
    this.x(1, '[', `x${text}`, '!=', 'x', ']')
    if (!text || !target || !obj) return
    this.echo(`Finalizers before for ${args.join(' ')}: ${text}`)
    this.x(1, 'kubectl', 'patch', '-p', '{"metadata":{"finalizers":null}}', '--type=merge', ...args)
    const t = target
    await this.kubectl(async () => {
      const ns = t.r.namespaced ? (t.ns ?? this.k.defaultNamespace) : undefined
      await this.k.authorize('patch', t.r, ns, t.name)
      this.k.warn(t.r)
      try {
        await this.k.api.patch(this.k.path(t.r, ns, t.name), { metadata: { finalizers: null } })
        this.out.line(`${kindGroup(t.r)}/${t.name} patched`)
      } catch (e) {
        this.k.apiError(e)
      }
    })
    // Upstream passes "${*}" (one word) here: kubectl reads it as one (bogus) argument.
    const joined = args.join(' ')
    this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.metadata.finalizers}', joined)
    let after = ''
    if (args.length === 1) {
      await this.kubectl(async () => {
        const again = await this.k.getOne(t.r, t.name, t.ns)
        const f = again?.metadata.finalizers ?? []
        after = f.length > 0 ? JSON.stringify(f) : ''
      })
    } else if (joined.startsWith('-')) {
      this.out.lines([
        'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.',
        '',
        'error: Required resource not specified.',
        'Use "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).',
        "See 'kubectl get -h' for help and examples"
      ])
    } else {
      this.out.line(`error: the server doesn't have a resource type "${joined}"`)
    }
    this.echo(`Finalizers after for ${joined}: ${after}`)
  }

  /** The `kcdns` function: clear the namespace's finalizers, then delete it (4 tries). */
  async kcdns(ns: string): Promise<void> {
    this.x(1, 'kcdns', ns)
    this.x(1, 'kubectl', 'get', 'namespace', ns)
    let exists = false
    await this.kubectl(async () => {
      const lines = await this.k.getTable('namespace', [ns])
      this.out.lines(lines)
      exists = lines.length > 0
    })
    if (!exists) return
    await this.kcpf(['namespace', ns])
    this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.spec.finalizers}', 'namespace', ns)
    const nsRes = await this.k.resolveOrFail('namespace')
    let current: Obj | undefined
    await this.kubectl(async () => {
      current = await this.k.getOne(nsRes, ns, undefined)
    })
    const specFinalizers = (dig(current, 'spec', 'finalizers') ?? []) as string[]
    const text = specFinalizers.length > 0 ? JSON.stringify(specFinalizers) : ''
    this.x(1, `FINALIZERS=${text}`)
    this.x(1, '[', `x${text}`, '!=', 'x', ']')
    if (text && current) {
      this.echo(`Finalizers before for namespace ${ns}: ${text}`)
      this.x(1, 'kubectl', 'get', '-o', 'json', 'namespace', ns)
      this.x(1, 'tr', '-d', '\\n')
      this.x(1, 'sed', 's/"finalizers": \\[[^]]\\+\\]/"finalizers": []/')
      this.x(1, 'kubectl', 'replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-')
      const body = stripFinalizers(current)
      await this.kubectl(async () => {
        try {
          const res = await this.k.api.replace(
            kpath('v1', 'namespaces', undefined, ns, 'finalize'),
            body
          )
          this.out.write(JSON.stringify(res))
          this.out.line()
        } catch (e) {
          this.k.apiError(e)
        }
      })
      this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.spec.finalizers}', 'namespace', ns)
      let after = ''
      await this.kubectl(async () => {
        const o = await this.k.getOne(nsRes, ns, undefined)
        const f = (dig(o, 'spec', 'finalizers') ?? []) as string[]
        after = f.length > 0 ? JSON.stringify(f) : ''
      })
      this.echo(`Finalizers after for namespace ${ns}: ${after}`)
    }
    await this.deleteTries(`namespace ${ns}`)
  }

  /**
   * The PSP guard of v1.0.3, the same in both scripts (cleanup.sh l.275-278, verify.sh
   * l.57-60): `kubectl get podsecuritypolicy > /dev/null 2>&1`, then `if [ $? -ne 0 ]; then`
   * (PSP work) `else` (echo a "v1.25 or higher" skip line). The test is the wrong way round: the
   * PSP branch runs only when that get fails, which is where the API server does not serve
   * PodSecurityPolicy (Kubernetes 1.25+) or the get is refused. True when the PSP branch runs.
   */
  async pspBranchRuns(): Promise<boolean> {
    this.x(1, 'kubectl', 'get', 'podsecuritypolicy')
    const succeeded = await this.kubectl(async () => {
      await this.k.getTable('podsecuritypolicy', [])
    }, true)
    this.x(1, '[', succeeded ? '0' : '1', '-ne', '0', ']')
    return !succeeded
  }

  /** `++ printapiversion <apiVersion>` and its trace; returns the group. */
  printapiversion(apiVersion: string): string {
    this.x(2, 'printapiversion', apiVersion)
    this.x(2, 'echo', apiVersion)
    this.x(2, 'grep', '-q', '/')
    if (apiVersion.includes('/')) {
      this.x(2, 'echo', apiVersion)
      this.x(2, 'cut', '-d/', '-f1')
      return apiVersion.split('/')[0] ?? ''
    }
    this.x(2, 'echo', '')
    return ''
  }

  /** `$(kubectl api-resources --namespaced=<n> --verbs=delete -o name | <filters> | tr | sed)`. */
  async typeList(namespaced: boolean, filters: [string, RegExp, boolean][]): Promise<string> {
    this.x(
      2,
      'kubectl',
      'api-resources',
      `--namespaced=${namespaced}`,
      '--verbs=delete',
      '-o',
      'name'
    )
    let names: string[] = []
    await this.kubectl(async () => {
      names = await this.k.apiResources(namespaced)
    })
    for (const [text, re, invert] of filters) {
      this.x(2, 'grep', ...(invert ? ['-v'] : []), text)
      names = names.filter(n => re.test(n) !== invert)
    }
    this.x(2, 'tr', '\\n', ',')
    this.x(2, 'sed', '-e', 's/,$//')
    return names.join(',')
  }

  /**
   * `kubectl get "<types>" <scope> --no-headers -o custom-columns=… | while read -r NAME
   * NAMESPACE KIND APIVERSION; do kcpf …; kcd …; done`, with an optional grep on each row.
   */
  async traverse(types: string, scope: GetOptions, grep?: [string, RegExp]): Promise<void> {
    const scopeArgs = scope.allNamespaces ? ['-A'] : ['-n', scope.namespace ?? 'default']
    this.x(1, 'kubectl', 'get', types, ...scopeArgs, '--no-headers', '-o', CUSTOM_COLUMNS)
    if (grep) this.x(1, 'grep', grep[0])
    let rows: string[][] = []
    await this.kubectl(async () => {
      rows = await this.k.getCustomColumns(types, scope)
    })
    const lines = tabwrite(rows)
    const picked = rows.filter((_, i) => !grep || grep[1].test(lines[i] ?? ''))
    for (const [name = '', ns = '', kind = '', apiVersion = ''] of picked) {
      this.x(1, 'read', '-r', 'NAME', 'NAMESPACE', 'KIND', 'APIVERSION')
      const g1 = this.printapiversion(apiVersion)
      await this.kcpf(['-n', ns, `${kind}.${g1}`, name])
      const g2 = this.printapiversion(apiVersion)
      await this.kcd(`-n ${ns} ${kind}.${g2} ${name}`)
    }
    this.x(1, 'read', '-r', 'NAME', 'NAMESPACE', 'KIND', 'APIVERSION')
  }

  /** `kubectl get "<types>" -A --no-headers -o name | while read -r NAME; do kcpf; kcd; done`. */
  async traverseClusterScoped(types: string): Promise<void> {
    this.x(1, 'kubectl', 'get', types, '-A', '--no-headers', '-o', 'name')
    let names: string[] = []
    await this.kubectl(async () => {
      names = await this.k.getNames(types, { allNamespaces: true })
    })
    for (const n of names) {
      this.x(1, 'read', '-r', 'NAME')
      await this.kcpf([n])
      await this.kcd(n)
    }
    this.x(1, 'read', '-r', 'NAME')
  }

  /** `kubectl get <what> -o name | grep <pattern>` (as words or lines). */
  async namesMatching(typesArg: string, pattern: RegExp, opts: GetOptions = {}): Promise<string[]> {
    let names: string[] = []
    await this.kubectl(async () => {
      names = await this.k.getNames(typesArg, opts)
    })
    return names.filter(n => pattern.test(n))
  }
}

const CUSTOM_COLUMNS =
  'custom-columns=NAME:.metadata.name,NAMESPACE:.metadata.namespace,KIND:.kind,APIVERSION:.apiVersion'

/** What `tr -d "\n" | sed 's/"finalizers": \[[^]]\+\]/"finalizers": []/'` does to the JSON. */
function stripFinalizers(ns: Obj): Obj {
  const copy = JSON.parse(JSON.stringify(ns)) as Obj
  if (copy.metadata.finalizers?.length) copy.metadata.finalizers = []
  const spec = copy.spec as { finalizers?: string[] } | undefined
  if (spec?.finalizers?.length) spec.finalizers = []
  return copy
}
