import { describe, expect, it } from 'vitest'
import {
  chartVersionOf,
  deploymentReady,
  parseCredentialSecret,
  parseCrdStoredVersions,
  parseDeployment,
  parseHelmHistory,
  parseHelmMajor,
  parseHelmList,
  parseRke1ClusterNames,
  parseServerVersion,
  parseUid
} from '../src/facts/parsers.js'
import { upgradeTime } from '../src/facts/gather.js'

describe('parseHelmHistory', () => {
  it('normalises versions and sorts by revision', () => {
    const text = JSON.stringify([
      {
        revision: 2,
        updated: 'u2',
        status: 'failed',
        chart: 'rancher-2.8.5',
        app_version: 'v2.8.5',
        description: 'Upgrade failed'
      },
      {
        revision: 1,
        updated: 'u1',
        status: 'superseded',
        chart: 'rancher-2.8.4',
        app_version: 'v2.8.4',
        description: 'Install complete'
      }
    ])
    const h = parseHelmHistory(text)
    expect(h.map(r => [r.revision, r.appVersion, r.status])).toEqual([
      [1, '2.8.4', 'superseded'],
      [2, '2.8.5', 'failed']
    ])
  })
  it('refuses output that is not JSON, quoting it', () => {
    expect(() => parseHelmHistory('Error: boom')).toThrow(/helm history.*Error: boom/)
  })
})

describe('parseDeployment', () => {
  const dep = (image: string) =>
    JSON.stringify({
      metadata: { name: 'rancher' },
      spec: { replicas: 3, template: { spec: { containers: [{ image }] } } },
      status: { readyReplicas: 2, updatedReplicas: 3 }
    })
  it.each([
    ['rancher/rancher:v2.8.5', '2.8.5'],
    ['registry.local:5000/rancher/rancher:v2.8.5', '2.8.5'],
    ['rancher/rancher:v2.8.0-rc1', '2.8.0-rc1'],
    ['rancher/rancher@sha256:abc', ''],
    ['rancher/rancher:head', '']
  ])('%s → version %s', (image, version) => {
    expect(parseDeployment(dep(image))).toMatchObject({
      exists: true,
      image,
      imageVersion: version,
      replicas: 3,
      readyReplicas: 2
    })
  })
  it('an empty answer (--ignore-not-found) is a missing deployment', () => {
    expect(parseDeployment('').exists).toBe(false)
  })
  it('is ready only when every replica is ready and updated', () => {
    expect(deploymentReady(dep('x:v1'))).toBe(false)
    expect(
      deploymentReady(
        JSON.stringify({
          metadata: {},
          spec: { replicas: 1 },
          status: { readyReplicas: 1, updatedReplicas: 1 }
        })
      )
    ).toBe(true)
    expect(deploymentReady('')).toBe(false)
  })
})

describe('releases, CRDs, secrets, helm version', () => {
  it('finds chart versions with build metadata', () => {
    const list = parseHelmList(
      JSON.stringify([
        {
          name: 'rancher-backup',
          namespace: 'cattle-resources-system',
          status: 'deployed',
          chart: 'rancher-backup-103.0.2+up4.0.2',
          app_version: '4.0.2'
        }
      ])
    )
    expect(chartVersionOf(list[0]!.chart, 'rancher-backup')).toBe('103.0.2+up4.0.2')
    expect(chartVersionOf('rancher-backup-crd-103.0.2', 'rancher-backup')).toBe('crd-103.0.2')
    expect(chartVersionOf('other-1.0.0', 'rancher-backup')).toBe('')
  })
  it("reads storedVersions per CRD from the API's CustomResourceDefinitionList", () => {
    // GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions from kube-apiserver v1.20.2
    // (the testbed's, with the charts' CRDs), items cut to name and status; a CRD the API server
    // has not reconciled yet has no status.
    const text = JSON.stringify({
      kind: 'CustomResourceDefinitionList',
      apiVersion: 'apiextensions.k8s.io/v1',
      metadata: { resourceVersion: '1182' },
      items: [
        {
          metadata: { name: 'clusters.cluster.x-k8s.io' },
          status: { storedVersions: ['v1alpha4', 'v1beta1'], acceptedNames: { kind: 'Cluster' } }
        },
        {
          metadata: { name: 'restores.resources.cattle.io' },
          status: { storedVersions: ['v1'], acceptedNames: { kind: 'Restore' } }
        },
        { metadata: { name: 'fresh.example.io' } }
      ]
    })
    const m = parseCrdStoredVersions(text)
    expect(m.get('clusters.cluster.x-k8s.io')).toEqual(['v1alpha4', 'v1beta1'])
    expect(m.get('fresh.example.io')).toEqual([])
    expect(m.has('restores.resources.cattle.io')).toBe(true)
    expect(parseCrdStoredVersions('').size).toBe(0)
  })
  it('reads the API server version and the kube-system UID from their API answers', () => {
    // kube-apiserver v1.20.2: GET /version, and GET /api/v1/namespaces/kube-system asked for
    // PartialObjectMetadata (managedFields cut).
    const version =
      '{\n  "major": "1",\n  "minor": "20",\n  "gitVersion": "v1.20.2",\n  "gitCommit": "faecb196815e248d3ecfb03c680a4507229c2a56",\n  "gitTreeState": "clean",\n  "goVersion": "go1.19.8",\n  "compiler": "gc",\n  "platform": "linux/amd64"\n}'
    expect(parseServerVersion(version)).toBe('v1.20.2')
    const ns =
      '{\n  "kind": "PartialObjectMetadata",\n  "apiVersion": "meta.k8s.io/v1",\n  "metadata": {\n    "name": "kube-system",\n    "uid": "2ff09ed9-35cb-4721-a79d-adf56a0188a7",\n    "resourceVersion": "8",\n    "creationTimestamp": "2026-12-02T05:55:31Z"\n  }\n}'
    expect(parseUid(ns)).toBe('2ff09ed9-35cb-4721-a79d-adf56a0188a7')
  })
  it('names only the management clusters that carry an RKE1 config', () => {
    const list = JSON.stringify({
      apiVersion: 'management.cattle.io/v3',
      kind: 'ClusterList',
      items: [
        { metadata: { name: 'local' }, spec: { displayName: 'local', internal: true } },
        { metadata: { name: 'c-m-x7k2p' }, spec: { rancherKubernetesEngineConfig: {} } }
      ]
    })
    expect(parseRke1ClusterNames(list)).toEqual(['c-m-x7k2p'])
    expect(parseRke1ClusterNames('{"items":[]}')).toEqual([])
  })
  it('decodes the S3 credential secret, and needs both keys', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64')
    expect(
      parseCredentialSecret(
        JSON.stringify({ data: { accessKey: b64('AK'), secretKey: b64('SK') } })
      )
    ).toEqual({ accessKey: 'AK', secretKey: 'SK' })
    expect(
      parseCredentialSecret(JSON.stringify({ data: { accessKey: b64('AK') } }))
    ).toBeUndefined()
  })
  it.each([
    ['v3.17.2', 3],
    ['v4.1.4', 4],
    ['v4.0.0+gabc', 4]
  ])('helm %s is major %d', (text, major) => {
    expect(parseHelmMajor(text)).toBe(major)
  })
  it('refuses helm 2', () => {
    expect(() => parseHelmMajor('v2.17.0')).toThrow(/Helm 3 or 4/)
  })
})

describe('upgradeTime (cut-off for backup-filename: latest)', () => {
  const rev = (revision: number, appVersion: string, updated: string) => ({
    revision,
    appVersion,
    updated,
    status: 'superseded',
    chart: '',
    description: ''
  })
  it('is the first revision of the current version after the last other version', () => {
    const t = upgradeTime([
      rev(1, '2.8.4', '2026-11-01T00:00:00Z'),
      rev(2, '2.8.5', '2026-11-20T10:00:00Z'),
      rev(3, '2.8.5', '2026-11-22T10:00:00Z')
    ])
    expect(t?.toISOString()).toBe('2026-11-20T10:00:00.000Z')
  })
  it('is undefined when the release never changed version', () => {
    expect(
      upgradeTime([
        rev(1, '2.8.4', '2026-11-01T00:00:00Z'),
        rev(2, '2.8.4', '2026-11-02T00:00:00Z')
      ])
    ).toBeUndefined()
    expect(upgradeTime([])).toBeUndefined()
  })
})
