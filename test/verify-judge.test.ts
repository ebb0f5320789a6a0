import { describe, expect, it } from 'vitest'
import { judgeVerifyOutput } from '../src/decide/verify-judge.js'

// What rancher/rancher-cleanup v1.0.3's verify.sh prints. Published outputs are quoted with their
// source; where none is published, a fixture is derived from the script text at tag v1.0.3 and
// says which lines. Line numbers are those of verify.sh at v1.0.3.

// l.3-4, with "unreleased" replaced by the tag (scripts/package l.9).
const BANNER = 'Running verify.sh version v1.0.3'
// l.61 and l.79: the two sides of the inverted guard of l.57-60.
const PSP_CHECKING = 'Checking for PSPs'
const PSP_SKIPPED = 'Kubernetes version v1.25 or higher, skipping PSP check'
// Quoted from https://github.com/rancher/rancher-cleanup/issues/87 (and rancher/rancher#43043):
// what each of the 13 checks of l.62-77 prints where PodSecurityPolicy is not served.
const PSP_ERROR = 'error: the server doesn\'t have a resource type "podsecuritypolicy"'

// Quoted from https://github.com/rancher/rancher-cleanup/issues/87, a clean single-node K3s
// cluster: `kubectl -n kube-system logs -l job-name=verify-job -f | grep -v "is deprecated"`.
// With -l, kubectl logs shows the last 10 lines: 9 of the 13 PSP errors, then the cluster-scoped
// type list of l.112, which does not filter out K3s's own etcdsnapshotfiles.
const ISSUE_87 = [...Array<string>(9).fill(PSP_ERROR), 'etcdsnapshotfiles.k3s.cattle.io'].join('\n')

// Derived from the script: the whole log of that cluster (Kubernetes 1.25+): l.4, l.61, the 13
// checks of l.62-77, and l.112 (no trailing newline, as `tr "\n" "," | sed` leaves it). RKE2
// ships the same ETCDSnapshotFile type, so a clean RKE2 cluster prints the same.
const CLEAN_K3S_125 = [
  BANNER,
  PSP_CHECKING,
  ...Array<string>(13).fill(PSP_ERROR),
  'etcdsnapshotfiles.k3s.cattle.io'
].join('\n')

// Derived from the script: a clean cluster on Kubernetes 1.24 or older (PodSecurityPolicy served,
// so the get of l.57 succeeds): l.4, then l.79; every other check and list prints nothing.
const CLEAN_124 = `${BANNER}\n${PSP_SKIPPED}\n`

// Derived from the script, with quoted kubectl lines: a clean cluster on Kubernetes 1.33+ with
// metrics-server down. l.94 lists every namespaced type, so kubectl prints the API server's
// Endpoints deprecation warning (quoted from aws-samples/eks-workshop-v2#1866); kubectl's
// discovery prints an error line for the unavailable metrics API (quoted from k3s-io/k3s#7286),
// and `kubectl api-resources` (l.99-112) another (quoted from k3s-io/k3s#4496).
const CLEAN_133_METRICS_DOWN = [
  BANNER,
  "E0413 02:18:01.018146 2329 memcache.go:287] couldn't get resource list for metrics.k8s.io/v1beta1: the server is currently unable to handle the request",
  PSP_CHECKING,
  ...Array<string>(13).fill(PSP_ERROR),
  'Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice',
  'error: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request',
  'etcdsnapshotfiles.k3s.cattle.io'
].join('\n')

// Derived from the script: a cleanup that gave up half-way on K3s 1.25+, with kubectl's layouts.
// Each line is the output of the verify.sh line noted.
const DIRTY = [
  BANNER,
  // l.11: one kind found, so no kind prefix (kubectl get's multipleGVKsRequested)
  'NAME              READY   UP-TO-DATE   AVAILABLE   AGE',
  'rancher-webhook   1/1     1            1           12d',
  // l.12
  'NAME                 DATA   AGE',
  'cattle-controllers   0      30d',
  // l.13, l.18
  'mutatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
  'validatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
  // l.24
  'apiservice.apiregistration.k8s.io/v3.management.cattle.io',
  PSP_CHECKING,
  ...Array<string>(13).fill(PSP_ERROR),
  // l.89: the unanchored `grep "fleet"`
  'namespace/cattle-fleet-system',
  // l.94: custom-columns NAME, NAMESPACE, KIND, APIVERSION
  'rancher-monitoring-operator   cattle-monitoring-system   Deployment   apps/v1',
  // l.102: NAME and CREATED AT, padded to the longest CRD name before the grep
  'clusters.management.cattle.io                         2026-10-01T10:00:00Z',
  // l.111 then l.112: the first list has no trailing newline, so they run together
  'apps.catalog.cattle.io,operations.catalog.cattle.ioclusterrepos.catalog.cattle.io,etcdsnapshotfiles.k3s.cattle.io,clusters.management.cattle.io'
].join('\n')

describe('judgeVerifyOutput: clean', () => {
  it.each([
    ['rancher-cleanup#87 as published (K3s, last 10 lines)', ISSUE_87],
    ['rancher/rancher#43043 as published (one PSP error)', PSP_ERROR],
    ['K3s/RKE2 on 1.25+: Checking for PSPs, 13 errors, etcdsnapshotfiles', CLEAN_K3S_125],
    ['1.24 or older: the inverted guard skips the PSP check', CLEAN_124],
    ['1.33+, metrics API down: deprecation warning and discovery errors', CLEAN_133_METRICS_DOWN],
    ['empty log', '']
  ])('%s', (_name, log) => {
    expect(judgeVerifyOutput(log)).toEqual({ clean: true, leftovers: [] })
  })

  it('strips kubectl logs --prefix', () => {
    // `[pod/<pod>/<container>] `; the container of deploy/verify.yaml is `verify`.
    const log = CLEAN_124.split('\n')
      .map(l => (l === '' ? l : `[pod/verify-job-x7k2q/verify] ${l}`))
      .join('\n')
    expect(judgeVerifyOutput(log)).toEqual({ clean: true, leftovers: [] })
  })
})

describe('judgeVerifyOutput: leftovers', () => {
  it('reports every leftover line and the non-K3s types of run-together lists', () => {
    const judged = judgeVerifyOutput(DIRTY)
    expect(judged.clean).toBe(false)
    expect(judged.leftovers).toEqual([
      'rancher-webhook   1/1     1            1           12d',
      'cattle-controllers   0      30d',
      'mutatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/rancher.cattle.io',
      'apiservice.apiregistration.k8s.io/v3.management.cattle.io',
      'namespace/cattle-fleet-system',
      'rancher-monitoring-operator   cattle-monitoring-system   Deployment   apps/v1',
      'clusters.management.cattle.io                         2026-10-01T10:00:00Z',
      'apps.catalog.cattle.io',
      'operations.catalog.cattle.io',
      'clusterrepos.catalog.cattle.io',
      'clusters.management.cattle.io'
    ])
  })

  it('a leftover after the skip line of 1.24 or older is still a leftover', () => {
    // l.79, then l.102 for a surviving CRD.
    const crd = 'clusters.management.cattle.io   2026-10-01T10:00:00Z'
    expect(judgeVerifyOutput(`${CLEAN_124}${crd}\n`)).toEqual({ clean: false, leftovers: [crd] })
  })

  it('a namespaced Rancher type glued to K3s etcdsnapshotfiles is not taken for a K3s type', () => {
    // l.111 leaves projects.management.cattle.io (namespaced) without a newline before l.112.
    expect(
      judgeVerifyOutput(`${BANNER}\nprojects.management.cattle.ioetcdsnapshotfiles.k3s.cattle.io`)
    ).toEqual({ clean: false, leftovers: ['projects.management.cattle.io'] })
  })

  it('a single remaining cluster-scoped cattle.io type is a leftover', () => {
    // l.112 alone.
    expect(judgeVerifyOutput(`${CLEAN_124}settings.management.cattle.io`).leftovers).toEqual([
      'settings.management.cattle.io'
    ])
  })

  it('unknown lines are leftovers (allow-list, not deny-list)', () => {
    for (const line of [
      // Quoted from pieterlange/kube-backup#43: kubectl refused by RBAC, so a check saw nothing.
      'Error from server (Forbidden): namespaces is forbidden: User "system:serviceaccount:kube-system:kube-backup" cannot list resource "namespaces" in API group "" at the cluster scope',
      // k3s-io/k3s#7286's discovery error, for an API group verify.sh looks at.
      "E0413 02:18:01.018146 2329 memcache.go:287] couldn't get resource list for management.cattle.io/v3: the server is currently unable to handle the request",
      // cleanup.sh l.306 of v1.0.3: cleanup's own skip line, not one of verify.sh's.
      'Kubernetes version v1.25 or higher, skipping PSP removal',
      // cleanup.sh l.4: another script's banner.
      'Running cleanup.sh version v1.0.3'
    ]) {
      expect(judgeVerifyOutput(`${BANNER}\n${line}\n`)).toEqual({
        clean: false,
        leftovers: [line]
      })
    }
  })
})
