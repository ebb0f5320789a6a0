import { describe, expect, it } from 'vitest'
import { judgeVerifyOutput } from '../src/decide/verify-judge.js'

const PSP_ERROR = 'error: the server doesn\'t have a resource type "podsecuritypolicy"'

// A clean K3s v1.26 cluster, as reported in rancher/rancher-cleanup#87 (PSP gone since 1.25, and the
// cluster-scoped cattle.io list is not filtered, so K3s's own etcdsnapshotfiles shows up).
const CLEAN_K3S = [
  'Running verify.sh version v0.5.2',
  ...Array<string>(13).fill(PSP_ERROR),
  'etcdsnapshotfiles.k3s.cattle.io'
].join('\n')

// A clean RKE1 local cluster on Kubernetes 1.24: PSP still served, kubectl warns about it.
const CLEAN_RKE1_124 = [
  'Running verify.sh version v0.3.0',
  'Warning: policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+, unavailable in v1.25+',
  'Warning: policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+, unavailable in v1.25+',
  'Warning: v1 ComponentStatus is deprecated in v1.19+',
  ''
].join('\n')

// A clean RKE2 v1.33 cluster with a newer verify.sh (PSP checks guarded) and metrics-server down.
const CLEAN_RKE2 = [
  'Running verify.sh version v1.0.3',
  'Skipping PodSecurityPolicy checks: the API is not available on this cluster',
  'Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice',
  "E1124 08:10:01.123456      12 memcache.go:287] couldn't get resource list for metrics.k8s.io/v1beta1: the server is currently unable to handle the request",
  '',
  'etcdsnapshotfiles.k3s.cattle.io',
  ''
].join('\r\n')

// Cleanup that gave up half-way (webhook still serving, namespaces stuck terminating).
const DIRTY = [
  'Running verify.sh version v0.5.2',
  'NAME                              READY   UP-TO-DATE   AVAILABLE   AGE',
  'deployment.apps/rancher-webhook   1/1     1            1           12d',
  'NAME                 DATA   AGE',
  'cattle-controllers   0      30d',
  'mutatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
  'validatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
  PSP_ERROR,
  'namespace/cattle-fleet-system',
  'namespace/cattle-global-data',
  'namespace/p-x7k2q',
  'rancher-monitoring-operator   cattle-monitoring-system   Deployment   apps/v1',
  'clusters.management.cattle.io                         2026-10-01T10:00:00Z',
  // the two lists run together: the first has no trailing newline
  'apps.catalog.cattle.io,operations.catalog.cattle.ioclusterrepos.catalog.cattle.io,etcdsnapshotfiles.k3s.cattle.io'
].join('\n')

describe('judgeVerifyOutput: clean', () => {
  it.each([
    ['K3s 1.26 (rancher-cleanup#87)', CLEAN_K3S],
    ['RKE1 on 1.24 (PSP deprecation warnings)', CLEAN_RKE1_124],
    ['RKE2 1.33, guarded PSP checks, CRLF, metrics API down', CLEAN_RKE2],
    ['banner only', 'Running verify.sh version v1.0.3\n'],
    ['empty log', '']
  ])('%s', (_name, log) => {
    expect(judgeVerifyOutput(log)).toEqual({ clean: true, leftovers: [] })
  })

  it('allows helm.cattle.io and k3s.cattle.io type lists', () => {
    const log =
      'Running verify.sh version v0.5.2\naddons.k3s.cattle.io,helmchartconfigs.helm.cattle.io,helmcharts.helm.cattle.io\n'
    expect(judgeVerifyOutput(log).clean).toBe(true)
  })

  it('allows a header that introduces an empty section', () => {
    const log = [
      'Running verify.sh version v0.5.2',
      '==> Checking for leftover namespaces',
      'Remaining cattle.io resource types:',
      'NAME   READY   AGE',
      ''
    ].join('\n')
    expect(judgeVerifyOutput(log).clean).toBe(true)
  })

  it('strips kubectl logs --prefix', () => {
    const log =
      '[pod/verify-job-abcde/verify] Running verify.sh version v0.5.2\n[pod/verify-job-abcde/verify] ' +
      PSP_ERROR
    expect(judgeVerifyOutput(log).clean).toBe(true)
  })
})

describe('judgeVerifyOutput: leftovers', () => {
  it('reports every leftover line and the non-K3s types of run-together lists', () => {
    const judged = judgeVerifyOutput(DIRTY)
    expect(judged.clean).toBe(false)
    expect(judged.leftovers).toEqual([
      'deployment.apps/rancher-webhook   1/1     1            1           12d',
      'cattle-controllers   0      30d',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
      'namespace/cattle-fleet-system',
      'namespace/cattle-global-data',
      'namespace/p-x7k2q',
      'rancher-monitoring-operator   cattle-monitoring-system   Deployment   apps/v1',
      'clusters.management.cattle.io                         2026-10-01T10:00:00Z',
      'apps.catalog.cattle.io',
      'operations.catalog.cattle.io',
      'clusterrepos.catalog.cattle.io'
    ])
  })

  it('a Rancher type glued to a K3s type is not mistaken for a K3s type', () => {
    expect(
      judgeVerifyOutput('features.management.cattle.ioetcdsnapshotfiles.k3s.cattle.io')
    ).toEqual({
      clean: false,
      leftovers: ['features.management.cattle.io']
    })
  })

  it('a single remaining cattle.io type is a leftover', () => {
    expect(
      judgeVerifyOutput('Running verify.sh version v0.5.2\nsettings.management.cattle.io').leftovers
    ).toEqual(['settings.management.cattle.io'])
  })

  it('unknown lines are leftovers (allow-list, not deny-list)', () => {
    for (const line of [
      'Error from server (Forbidden): namespaces is forbidden: User "system:serviceaccount:kube-system:default" cannot list resource "namespaces"',
      'error: the server doesn\'t have a resource type "clusters"',
      'podsecuritypolicy.policy/rancher-logging-rke-aggregator',
      "E1124 08:10:01.123456      12 memcache.go:287] couldn't get resource list for management.cattle.io/v3: the server is currently unable to handle the request",
      'something unexpected'
    ]) {
      expect(judgeVerifyOutput(`Running verify.sh version v0.5.2\n${line}\n`)).toEqual({
        clean: false,
        leftovers: [line]
      })
    }
  })

  it('a header does not hide the rows of its section', () => {
    const log = 'Remaining namespaces:\nnamespace/cattle-system\n'
    expect(judgeVerifyOutput(log)).toEqual({ clean: false, leftovers: ['namespace/cattle-system'] })
  })

  it('a banner from another script is not verify.sh', () => {
    expect(judgeVerifyOutput('Running cleanup.sh version v0.5.2').clean).toBe(false)
  })
})
