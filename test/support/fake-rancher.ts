/**
 * A small stateful Rancher world behind the scripted runner, for component tests of whole runs.
 * It answers the reads the action makes and changes its state on the writes, as the real
 * cluster would, so the verify step sees the result of the steps before it.
 */
import type { Command } from '../../src/kube/command-runner.js'
import { microTime } from '../../src/kube/manifests.js'
import { ScriptedRunner } from './scripted-runner.js'

export interface WorldOptions {
  history: {
    revision: number
    version: string
    status: string
    updated?: string
    /** Default: what Helm writes for an upgrade (failed or complete). */
    description?: string
  }[]
  storedVersions?: string[]
  /** ipaddresses.ipam.cluster.x-k8s.io, when the world has it (Rancher 2.14 installs it). */
  ipamStoredVersions?: string[]
  capiNamespace?: boolean
  /** cattle-turtles-system and cattle-capi-system exist (Rancher 2.13+). */
  turtles?: boolean
  operatorInstalled?: boolean
  restores?: unknown[]
  s3SecretExists?: boolean
  /** What the Restore ends as: Completed, or an error the operator retries forever. */
  restoreOutcome?: 'completed' | 'error'
  lease?: unknown
  /**
   * What happens to `lease` while the action watches it: its holder renews it, or it is deleted
   * at a time of the world's clock (default: nothing, its holder is dead).
   */
  lockHolder?: 'renews' | { releasedAt: string }
  values?: string
  verifyOutput?: string
  saved?: string
  /** A namespace that survives cleanup (verify.sh never reports those). */
  leftoverNamespace?: string
  /** Replicas of the rancher Deployment before the run (the release's manifest asks for 3). */
  replicas?: number
  /** The server's gitVersion (default v1.20.2). */
  kubernetesVersion?: string
  /** The rancher-backup chart's kubeVersion (default `>= 1.16.0-0`). */
  backupKubeVersion?: string
  /** kube-system's UID; default the one in the tests' backup names. */
  clusterUid?: string
  /** rancher-webhook is installed (default true); Rancher reinstalls it whenever it runs. */
  webhookInstalled?: boolean
  /** Rancher reinstalls a missing webhook when it runs (default true). */
  webhookReinstalled?: boolean
  /** The release install fails (e.g. the chart repo is unreachable). */
  installFails?: boolean
  /**
   * Objects in cattle-system (`secret/bootstrap-secret`) and their Helm ownership metadata
   * (managed-by, release name, release namespace; '' when missing), as a Restore left them.
   */
  objects?: Record<string, [string, string, string]>
}

const revision = (r: WorldOptions['history'][number]) => ({
  revision: r.revision,
  updated: r.updated ?? `2026-11-2${r.revision}T10:00:00.123456789Z`,
  status: r.status,
  chart: `rancher-${r.version}`,
  app_version: `v${r.version}`,
  description:
    r.description ?? (r.status === 'failed' ? 'Upgrade "rancher" failed' : 'Upgrade complete')
})

export function fakeRancher(opts: WorldOptions) {
  const state = {
    history: opts.history.map(revision),
    image: `rancher/rancher:v${opts.history[opts.history.length - 1]!.version}`,
    releaseExists: true,
    replicas: opts.replicas ?? 3,
    lease: opts.lease as { metadata: { resourceVersion?: string }; spec: object } | undefined,
    /** The world's clock (epoch ms): only waits move it. */
    clock: Date.parse('2026-11-24T09:00:00Z'),
    /** The Restore the action waits on: one it created, or one an earlier run left in flight. */
    restore: (opts.restores ?? []).find(
      r =>
        (r as { status?: { restoreCompletionTs?: string } }).status?.restoreCompletionTs ===
        undefined
    ) as unknown,
    operatorInstalled: opts.operatorInstalled ?? true,
    webhookInstalled: opts.webhookInstalled ?? true,
    /** Secret kube-system/rancher-rollback-saved, as kubectl would print it. */
    saved: opts.saved as string | undefined,
    objects: { ...opts.objects }
  }
  const webhookRelease = {
    name: 'rancher-webhook',
    namespace: 'cattle-system',
    status: 'deployed',
    chart: 'rancher-webhook-103.0.5+up0.4.6',
    app_version: ''
  }
  let version = 100
  const nextVersion = () => String(++version)
  const runner = new ScriptedRunner()
  const json = (o: unknown) => ({ stdout: JSON.stringify(o) })
  const releases = () => [
    ...(state.releaseExists
      ? [
          {
            name: 'rancher',
            namespace: 'cattle-system',
            status: 'deployed',
            chart: state.history.at(-1)!.chart,
            app_version: ''
          }
        ]
      : []),
    ...(state.webhookInstalled ? [webhookRelease] : []),
    ...(state.operatorInstalled
      ? [
          {
            name: 'rancher-backup-crd',
            namespace: 'cattle-resources-system',
            status: 'deployed',
            chart: 'rancher-backup-crd-103.0.2+up4.0.2',
            app_version: ''
          },
          {
            name: 'rancher-backup',
            namespace: 'cattle-resources-system',
            status: 'deployed',
            chart: 'rancher-backup-103.0.2+up4.0.2',
            app_version: ''
          }
        ]
      : [])
  ]

  runner
    .on(/^GET \/version\?timeout=\d+s$/, json({ gitVersion: opts.kubernetesVersion ?? 'v1.20.2' }))
    .on(/^helm history/, () =>
      state.releaseExists
        ? json(state.history)
        : { exitCode: 1, stderr: 'Error: release: not found' }
    )
    .on(/^helm history rancher-webhook/, () =>
      state.webhookInstalled
        ? json([
            { revision: 1, status: 'deployed', chart: webhookRelease.chart, app_version: '0.4.6' }
          ])
        : { exitCode: 1, stderr: 'Error: release: not found' }
    )
    .on(/^helm uninstall rancher-webhook -n cattle-system/, () => {
      state.webhookInstalled = false
      return {}
    })
    .on(/^kubectl wait pod -l app=rancher -n cattle-system --for=delete/, () =>
      state.replicas === 0
        ? {}
        : { exitCode: 1, stderr: 'error: timed out waiting for the condition' }
    )
    // A running Rancher reinstalls its webhook.
    .on(/^kubectl wait deployment\/rancher-webhook -n cattle-system --for=create/, () => {
      if (!state.releaseExists || state.replicas === 0 || opts.webhookReinstalled === false)
        return {
          exitCode: 1,
          stderr: 'error: timed out waiting for the condition on deployments/rancher-webhook'
        }
      state.webhookInstalled = true
      return {}
    })
    .on(/^helm list -A/, () => json(releases()))
    .on(
      /^GET \/apis\/apps\/v1\/namespaces\/cattle-system\/deployments\/rancher\?timeout=\d+s$/,
      () =>
        state.releaseExists
          ? json({
              metadata: { name: 'rancher' },
              spec: {
                replicas: state.replicas,
                template: { spec: { containers: [{ image: state.image }] } }
              },
              status: { readyReplicas: state.replicas, updatedReplicas: state.replicas }
            })
          : { stdout: '' }
    )
    .on(
      /^GET \/apis\/apps\/v1\/namespaces\/cattle-resources-system\/deployments\/rancher-backup\?timeout=\d+s$/,
      () =>
        state.operatorInstalled
          ? json({
              metadata: { name: 'rancher-backup' },
              spec: { replicas: 1 },
              status: { readyReplicas: 1, updatedReplicas: 1 }
            })
          : { stdout: '' }
    )
    .on(/^GET \/apis\/apiextensions.k8s.io\/v1\/customresourcedefinitions\?timeout=\d+s$/, () => {
      const crd = (name: string, storedVersions: string[]) => ({
        metadata: { name },
        status: { storedVersions }
      })
      return json({
        kind: 'CustomResourceDefinitionList',
        items: [
          crd('clusters.cluster.x-k8s.io', opts.storedVersions ?? ['v1beta1']),
          ...(opts.ipamStoredVersions
            ? [crd('ipaddresses.ipam.cluster.x-k8s.io', opts.ipamStoredVersions)]
            : []),
          ...(state.operatorInstalled ? [crd('restores.resources.cattle.io', ['v1'])] : [])
        ]
      })
    })
    .on(
      /^GET \/api\/v1\/namespaces\/kube-system\?timeout=\d+s \(metadata only\)$/,
      json({
        kind: 'PartialObjectMetadata',
        metadata: {
          name: 'kube-system',
          uid: opts.clusterUid ?? 'b0450532-cee1-4aa1-a881-f5f48a007b1c'
        }
      })
    )
    .on(/^GET \/apis\/management.cattle.io\/v3\/clusters\?timeout=\d+s$/, json({ items: [] }))
    .on(/^GET \/api\/v1\/namespaces\/(cattle-turtles-system|cattle-capi-system)\?/, (c: Command) =>
      opts.turtles ? json({ metadata: { name: c.args[1]!.split('/').at(-1) } }) : { stdout: '' }
    )
    .on(/^GET \/api\/v1\/namespaces\/cattle-provisioning-capi-system\?/, () =>
      opts.capiNamespace
        ? json({ metadata: { name: 'cattle-provisioning-capi-system' } })
        : { stdout: '' }
    )
    .on(
      /^GET \/apis\/resources.cattle.io\/v1\/restores\?timeout=\d+s$/,
      json({ items: opts.restores ?? [] })
    )
    .on(
      /^GET \/api\/v1\/namespaces\/default\/secrets\/s3-creds\?timeout=\d+s \(metadata only\)$/,
      () =>
        opts.s3SecretExists === false ? { stdout: '' } : json({ metadata: { name: 's3-creds' } })
    )
    .on(
      /^GET \/apis\/coordination.k8s.io\/v1\/namespaces\/kube-system\/leases\/rancher-rollback\?timeout=\d+s$/,
      () => (state.lease ? json(state.lease) : { stdout: '' })
    )
    // A watch on the lock lasts its timeout, during which the holder renews or releases it.
    .on(/^kubectl wait lease\/rancher-rollback -n kube-system --for=delete/, (c: Command) => {
      if (!state.lease) return {}
      const timeout = c.args.find(a => a.startsWith('--timeout='))!
      const holder = opts.lockHolder
      const end = state.clock + Number(timeout.replace(/\D/g, '')) * 1000
      if (typeof holder === 'object' && Date.parse(holder.releasedAt) <= end) {
        state.clock = Math.max(state.clock, Date.parse(holder.releasedAt))
        state.lease = undefined
        return {}
      }
      state.clock = end
      if (holder === 'renews') {
        state.lease = {
          ...state.lease,
          metadata: { ...state.lease.metadata, resourceVersion: nextVersion() },
          spec: { ...state.lease.spec, renewTime: microTime(new Date(state.clock)) }
        }
      }
      return {
        exitCode: 1,
        stderr: 'error: timed out waiting for the condition on leases/rancher-rollback'
      }
    })
    // The API server's own words (apiErrorText turns its Status into these).
    .on(
      /^PUT \/apis\/coordination.k8s.io\/v1\/namespaces\/kube-system\/leases\/rancher-rollback\?timeout=\d+s /,
      (c: Command) => {
        const obj = JSON.parse(c.stdin ?? '{}')
        if (!state.lease)
          return {
            exitCode: 1,
            stderr: `Error from server (NotFound): leases.coordination.k8s.io "rancher-rollback" not found`
          }
        if (obj.metadata.resourceVersion !== state.lease.metadata.resourceVersion)
          return {
            exitCode: 1,
            stderr: `Error from server (Conflict): Operation cannot be fulfilled on leases.coordination.k8s.io "rancher-rollback": the object has been modified; please apply your changes to the latest version and try again`
          }
        state.lease = { ...obj, metadata: { ...obj.metadata, resourceVersion: nextVersion() } }
        return {}
      }
    )
    .on(
      /^POST \/apis\/coordination.k8s.io\/v1\/namespaces\/kube-system\/leases\?timeout=\d+s /,
      (c: Command) => {
        const obj = JSON.parse(c.stdin ?? '{}')
        if (state.lease)
          return {
            exitCode: 1,
            stderr: `Error from server (AlreadyExists): leases.coordination.k8s.io "rancher-rollback" already exists`
          }
        state.lease = { ...obj, metadata: { ...obj.metadata, resourceVersion: nextVersion() } }
        return json(state.lease)
      }
    )
    .on(/^POST \/apis\/resources.cattle.io\/v1\/restores\?timeout=\d+s /, (c: Command) => {
      state.restore = JSON.parse(c.stdin ?? '{}')
      return json(state.restore)
    })
    .on(/^kubectl wait restores.resources.cattle.io/, () =>
      opts.restoreOutcome === 'error'
        ? { exitCode: 1, stderr: 'error: timed out waiting for the condition' }
        : {}
    )
    .on(/^GET \/apis\/resources.cattle.io\/v1\/restores\/rollback-/, () => {
      const base = state.restore as { metadata: object; spec: object }
      return json({
        ...base,
        status:
          opts.restoreOutcome === 'error'
            ? {
                conditions: [
                  {
                    type: 'Reconciling',
                    status: 'False',
                    reason: 'Error',
                    message: 'error restoring CRDs, check logs for exact error'
                  },
                  { type: 'Ready', status: 'False', message: 'Retrying' }
                ]
              }
            : {
                restoreCompletionTs: '2026-11-24T09:00:00Z',
                conditions: [{ type: 'Ready', status: 'True', message: 'Completed' }]
              }
      })
    })
    .on(/^kubectl logs -n cattle-resources-system/, {
      stdout:
        'level=error msg="error restoring CRDs: storedVersions[1]: Invalid value: \\"v1beta1\\""\n'
    })
    .on(/^helm rollback rancher (\d+)/, (c: Command) => {
      const target = state.history.find(r => r.revision === Number(c.args[2]))!
      state.history.at(-1)!.status = 'superseded'
      state.history.push({
        ...target,
        revision: state.history.length + 1,
        status: 'deployed',
        description: `Rollback to ${target.revision}`
      })
      state.image = `rancher/rancher:${target.app_version}`
      state.replicas = 3 // the three-way merge restores the manifest's count
      return {}
    })
    .on(/^kubectl rollout status/, { stdout: 'deployment "rancher" successfully rolled out' })
    .on(/^helm get manifest rancher -n cattle-system/, {
      stdout:
        '---\n# Source: rancher/templates/serviceAccount.yaml\nkind: ServiceAccount\nmetadata:\n  name: rancher\n---\n# Source: rancher/templates/deployment.yaml\nkind: Deployment\napiVersion: apps/v1\nmetadata:\n  name: rancher\nspec:\n  replicas: 3\n'
    })
    .on(
      /^PATCH \/apis\/apps\/v1\/namespaces\/cattle-system\/deployments\/rancher\/scale\?timeout=\d+s /,
      (c: Command) => {
        state.replicas = JSON.parse(c.stdin!).spec.replicas
        return json({ kind: 'Scale', spec: { replicas: state.replicas } })
      }
    )
    .on(/^helm get values rancher/, {
      stdout: opts.values ?? 'hostname: rancher.example.com\nbootstrapPassword: s3cr3t-bootstrap\n'
    })
    .on(/^GET \/api\/v1\/namespaces\/[^/]+\/secrets\/[^/ ]+\?timeout=\d+s$/, { stdout: '' })
    .on(
      /^GET \/api\/v1\/namespaces\/kube-system\/secrets\/rancher-rollback-saved\?timeout=\d+s$/,
      () => ({
        stdout: state.saved ?? ''
      })
    )
    .on(/^kubectl delete /, {})
    .on(
      /^DELETE \/apis\/coordination.k8s.io\/v1\/namespaces\/kube-system\/leases\/rancher-rollback\?timeout=\d+s$/,
      () => {
        state.lease = undefined
        return {}
      }
    )
    .on(/^kubectl delete secret rancher-rollback-saved -n kube-system/, () => {
      state.saved = undefined
      return {}
    })
    .on(/^kubectl apply -f -/, (c: Command) => {
      const obj = JSON.parse(c.stdin ?? '{}')
      const items = obj.kind === 'List' ? obj.items : [obj]
      if (obj.kind === 'Secret' && obj.metadata.name === 'rancher-rollback-saved') {
        state.saved = JSON.stringify(obj)
      }
      if (
        items.some(
          (i: { kind: string; metadata: { name: string } }) =>
            i.kind === 'Job' && i.metadata.name === 'cleanup-job'
        )
      ) {
        state.releaseExists = false
        state.operatorInstalled = false
        state.history = []
      }
      return {}
    })
    .on(/^kubectl wait job\//, {})
    .on(/^kubectl get namespaces -o/, () => ({
      stdout: state.releaseExists
        ? 'default kube-system cattle-system cattle-resources-system'
        : opts.leftoverNamespace
          ? `default kube-system ${opts.leftoverNamespace}`
          : 'default kube-system'
    }))
    .on(/^kubectl logs job\/cleanup-job/, { stdout: 'Removing Rancher resources...\n' })
    .on(/^kubectl logs job\/verify-job/, { stdout: opts.verifyOutput ?? '' })
    .on(/^helm show chart rancher-backup/, {
      stdout: `name: rancher-backup\nversion: 102.0.3+up3.1.3\nkubeVersion: '${opts.backupKubeVersion ?? '>= 1.16.0-0'}'\n`
    })
    .on(/^helm show chart rancher --repo/, (c: Command) => ({
      stdout: `name: rancher\nversion: ${c.args[c.args.indexOf('--version') + 1]}\nkubeVersion: < 1.27.0-0\n`
    }))
    .on(/^helm upgrade --install rancher-backup/, () => {
      state.operatorInstalled = true
      return {}
    })
    .on(
      /^kubectl get (secret|serviceaccount) \S+ -n cattle-system --ignore-not-found -o 'jsonpath=/,
      (c: Command) => {
        const key = `${c.args[1]}/${c.args[2]}`
        const owner = state.objects[key]
        return { stdout: owner ? [c.args[2], ...owner].join('\t') : '' }
      }
    )
    .on(
      /^kubectl patch (secret|serviceaccount) \S+ -n cattle-system --type=merge/,
      (c: Command) => {
        const patch = JSON.parse(c.args[c.args.indexOf('-p') + 1]!)
        state.objects[`${c.args[1]}/${c.args[2]}`] = [
          patch.metadata.labels['app.kubernetes.io/managed-by'],
          patch.metadata.annotations['meta.helm.sh/release-name'],
          patch.metadata.annotations['meta.helm.sh/release-namespace']
        ]
        return {}
      }
    )
    .on(/^helm upgrade --install rancher rancher/, (c: Command) => {
      if (opts.installFails)
        return {
          exitCode: 1,
          stderr:
            'Error: looks like "https://releases.rancher.com/server-charts/stable" is not a valid chart repository or cannot be reached'
        }
      const unowned = Object.entries(state.objects).find(
        ([, o]) => o.join('\t') !== 'Helm\trancher\tcattle-system'
      )
      if (unowned)
        return {
          exitCode: 1,
          stderr: `Error: Unable to continue with install: ${unowned[0]} exists and cannot be imported into the current release: invalid ownership metadata`
        }
      const version = c.args[c.args.indexOf('--version') + 1]!
      state.releaseExists = true
      state.history = [revision({ revision: 1, version, status: 'deployed' })]
      state.image = `rancher/rancher:v${version}`
      state.replicas = 3
      return {}
    })
  return { runner, state }
}
