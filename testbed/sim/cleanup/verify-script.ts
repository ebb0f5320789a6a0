/**
 * verify.sh of rancher/rancher-cleanup v1.0.3 (the action's default image; the script is the same
 * on main at effadb5), replayed in its order, line numbers of that tag. It prints only what is
 * left: kubectl tables, `kind.group/name` lines, custom-columns rows, and comma-separated lists of
 * resource types with no trailing newline (so consecutive lists run together on one line). Its
 * only echoes are the banner (l.4) and one of the two sides of the PSP guard (l.61 or l.79).
 *
 * - The PSP block (l.55-80) is guarded the wrong way round (see `Shell.pspBranchRuns`): where the
 *   API server serves PodSecurityPolicy (Kubernetes 1.24 and older, the testbed's 1.20) it prints
 *   `Kubernetes version v1.25 or higher, skipping PSP check` and checks nothing; where it does not
 *   (1.25 and newer) it prints `Checking for PSPs` and runs its 13 checks, each of which fails
 *   with `error: the server doesn't have a resource type "podsecuritypolicy"`. So no version of
 *   Kubernetes gets its PSPs checked.
 * - The namespace checks (l.82-91) are `kubectl get namespace -o name | grep "^cattle"` (and
 *   `^c-`, `^p-`, `^user-`, `^u-`): the output starts with `namespace/`, so those anchored checks
 *   never match upstream, and neither do they here; only the unanchored ones (`fleet`, `istio`,
 *   `elemental`, `rancher-operator-system`, `cis-operator-system`) report a namespace.
 * - Exit code 0 always: the last command is a pipeline ending in `sed` (l.112).
 */
import type { GetOptions, Kubectl } from './kubectl.js'
import { tabwrite } from './output.js'
import { Shell } from './shell.js'

export async function verifyScript(k: Kubectl, version: string): Promise<void> {
  const out = k.out
  const sh = new Shell(k, { delete: 20 })
  out.line(`Running verify.sh version ${version}`)

  /** `kcg …` = `kubectl get --ignore-not-found=true …`, human-readable. */
  const kcgTable = async (
    types: string,
    names: string[],
    opts: GetOptions = {},
    grep?: (line: string) => boolean
  ) => {
    await sh.kubectl(async () => {
      const lines = await k.getTable(types, names, { ...opts, ignoreNotFound: true })
      out.lines(grep ? lines.filter(grep) : lines)
    })
  }
  /** `kcg <type> [-l sel] -o name | grep …`. */
  const kcgNames = async (type: string, grep?: RegExp, labelSelector?: string) => {
    await sh.kubectl(async () => {
      const names = await k.getNames(type, labelSelector ? { labelSelector } : {})
      out.lines(grep ? names.filter(n => grep.test(n)) : names)
    })
  }
  /** `kcg <type> --no-headers -o custom-columns=NAME:.metadata.name | grep …`. */
  const kcgNameColumn = async (type: string, grep: RegExp) => {
    await sh.kubectl(async () => {
      const r = await k.resolveOrFail(type)
      out.lines((await k.list(r)).map(o => o.metadata.name ?? '').filter(n => grep.test(n)))
    })
  }
  /** `kcg "$(api-resources … | grep …)" -A --no-headers -o custom-columns=… [| grep]`. */
  const kcgTypes = async (filter: (name: string) => boolean, quiet: boolean, grep?: RegExp) => {
    let types = ''
    await sh.kubectl(async () => {
      types = (await k.apiResources(true)).filter(filter).join(',')
    })
    await sh.kubectl(async () => {
      const rows = await k.getCustomColumns(types, { allNamespaces: true })
      const lines = tabwrite(rows)
      out.lines(grep ? lines.filter(l => grep.test(l)) : lines)
    }, quiet)
  }
  /** `kubectl api-resources --namespaced=<n> --verbs=delete -o name | grep … | tr | sed`. */
  const typeList = async (namespaced: boolean, filter: (name: string) => boolean) => {
    await sh.kubectl(async () => {
      out.write((await k.apiResources(namespaced)).filter(filter).join(','))
    })
  }

  await kcgTable('deploy,ds', [], { namespace: 'cattle-system' })
  await kcgTable('configmap', ['cattle-controllers'], { namespace: 'kube-system' })
  for (const re of [/cattle\.io/, /rancher-monitoring/, /istio/, /mutating-webhook-configuration/])
    await kcgNames('mutatingwebhookconfigurations', re)
  for (const re of [
    /cattle\.io/,
    /rancher-monitoring/,
    /gatekeeper/,
    /istio/,
    /validating-webhook-configuration/
  ])
    await kcgNames('validatingwebhookconfigurations', re)

  await sh.kubectl(async () => {
    const names = await k.getNames('apiservice')
    out.lines(
      names.filter(
        n => /cattle\.io/.test(n) && !/k3s\.cattle\.io/.test(n) && !/helm\.cattle\.io/.test(n)
      )
    )
  })
  for (const re of [/istio/, /gatekeeper/, /custom\.metrics\.k8s\.io/, /elemental/])
    await kcgNames('apiservice', re)

  await kcgTable('clusterrolebinding', [], { labelSelector: 'cattle.io/creator=norman' })
  for (const re of [
    /^cattle-/,
    /rancher/,
    /^fleet-/,
    /^gitjob/,
    /^pod-impersonation-helm/,
    /^gatekeeper/,
    /^cis/,
    /^istio/,
    /^elemental/
  ])
    await kcgNameColumn('clusterrolebinding', re)
  await kcgTable('clusterroles', [], { labelSelector: 'cattle.io/creator=norman' })
  for (const re of [
    /^cattle-/,
    /rancher/,
    /^fleet/,
    /^gitjob/,
    /^pod-impersonation-helm/,
    /^logging-/,
    /^monitoring-/,
    /^gatekeeper/,
    /^cis/,
    /^istio/,
    /^elemental/
  ])
    await kcgNameColumn('clusterroles', re)

  // l.55-80: the 13 checks are l.62-77, in order.
  if (await sh.pspBranchRuns()) {
    sh.echo('Checking for PSPs')
    await kcgNames('podsecuritypolicy', undefined, 'app.kubernetes.io/name=rancher-logging')
    await kcgTable('podsecuritypolicy.policy', ['rancher-logging-rke-aggregator'])
    for (const sel of [
      'release=rancher-monitoring',
      'app=rancher-monitoring-crd-manager',
      'app=rancher-monitoring-patch-sa',
      'app.kubernetes.io/instance=rancher-monitoring',
      'release=rancher-gatekeeper',
      'app=rancher-gatekeeper-crd-manager',
      'app.kubernetes.io/name=rancher-backup'
    ])
      await kcgNames('podsecuritypolicy', undefined, sel)
    for (const re of [/istio-installer/, /istio-psp/, /kiali-psp/, /psp-istio-cni/])
      await kcgNames('podsecuritypolicy', re)
  } else {
    sh.echo('Kubernetes version v1.25 or higher, skipping PSP check')
  }

  // `kcg namespace -o name | grep "^cattle"`: the lines start with `namespace/`.
  for (const re of [
    /^cattle/,
    /rancher-operator-system/,
    /cis-operator-system/,
    /^c-/,
    /^p-/,
    /^user-/,
    /^u-/,
    /fleet/,
    /istio/,
    /elemental/
  ])
    await kcgNames('namespace', re)

  await kcgTypes(n => /logging\.banzaicloud\.io/.test(n), true)
  // `… | grep rancher-monitoring 2>/dev/null`: kubectl's own stderr is not redirected.
  await kcgTypes(
    n => !/events\.events\.k8s\.io/.test(n) && !/^events$/.test(n),
    false,
    /rancher-monitoring/
  )
  await kcgTypes(n => /monitoring\.coreos\.com/.test(n), true)
  await kcgTypes(n => /gatekeeper\.sh/.test(n), true)
  await kcgTypes(n => /cluster\.x-k8s\.io/.test(n), true)

  await typeList(false, n => /logging\.banzaicloud\.io/.test(n))
  await typeList(false, n => /gatekeeper\.sh/.test(n))

  for (const grep of [
    (l: string) =>
      /cattle\.io/.test(l) && !/helm\.cattle\.io/.test(l) && !/k3s\.cattle\.io/.test(l),
    (l: string) => /logging\.banzaicloud\.io/.test(l),
    (l: string) => /monitoring\.coreos\.com/.test(l),
    (l: string) => /gatekeeper\.sh/.test(l),
    (l: string) => /istio\.io/.test(l),
    (l: string) => /cluster\.x-k8s\.io/.test(l)
  ])
    await kcgTable('crd', [], {}, grep)

  await kcgTable('configmap', [], { allNamespaces: true }, l => /istio-ca-root-cert/.test(l))

  await typeList(
    true,
    n => /cattle\.io/.test(n) && !/helm\.cattle\.io/.test(n) && !/k3s\.cattle\.io/.test(n)
  )
  await typeList(false, n => /cattle\.io/.test(n))
}
