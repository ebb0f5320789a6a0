/**
 * The simulated Rancher (testbed/sim/rancher.ts) and rancher-cleanup image
 * (testbed/sim/cleanup/) on the real control plane, with real helm and kubectl: Rancher
 * installs its webhook and provisioning-capi charts, the action's own cleanup Job wipes it, the
 * verify Job's output is judged by the action's judge, and a broken version never rolls out.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupJobManifests } from '../../src/kube/manifests.js'
import { judgeVerifyOutput } from '../../src/decide/verify-judge.js'
import { BROKEN_LABEL, startChartRepo, type ChartRepo } from '../../testbed/services/chart-repo.js'
import { startCluster, type Cluster } from '../../testbed/cluster/cluster.js'
import type { Pod } from '../../testbed/cluster/fake-kubelet.js'
import { exec as run, type ExecResult as Result } from '../../testbed/exec.js'
import { kpath, type KubeObject } from '../../testbed/cluster/kube-api.js'
import { paths } from '../../testbed/paths.js'
import {
  cleanupScriptOf,
  simulatedCleanup,
  verifyOutput
} from '../../testbed/sim/cleanup/cleanup.js'
import { rancherVersionOfPod, simulatedRancher } from '../../testbed/sim/rancher.js'

const IMAGE = 'rancher/rancher-cleanup:v1.0.3'
const PSP_ERROR = 'error: the server doesn\'t have a resource type "podsecuritypolicy"'
const PSP_NAME = 'rancher-backup-psp'
/** A PSP that cleanup.sh l.297 of v1.0.3 would delete (by its label) if the guard let it. */
const PSP = {
  apiVersion: 'policy/v1beta1',
  kind: 'PodSecurityPolicy',
  metadata: { name: PSP_NAME, labels: { 'app.kubernetes.io/name': 'rancher-backup' } },
  spec: {
    seLinux: { rule: 'RunAsAny' },
    runAsUser: { rule: 'RunAsAny' },
    supplementalGroups: { rule: 'RunAsAny' },
    fsGroup: { rule: 'RunAsAny' }
  }
}

const exec = (bin: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string) =>
  run(bin, args, { env, stdin })

function pod(
  namespace: string,
  labels: Record<string, string>,
  container: Record<string, unknown>
): Pod {
  return {
    metadata: { name: 'p', namespace, labels },
    spec: { containers: [{ name: 'c', ...container }] }
  }
}

const ok = async (r: Promise<Result>, what: string) => {
  const res = await r
  expect(res.code, `${what}\n${res.stdout}\n${res.stderr}`).toBe(0)
  return res.stdout
}

/**
 * Runs the action's cleanup or verify Job (its own manifests) and returns the Job's log; with
 * `nodeName`, its pod is bound to that node instead of waiting for the scheduler.
 */
async function runJob(
  kubectl: (args: string[], stdin?: string) => Promise<Result>,
  mode: 'cleanup' | 'verify',
  timeout: string,
  nodeName?: string
): Promise<string> {
  const job = mode === 'cleanup' ? 'cleanup-job' : 'verify-job'
  await ok(
    kubectl(['delete', 'job', job, '-n', 'kube-system', '--ignore-not-found', '--wait']),
    'delete job'
  )
  const manifests = cleanupJobManifests(IMAGE, mode)
  const jobSpec = manifests.items.find(i => i.kind === 'Job')?.spec as
    { template: { spec: Record<string, unknown> } } | undefined
  if (nodeName && jobSpec) jobSpec.template.spec.nodeName = nodeName
  await ok(kubectl(['apply', '-f', '-'], JSON.stringify(manifests)), 'apply')
  await ok(
    kubectl([
      'wait',
      '--for=condition=complete',
      `job/${job}`,
      '-n',
      'kube-system',
      `--timeout=${timeout}`
    ]),
    `wait ${job}`
  )
  return ok(kubectl(['logs', '-n', 'kube-system', `job/${job}`]), `logs ${job}`)
}

describe('simulated Rancher and rancher-cleanup', () => {
  let cluster: Cluster
  let repo: ChartRepo
  let helmHome: string
  let env: NodeJS.ProcessEnv

  const kubectl = (args: string[], stdin?: string) => exec(paths.kubectl, args, env, stdin)
  const helm = (args: string[]) => exec(paths.helm3, args, env)
  const releases = async () =>
    JSON.parse(await ok(helm(['list', '-A', '-o', 'json']), 'helm list')) as {
      name: string
      namespace: string
      status: string
      chart: string
    }[]

  beforeAll(async () => {
    helmHome = await mkdtemp(join(tmpdir(), 'sim-cleanup-rancher-'))
    ;[cluster, repo] = await Promise.all([
      startCluster(),
      startChartRepo({ helmPath: paths.helm3 })
    ])
    env = {
      ...cluster.env,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data')
    }
    cluster.kubelet.registerBehaviour(
      simulatedRancher({
        api: cluster.api,
        helmPath: paths.helm3,
        kubeconfigPath: cluster.kubeconfigPath,
        chartRepoUrl: repo.url
      })
    )
    cluster.kubelet.registerBehaviour(simulatedCleanup({ api: cluster.api }))
  })

  afterAll(async () => {
    await cluster?.stop()
    await repo?.stop()
    if (helmHome) await rm(helmHome, { recursive: true, force: true })
  })

  it('matches only its own pods', () => {
    const rancher = pod('cattle-system', { app: 'rancher' }, { image: 'rancher/rancher:v2.8.4' })
    expect(rancherVersionOfPod(rancher)).toBe('2.8.4')
    expect(
      rancherVersionOfPod(
        pod('cattle-system', { app: 'rancher' }, { image: 'rancher/rancher:v2.8.6-broken' })
      )
    ).toBe('2.8.6')
    for (const other of [
      pod('cattle-system', { app: 'rancher-webhook' }, { image: 'rancher/rancher-webhook:v0.4.6' }),
      pod('default', { app: 'rancher' }, { image: 'rancher/rancher:v2.8.4' }),
      pod('cattle-system', { app: 'rancher' }, { image: 'rancher/rancher-agent:v2.8.4' }),
      pod('kube-system', {}, { image: 'rancher/rancher-cleanup:v1.0.3' })
    ]) {
      expect(rancherVersionOfPod(other)).toBeUndefined()
    }
    expect(cleanupScriptOf(pod('kube-system', {}, { image: IMAGE, args: ['force'] }))).toBe(
      'cleanup'
    )
    expect(
      cleanupScriptOf(
        pod('kube-system', {}, { image: `mirror.local:5000/${IMAGE}`, command: ['verify.sh'] })
      )
    ).toBe('verify')
    for (const other of [
      pod('kube-system', {}, { image: 'rancher/rancher:v2.8.4' }),
      pod('kube-system', {}, { image: 'example/rancher-cleanup:v1.0.3' }),
      pod('kube-system', {}, { image: IMAGE, command: ['sleep', '3600'] })
    ]) {
      expect(cleanupScriptOf(other)).toBeUndefined()
    }
  })

  it('fails the pods of a release it does not simulate, saying so', async () => {
    const lines: string[] = []
    const outcome = await simulatedCleanup({ api: cluster.api }).run(
      pod('kube-system', {}, { image: 'rancher/rancher-cleanup:v1.0.2', command: ['verify.sh'] }),
      line => lines.push(line),
      new AbortController().signal,
      { setReady: () => Promise.resolve(), restartCount: 0 }
    )
    expect(outcome).toEqual({ result: 'Failed', exitCode: 1 })
    expect(lines).toEqual(['testbed: rancher-cleanup v1.0.2 is not simulated, only v1.0.3'])
  })

  it('Rancher 2.8.4 installs rancher-webhook and rancher-provisioning-capi (one leader)', async () => {
    // An unrelated namespace that cleanup must leave alone.
    await ok(kubectl(['create', 'namespace', 'cert-manager']), 'create ns')
    await ok(
      kubectl(['-n', 'cert-manager', 'create', 'configmap', 'keep', '--from-literal=a=b']),
      'create cm'
    )
    await ok(
      helm([
        'install',
        'rancher',
        'rancher',
        '--repo',
        repo.rancherLatestUrl,
        '--version',
        '2.8.4',
        '-n',
        'cattle-system',
        '--create-namespace',
        '--set',
        'hostname=rancher.test',
        '--wait',
        '--timeout',
        '60s'
      ]),
      'helm install rancher'
    )
    const deadline = Date.now() + 60_000
    let list = await releases()
    const deployed = (name: string) => list.some(r => r.name === name && r.status === 'deployed')
    while (!(deployed('rancher-webhook') && deployed('rancher-provisioning-capi'))) {
      expect(Date.now(), JSON.stringify(list)).toBeLessThan(deadline)
      await new Promise(r => setTimeout(r, 1000))
      list = await releases()
    }
    expect(list.find(r => r.name === 'rancher-webhook')).toMatchObject({
      namespace: 'cattle-system',
      chart: 'rancher-webhook-103.0.5+up0.4.6'
    })
    expect(list.find(r => r.name === 'rancher-provisioning-capi')).toMatchObject({
      namespace: 'cattle-provisioning-capi-system',
      chart: 'rancher-provisioning-capi-103.0.0+up0.0.1'
    })
    // Rancher writes server-version after its charts are deployed.
    const serverVersion = kpath('management.cattle.io/v3', 'settings', undefined, 'server-version')
    let setting = await cluster.api.tryGet<KubeObject & { value?: string }>(serverVersion)
    while (!setting) {
      expect(Date.now(), 'server-version').toBeLessThan(deadline)
      await new Promise(r => setTimeout(r, 500))
      setting = await cluster.api.tryGet<KubeObject & { value?: string }>(serverVersion)
    }
    expect(setting.value).toBe('v2.8.4')

    const pods = await cluster.api.list<Pod>(kpath('v1', 'pods', 'cattle-system'), {
      labelSelector: 'app=rancher'
    })
    expect(pods.items).toHaveLength(3)
    const logs = pods.items.map(p =>
      cluster.kubelet.logsOf('cattle-system', p.metadata.name ?? '').join('\n')
    )
    for (const l of logs) expect(l).toMatch(/\[INFO\] Rancher version v2\.8\.4 \(\w+\) is starting/)
    expect(logs.filter(l => l.includes('successfully acquired lease'))).toHaveLength(1)
    expect(logs.filter(l => l.includes('Installing chart rancher-webhook'))).toHaveLength(1)
    const cm = await cluster.api.get(kpath('v1', 'configmaps', 'kube-system', 'cattle-controllers'))
    expect(cm.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader']).toMatch(
      /"holderIdentity":"rancher-/
    )
  })

  it("the action's cleanup Job removes Rancher and leaves the rest", async () => {
    // Two things v1.0.3 leaves in place: a PSP (on 1.24 and older its removal is skipped) and
    // cattle-turtles-system (no namespace list or pattern of cleanup.sh names it).
    await ok(kubectl(['apply', '-f', '-'], JSON.stringify(PSP)), 'apply psp')
    await ok(kubectl(['create', 'namespace', 'cattle-turtles-system']), 'create ns')

    const log = await runJob(kubectl, 'cleanup', '170s')
    expect(log).toMatch(/^Running cleanup\.sh version v1\.0\.3$/m)
    // The 1.20 API server serves PodSecurityPolicy, so the inverted guard skips the removal.
    expect(log).toMatch(/^\+ kubectl get podsecuritypolicy\n\+ '\[' 0 -ne 0 '\]'$/m)
    expect(log).toMatch(/^Kubernetes version v1\.25 or higher, skipping PSP removal$/m)
    expect(log).not.toMatch(/Removing PSPs|kcd 'podsecuritypolicy/)
    expect(
      await cluster.api.tryGet(kpath('policy/v1beta1', 'podsecuritypolicies', undefined, PSP_NAME))
    ).toBeDefined()
    expect(
      await cluster.api.tryGet(kpath('v1', 'namespaces', undefined, 'cattle-turtles-system'))
    ).toBeDefined()
    expect(log).not.toMatch(/^\+ kcdns cattle-turtles-system$/m)
    expect(log).toContain('THIS WILL DELETE ALL RESOURCES CREATED BY RANCHER')
    expect(log).toMatch(/^\+ kcd '-n cattle-system deploy,ds --all'$/m)
    expect(log).toMatch(/^deployment\.apps "rancher" deleted$/m)
    expect(log).toMatch(/^configmap "cattle-controllers" deleted$/m)
    expect(log).toMatch(/^secret "sh\.helm\.release\.v1\.rancher\.v1" deleted$/m)
    expect(log).toMatch(/^Finalizers before for namespace cattle-system: \["kubernetes"\]$/m)
    expect(log).toMatch(/^namespace "cattle-provisioning-capi-system" deleted$/m)
    expect(log).toMatch(
      /^customresourcedefinition\.apiextensions\.k8s\.io "clusters\.cluster\.x-k8s\.io" deleted$/m
    )

    for (const ns of ['cattle-system', 'cattle-provisioning-capi-system']) {
      expect(await cluster.api.tryGet(kpath('v1', 'namespaces', undefined, ns))).toBeUndefined()
    }
    const names = (await releases()).map(r => r.name)
    for (const gone of ['rancher', 'rancher-webhook', 'rancher-provisioning-capi'])
      expect(names).not.toContain(gone)
    const crds = await cluster.api.list(
      kpath('apiextensions.k8s.io/v1', 'customresourcedefinitions')
    )
    expect(
      crds.items
        .map(c => c.metadata.name ?? '')
        .filter(n => /cluster\.x-k8s\.io|cattle\.io/.test(n))
    ).toEqual([])
    expect(
      await cluster.api.tryGet(kpath('v1', 'configmaps', 'kube-system', 'cattle-controllers'))
    ).toBeUndefined()
    const keep = await cluster.api.tryGet(kpath('v1', 'configmaps', 'cert-manager', 'keep'))
    expect(keep?.metadata.name).toBe('keep')
  })

  it('the verify Job prints what the judge calls clean', async () => {
    const log = await runJob(kubectl, 'verify', '60s')
    expect(log).toMatch(
      /^Running verify\.sh version v1\.0\.3\nKubernetes version v1\.25 or higher, skipping PSP check$/m
    )
    // Neither the PSP nor cattle-turtles-system left by cleanup is seen.
    expect(log).not.toMatch(/Checking for PSPs|podsecuritypolic|turtles/)
    expect(judgeVerifyOutput(log)).toEqual({ clean: true, leftovers: [] })
    expect(log.trimEnd()).toBe((await verifyOutput(cluster.api)).trimEnd())
  })

  it('leftovers make verify dirty; the broken version never becomes Ready', async () => {
    // An empty cattle-system namespace is invisible to verify.sh: it greps `^cattle` on
    // `namespace/<name>` lines (upstream), so nothing is printed for it.
    await ok(kubectl(['create', 'namespace', 'cattle-system']), 'create ns')
    expect(judgeVerifyOutput(await verifyOutput(cluster.api)).clean).toBe(true)

    // A surviving cattle namespace that verify.sh does report (its `grep fleet` is unanchored).
    await ok(kubectl(['create', 'namespace', 'cattle-fleet-system']), 'create ns')
    expect(judgeVerifyOutput(await verifyOutput(cluster.api))).toEqual({
      clean: false,
      leftovers: ['namespace/cattle-fleet-system']
    })

    // A surviving clusters.management.cattle.io object (with its CRD).
    await ok(
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'clusters.management.cattle.io' },
          spec: {
            group: 'management.cattle.io',
            names: {
              kind: 'Cluster',
              listKind: 'ClusterList',
              plural: 'clusters',
              singular: 'cluster'
            },
            scope: 'Cluster',
            versions: [
              {
                name: 'v3',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
                }
              }
            ]
          }
        })
      ),
      'apply crd'
    )
    await ok(
      kubectl(['wait', '--for=condition=established', 'crd/clusters.management.cattle.io']),
      'wait crd'
    )
    await ok(
      kubectl(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'management.cattle.io/v3',
          kind: 'Cluster',
          metadata: { name: 'c-m-leftover' },
          spec: {}
        })
      ),
      'apply cluster'
    )
    const withCluster = judgeVerifyOutput(await verifyOutput(cluster.api))
    expect(withCluster.clean).toBe(false)
    expect(withCluster.leftovers).toEqual(
      expect.arrayContaining([
        'apiservice.apiregistration.k8s.io/v3.management.cattle.io',
        'namespace/cattle-fleet-system',
        expect.stringMatching(/^clusters\.management\.cattle\.io\s+\d{4}-\d\d-\d\dT/),
        'clusters.management.cattle.io'
      ])
    )

    // The same through the verify Job, while a broken Rancher version is being installed.
    const broken = helm([
      'install',
      'rancher',
      'rancher',
      '--repo',
      repo.rancherLatestUrl,
      '--version',
      '2.8.6',
      '-n',
      'cattle-system',
      '--create-namespace',
      '--set',
      'hostname=rancher.test',
      '--set',
      'replicas=1',
      '--wait',
      '--timeout',
      '20s'
    ])
    const log = await runJob(kubectl, 'verify', '60s')
    const judged = judgeVerifyOutput(log)
    expect(judged.clean).toBe(false)
    expect(judged.leftovers).toContain('namespace/cattle-fleet-system')
    expect(judged.leftovers).toContain('clusters.management.cattle.io')
    expect(judged.leftovers.some(l => /^clusters\.management\.cattle\.io\s+\d{4}-/.test(l))).toBe(
      true
    )
    expect(log).toMatch(/^apiservice\.apiregistration\.k8s\.io\/v3\.management\.cattle\.io$/m)

    const res = await broken
    expect(res.code, res.stdout).not.toBe(0)
    expect(res.stderr).toMatch(/context deadline exceeded|timed out|not ready/i)
    const pods = await cluster.api.list<Pod>(kpath('v1', 'pods', 'cattle-system'), {
      labelSelector: `app=rancher,${BROKEN_LABEL}=true`
    })
    expect(pods.items.length).toBeGreaterThan(0)
    for (const p of pods.items) {
      const ready = (p.status?.conditions as { type: string; status: string }[] | undefined)?.find(
        c => c.type === 'Ready'
      )
      expect(ready?.status).toBe('False')
      const lines = [
        ...cluster.kubelet.logsOf('cattle-system', p.metadata.name ?? ''),
        ...cluster.kubelet.logsOf('cattle-system', p.metadata.name ?? '', undefined, true)
      ]
      expect(lines.join('\n')).toMatch(/\[FATAL\] /)
    }
  })
})

describe('rancher-cleanup where PodSecurityPolicy is not served (as on Kubernetes 1.25+)', () => {
  // policy/v1beta1 switched off: this API server serves no PodSecurityPolicy (nor, having no
  // policy/v1 yet, PodDisruptionBudget, which neither script reads). The scripts find that out
  // as the real ones do, from `kubectl get podsecuritypolicy` failing. The 1.20 scheduler waits
  // for its PodDisruptionBudget informer for ever here, so the Jobs' pods are bound to the node.
  let cluster: Cluster
  const kubectl = (args: string[], stdin?: string) => exec(paths.kubectl, args, cluster.env, stdin)

  beforeAll(async () => {
    cluster = await startCluster({
      extraArgs: { apiserver: ['--runtime-config=policy/v1beta1=false'] }
    })
    cluster.kubelet.registerBehaviour(simulatedCleanup({ api: cluster.api }))
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it('cleanup takes the PSP branch, and every removal in it fails', async () => {
    const log = await runJob(kubectl, 'cleanup', '170s', cluster.kubelet.nodeName)
    expect(log).toMatch(/^\+ kubectl get podsecuritypolicy\n\+ '\[' 1 -ne 0 '\]'$/m)
    expect(log).toMatch(/^\+ echo 'Removing PSPs'\nRemoving PSPs$/m)
    expect(log).not.toContain('skipping PSP removal')
    expect(log).toMatch(/^\+ kcd 'podsecuritypolicy psp-istio-cni'$/m)
    // 8 label lists (l.282-297), then 5 fixed names (l.282, l.302) deleted 4 times each.
    expect(log.split('\n').filter(l => l === PSP_ERROR)).toHaveLength(8 + 5 * 4)
  })

  it('verify prints Checking for PSPs and 13 errors, and the judge calls that clean', async () => {
    const log = await runJob(kubectl, 'verify', '60s', cluster.kubelet.nodeName)
    expect(log.split('\n').slice(0, 15)).toEqual([
      'Running verify.sh version v1.0.3',
      'Checking for PSPs',
      ...Array<string>(13).fill(PSP_ERROR)
    ])
    expect(log).not.toContain('skipping PSP check')
    expect(judgeVerifyOutput(log)).toEqual({ clean: true, leftovers: [] })
    expect(log.trimEnd()).toBe((await verifyOutput(cluster.api)).trimEnd())
  })
})
