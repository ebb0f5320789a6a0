/**
 * cleanup.sh of rancher/rancher-cleanup v1.0.3 (the action's default image), replayed in its
 * order; line numbers are those of that tag (main at effadb5 differs only in l.68, below):
 * - the banner and warning echoes, `kubectl cluster-info`, `kubectl get nodes -o wide`; without
 *   `force` it asks "Do you want to continue (y/n)?", reads EOF and exits 1;
 * - then `set -x`: every command is traced to stderr (`+ kcd '-n cattle-system deploy,ds --all'`,
 *   `++` for command substitutions), interleaved with kubectl's own output (`deployment.apps
 *   "rancher" deleted`, `Error from server (NotFound): …`, API server warnings);
 * - `kcd` = up to 4 tries of `timeout 21 sh -c 'kubectl delete --ignore-not-found=true
 *   --grace-period=15 --timeout=20s <args>'` (kubectl waits for the objects to be gone);
 *   `kcpf` patches `metadata.finalizers` to null (its "after" line, l.68, passes `"${*}"` as one
 *   argument, so kubectl fails there; fixed only after v1.0.3, in de28dae); `kcdns` clears the
 *   namespace's finalizers through `/finalize` and then deletes it. On Kubernetes that first
 *   delete of a finalizer-less namespace leaves it Terminating (the namespace controller skips
 *   finalized namespaces) until kubectl times out after 20 s and the second try deletes it for
 *   good: measured on the testbed's 1.20 API server, and what makes the real script slow.
 *   Objects that controllers re-create in between (kube-root-ca.crt, the default ServiceAccount)
 *   stay orphaned in etcd, as upstream.
 * - a `kcd` argument holding several names on separate lines (two matching webhook
 *   configurations) is run by `sh -c` as several commands: only the first is deleted, the rest
 *   fail with "No such file or directory", as upstream;
 * - PodSecurityPolicies (l.273-307) behind an inverted guard (see `Shell.pspBranchRuns`): where
 *   the API server serves them (Kubernetes 1.24 and older, the testbed's 1.20) it prints
 *   `Kubernetes version v1.25 or higher, skipping PSP removal` and leaves every PSP in place;
 *   where it does not, it prints `Removing PSPs` and its deletes fail (`the server doesn't have a
 *   resource type "podsecuritypolicy"`, four tries each);
 * - no `set -e` and no `exit`: the exit code is 0 whatever failed.
 *
 * Order (upstream): cattle-system deployments and daemonsets (then wait for the app=rancher pods
 * to go), cm kube-system/cattle-controllers, webhook configurations (cattle.io,
 * rancher-monitoring, gatekeeper, istio, the CAPI `{validating,mutating}-webhook-configuration`),
 * ClusterRoleBindings and ClusterRoles (label `cattle.io/creator=norman`, names matching
 * `^cattle-`, `rancher`, `^fleet-`, …), the "data" CRDs, APIServices, the PSP block, every
 * namespaced `cattle.io` object (not helm/k3s.cattle.io), logging, rancher-monitoring,
 * monitoring.coreos.com, gatekeeper and `cluster.x-k8s.io` objects, cluster-scoped `cattle.io`,
 * logging and gatekeeper objects, `istio-ca-root-cert` ConfigMaps, then the tools, fleet and
 * cattle namespaces (every object in them one by one, then the namespace), `cluster-fleet*`,
 * `p-*`, `c-*`, `user-*`, `u-*` namespaces, then logging, monitoring, gatekeeper, istio, CAPI and
 * cattle.io CRDs.
 *
 * Namespace lists: l.103-105 (the same on main at effadb5). They name neither
 * `cattle-turtles-system` nor `cattle-capi-system`, and no `^…` loop (l.378-421) matches them, so
 * v1.0.3 leaves those namespaces in place; only the all-namespaces loops (l.311-343, l.364-366)
 * reach into them.
 */
import { abortableSleep } from '../../cluster/fake-kubelet.js'
import { kpath } from '../../cluster/kube-api.js'
import { clusterInfo, nodesWide } from './cluster-info.js'
import { KubectlFailed, type Kubectl } from './kubectl.js'
import { Shell } from './shell.js'

const CATTLE_NAMESPACES = [
  'local',
  'cattle-system',
  'cattle-impersonation-system',
  'cattle-global-data',
  'cattle-global-nt',
  'cattle-provisioning-capi-system'
]
const TOOLS_NAMESPACES = [
  'istio-system',
  'cattle-resources-system',
  'cis-operator-system',
  'cattle-dashboards',
  'cattle-gatekeeper-system',
  'cattle-alerting',
  'cattle-logging',
  'cattle-pipeline',
  'cattle-prometheus',
  'rancher-operator-system',
  'cattle-monitoring-system',
  'cattle-logging-system',
  'cattle-elemental-system'
]
const FLEET_NAMESPACES = [
  'cattle-fleet-clusters-system',
  'cattle-fleet-local-system',
  'cattle-fleet-system',
  'fleet-default',
  'fleet-local',
  'fleet-system'
]
const DATACRDS = [
  'settings.management.cattle.io',
  'authconfigs.management.cattle.io',
  'features.management.cattle.io',
  'rkeaddons.management.cattle.io',
  'rkek8sserviceoptions.management.cattle.io',
  'rkek8ssystemimages.management.cattle.io',
  'catalogtemplateversions.management.cattle.io',
  'catalogtemplates.management.cattle.io',
  'rkeaddons.management.cattle.io',
  'tokens.management.cattle.io',
  'elemental.cattle.io'
]
/** The ClusterRoleBinding name patterns, in the script's order (after the norman label). */
const CRB_PATTERNS: [string, RegExp][] = [
  ['^cattle-', /^cattle-/],
  ['rancher', /rancher/],
  ['^fleet-', /^fleet-/],
  ['^gitjob', /^gitjob/],
  ['^pod-impersonation-helm-', /^pod-impersonation-helm-/],
  ['^gatekeeper', /^gatekeeper/],
  ['^cis', /^cis/],
  ['^istio', /^istio/],
  ['^elemental', /^elemental/]
]
const CR_PATTERNS: [string, RegExp][] = [
  ['^cattle-', /^cattle-/],
  ['rancher', /rancher/],
  ['^fleet', /^fleet/],
  ['^gitjob', /^gitjob/],
  ['^pod-impersonation-helm', /^pod-impersonation-helm/],
  ['^logging-', /^logging-/],
  ['^monitoring-', /^monitoring-/],
  ['^gatekeeper', /^gatekeeper/],
  ['^cis', /^cis/],
  ['^istio', /^istio/],
  ['^elemental', /^elemental/]
]
const NOT_EVENTS: [string, RegExp, boolean][] = [
  ['events.events.k8s.io', /events\.events\.k8s\.io/, true],
  ['^events$', /^events$/, true]
]

export async function cleanupScript(
  k: Kubectl,
  version: string,
  args: string[],
  opts: { deleteTimeoutSeconds: number }
): Promise<number> {
  const sh = new Shell(k, { delete: opts.deleteTimeoutSeconds })
  const out = k.out
  out.line(`Running cleanup.sh version ${version}`)
  out.lines([
    '==================== WARNING ====================',
    'THIS WILL DELETE ALL RESOURCES CREATED BY RANCHER',
    'MAKE SURE YOU HAVE CREATED AND TESTED YOUR BACKUPS',
    'THIS IS A NON REVERSIBLE ACTION',
    '==================== WARNING ===================='
  ])
  // `kubectl get nodes >/dev/null 2>&1`
  const nodes = await k.resolveOrFail('nodes')
  if (!(await k.can('list', nodes))) {
    out.line(
      "'kubectl get nodes' exited non-zero, make sure environment variable KUBECONFIG is set to a working kubeconfig file"
    )
    return 1
  }
  out.line('=> Printing cluster info for confirmation')
  await clusterInfo(k)
  await sh.kubectl(async () => {
    out.lines(await nodesWide(k))
  })
  if (args[0] !== 'force') {
    out.line('Do you want to continue (y/n)?')
    // `read -r answer` on a container without stdin: EOF, empty answer.
    return 1
  }

  sh.xtrace = true
  sh.x(1, `CATTLE_NAMESPACES=${CATTLE_NAMESPACES.join(' ')}`)
  sh.x(1, `TOOLS_NAMESPACES=${TOOLS_NAMESPACES.join(' ')}`)
  sh.x(1, `FLEET_NAMESPACES=${FLEET_NAMESPACES.join(' ')}`)

  // Delete rancher install to not have anything running that (re)creates resources
  await sh.kcd('-n cattle-system deploy,ds --all')
  sh.x(
    1,
    'kubectl',
    '-n',
    'cattle-system',
    'wait',
    '--for',
    'delete',
    'pod',
    '--selector=app=rancher'
  )
  await sh.kubectl(() => waitForPodsDeleted(k, 'cattle-system', 'app=rancher', 30))
  // Delete the only resource not in cattle namespaces
  await sh.kcd('-n kube-system configmap cattle-controllers')

  // Delete any blocking webhooks from preventing requests
  const webhookSteps: [string, string, RegExp][] = [
    ['mutatingwebhookconfigurations', 'cattle.io', /cattle\.io/],
    ['validatingwebhookconfigurations', 'cattle.io', /cattle\.io/],
    ['mutatingwebhookconfigurations', 'rancher-monitoring', /rancher-monitoring/],
    ['validatingwebhookconfigurations', 'rancher-monitoring', /rancher-monitoring/],
    ['validatingwebhookconfigurations', 'gatekeeper', /gatekeeper/],
    ['mutatingwebhookconfigurations', 'istio', /istio/],
    ['validatingwebhookconfigurations', 'istio', /istio/]
  ]
  for (const [type, text, re] of webhookSteps) {
    sh.x(1, 'kubectl', 'get', type, '-o', 'name')
    sh.x(1, 'grep', '-q', text)
    if ((await sh.namesMatching(type, re)).length === 0) continue
    sh.x(2, 'kubectl', 'get', type, '-o', 'name')
    sh.x(2, 'grep', text)
    await sh.kcd((await sh.namesMatching(type, re)).join('\n'))
  }

  // Cluster api
  for (const [type, name] of [
    [
      'validatingwebhookconfiguration.admissionregistration.k8s.io',
      'validating-webhook-configuration'
    ],
    ['mutatingwebhookconfiguration.admissionregistration.k8s.io', 'mutating-webhook-configuration']
  ] as const) {
    sh.x(2, 'kubectl', 'get', `${type}/${name}`)
    let table: string[] = []
    await sh.kubectl(async () => {
      table = await k.getTable(type, [name])
    })
    sh.x(1, '[', '-n', table.join('\n'), ']')
    if (table.length > 0) await sh.kcd(`${type}/${name}`)
  }

  // ClusterRoles/ClusterRoleBindings: label cattle.io/creator=norman, then name patterns.
  for (const [type, patterns] of [
    ['clusterrolebinding', CRB_PATTERNS],
    ['clusterroles', CR_PATTERNS]
  ] as const) {
    const plural = type === 'clusterrolebinding' ? 'clusterrolebindings' : 'clusterroles'
    const groups: [string[], RegExp | undefined, string | undefined][] = [
      [['-l', 'cattle.io/creator=norman'], undefined, undefined],
      ...patterns.map(([text, re]) => [[], re, text] as [string[], RegExp, string])
    ]
    for (const [extra, re, text] of groups) {
      sh.x(
        1,
        'kubectl',
        'get',
        type,
        ...extra,
        '--no-headers',
        '-o',
        'custom-columns=NAME:.metadata.name'
      )
      if (text) sh.x(1, 'grep', text)
      let names: string[] = []
      await sh.kubectl(async () => {
        const r = await k.resolveOrFail(type)
        const items = await k.list(r, extra.length > 0 ? { labelSelector: extra[1] } : {})
        names = items.map(o => o.metadata.name ?? '')
      })
      for (const n of names.filter(n => !re || re.test(n))) {
        sh.x(1, 'read', '-r', type === 'clusterrolebinding' ? 'CRB' : 'CR')
        await sh.kcpf([plural, n])
        await sh.kcd(`${plural} ${n}`)
      }
      sh.x(1, 'read', '-r', type === 'clusterrolebinding' ? 'CRB' : 'CR')
    }
  }

  // Bulk delete data CRDs
  sh.x(1, `DATACRDS=${DATACRDS.join(' ')}`)
  for (const crd of DATACRDS) await sh.kcd(`crd ${crd}`)

  // Delete apiservice
  const apiservices: string[] = []
  for (const [filters, texts] of [
    [
      [/cattle/, /k3s\.cattle\.io/, /helm\.cattle\.io/],
      ['cattle', '-v k3s.cattle.io', '-v helm.cattle.io']
    ],
    [[/gatekeeper\.sh/], ['gatekeeper.sh']],
    [[/istio\.io/], ['istio.io']]
  ] as [RegExp[], string[]][]) {
    sh.x(2, 'kubectl', 'get', 'apiservice', '-o', 'name')
    for (const t of texts) sh.x(2, 'grep', ...t.split(' '))
    let names: string[] = []
    await sh.kubectl(async () => {
      names = await k.getNames('apiservice')
    })
    apiservices.push(
      ...names.filter(
        n => (filters[0]?.test(n) ?? false) && filters.slice(1).every(f => !f.test(n))
      )
    )
  }
  sh.x(2, 'kubectl', 'get', 'apiservice', 'elemental-operator')
  await sh.kubectl(async () => {
    const table = await k.getTable('apiservice', ['elemental-operator'])
    apiservices.push(
      ...table
        .join(' ')
        .split(/\s+/)
        .filter(w => w !== '')
    )
  })
  apiservices.push('apiservice.apiregistration.k8s.io/v1beta1.custom.metrics.k8s.io')
  for (const a of apiservices) await sh.kcd(a)

  // Pod security policies (l.273-307): removed only where `kubectl get podsecuritypolicy` fails.
  if (await sh.pspBranchRuns()) {
    sh.echo('Removing PSPs')
    const pspSelectors: string[][] = [
      ['app.kubernetes.io/name=rancher-logging'],
      [
        'release=rancher-monitoring',
        'app=rancher-monitoring-crd-manager',
        'app=rancher-monitoring-patch-sa',
        'app.kubernetes.io/instance=rancher-monitoring'
      ],
      ['release=rancher-gatekeeper', 'app=rancher-gatekeeper-crd-manager'],
      ['app.kubernetes.io/name=rancher-backup']
    ]
    for (const [i, selectors] of pspSelectors.entries()) {
      const psps: string[] = []
      for (const sel of selectors) {
        sh.x(2, 'kubectl', 'get', 'podsecuritypolicy', '-o', 'name', '-l', sel)
        await sh.kubectl(async () => {
          psps.push(...(await k.getNames('podsecuritypolicy', { labelSelector: sel })))
        })
      }
      if (i === 0) psps.push('podsecuritypolicy.policy/rancher-logging-rke-aggregator')
      for (const p of psps) await sh.kcd(p)
    }
    for (const p of ['istio-installer', 'istio-psp', 'kiali-psp', 'psp-istio-cni'])
      await sh.kcd(`podsecuritypolicy ${p}`)
  } else {
    sh.echo('Kubernetes version v1.25 or higher, skipping PSP removal')
  }

  // Get all namespaced resources and delete in loop
  // Exclude helm.cattle.io and k3s.cattle.io to not break K3S/RKE2 addons
  await sh.traverse(
    await sh.typeList(true, [
      ['cattle.io', /cattle\.io/, false],
      ['helm.cattle.io', /helm\.cattle\.io/, true],
      ['k3s.cattle.io', /k3s\.cattle\.io/, true]
    ]),
    { allNamespaces: true }
  )
  // Logging
  await sh.traverse(
    await sh.typeList(true, [['logging.banzaicloud.io', /logging\.banzaicloud\.io/, false]]),
    { allNamespaces: true }
  )
  await sh.traverse(await sh.typeList(true, NOT_EVENTS), { allNamespaces: true }, [
    'rancher-monitoring',
    /rancher-monitoring/
  ])
  // Monitoring
  await sh.traverse(
    await sh.typeList(true, [['monitoring.coreos.com', /monitoring\.coreos\.com/, false]]),
    { allNamespaces: true }
  )
  // Gatekeeper
  await sh.traverse(await sh.typeList(true, [['gatekeeper.sh', /gatekeeper\.sh/, false]]), {
    allNamespaces: true
  })
  // Cluster-api
  await sh.traverse(await sh.typeList(true, [['cluster.x-k8s.io', /cluster\.x-k8s\.io/, false]]), {
    allNamespaces: true
  })

  // Get all non-namespaced resources and delete in loop
  await sh.traverseClusterScoped(await sh.typeList(false, [['cattle.io', /cattle\.io/, false]]))
  await sh.traverseClusterScoped(
    await sh.typeList(false, [['logging.banzaicloud.io', /logging\.banzaicloud\.io/, false]])
  )
  await sh.traverseClusterScoped(
    await sh.typeList(false, [['gatekeeper.sh', /gatekeeper\.sh/, false]])
  )

  // Delete istio certs
  sh.x(2, 'kubectl', 'get', 'ns', '--no-headers', '-o', 'custom-columns=NAME:.metadata.name')
  for (const ns of await namespaceNames(sh)) await sh.kcd(`-n ${ns} configmap istio-ca-root-cert`)

  // Delete all cattle namespaces, including project namespaces (p-),cluster (c-),cluster-fleet
  // and user (user-) namespaces
  const emptyNamespace = async (ns: string) => {
    await sh.traverse(await sh.typeList(true, NOT_EVENTS), { namespace: ns })
    await sh.kcdns(ns)
  }
  for (const ns of [...TOOLS_NAMESPACES, ...FLEET_NAMESPACES, ...CATTLE_NAMESPACES])
    await emptyNamespace(ns)
  for (const [text, re] of [
    ['^cluster-fleet', /^cluster-fleet/],
    ['^p-', /^p-/],
    ['^c-', /^c-/],
    ['^user-', /^user-/],
    ['^u-', /^u-/]
  ] as const) {
    sh.x(
      2,
      'kubectl',
      'get',
      'namespace',
      '--no-headers',
      '-o',
      'custom-columns=NAME:.metadata.name'
    )
    sh.x(2, 'grep', text)
    for (const ns of (await namespaceNames(sh)).filter(n => re.test(n))) await emptyNamespace(ns)
  }

  // Delete logging, monitoring, OPA, Istio, cluster-api CRDs, then all cattle CRDs
  // (exclude helm.cattle.io and addons.k3s.cattle.io to not break RKE2 addons)
  for (const [texts, keep] of [
    [['logging.banzaicloud.io'], (n: string) => /logging\.banzaicloud\.io/.test(n)],
    [['monitoring.coreos.com'], (n: string) => /monitoring\.coreos\.com/.test(n)],
    [['gatekeeper.sh'], (n: string) => /gatekeeper\.sh/.test(n)],
    [['istio.io'], (n: string) => /istio\.io/.test(n)],
    [['cluster.x-k8s.io'], (n: string) => /cluster\.x-k8s\.io/.test(n)],
    [
      ['cattle.io', '-v helm.cattle.io', '-v k3s.cattle.io'],
      (n: string) =>
        /cattle\.io/.test(n) && !/helm\.cattle\.io/.test(n) && !/k3s\.cattle\.io/.test(n)
    ]
  ] as [string[], (n: string) => boolean][]) {
    sh.x(2, 'kubectl', 'get', 'crd', '-o', 'name')
    for (const t of texts) sh.x(2, 'grep', ...t.split(' '))
    let crds: string[] = []
    await sh.kubectl(async () => {
      crds = await k.getNames('crd')
    })
    for (const crd of crds.filter(keep)) await sh.kcd(crd)
  }
  // No `exit`: the status of the last command (the loop above), which is 0.
  return 0
}

async function namespaceNames(sh: Shell): Promise<string[]> {
  let names: string[] = []
  await sh.kubectl(async () => {
    const r = await sh.k.resolveOrFail('namespace')
    names = (await sh.k.list(r)).map(o => o.metadata.name ?? '')
  })
  return names
}

/** `kubectl wait --for delete pod --selector=<sel>` (default timeout 30 s). */
async function waitForPodsDeleted(
  k: Kubectl,
  namespace: string,
  selector: string,
  timeoutSeconds: number
): Promise<void> {
  const pods = await k.resolveOrFail('pods')
  const items = await k.list(pods, { namespace, labelSelector: selector })
  const deadline = Date.now() + timeoutSeconds * 1000
  for (const p of items) {
    for (;;) {
      k.check()
      const o = await k.api.tryGet(kpath('v1', 'pods', namespace, p.metadata.name))
      if (!o || o.metadata.uid !== p.metadata.uid) {
        k.out.line(`pod/${p.metadata.name} condition met`)
        break
      }
      if (Date.now() >= deadline) {
        k.err(`error: timed out waiting for the condition on pods/${p.metadata.name}`)
        throw new KubectlFailed('wait')
      }
      await abortableSleep(200, k.signal)
    }
  }
}
