import { describe, expect, it } from 'vitest'
import {
  chartVersionOf,
  deploymentReady,
  parseCredentialSecret,
  parseCrdStoredVersions,
  parseDeployment,
  parseHelmHistory,
  parseHelmMajor,
  parseHelmList
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
  it('reads storedVersions per CRD from the jsonpath listing', () => {
    // kubectl prints a jsonpath array as JSON; a CRD without status prints nothing after the tab.
    const text =
      'clusters.cluster.x-k8s.io\t["v1alpha4","v1beta1"]\n' +
      'ipaddresses.ipam.cluster.x-k8s.io\t["v1beta2"]\n' +
      'restores.resources.cattle.io\t["v1"]\n' +
      'fresh.example.io\t\n'
    const m = parseCrdStoredVersions(text)
    expect(m.get('clusters.cluster.x-k8s.io')).toEqual(['v1alpha4', 'v1beta1'])
    expect(m.get('ipaddresses.ipam.cluster.x-k8s.io')).toEqual(['v1beta2'])
    expect(m.get('fresh.example.io')).toEqual([])
    expect(m.has('restores.resources.cattle.io')).toBe(true)
    expect(parseCrdStoredVersions('').size).toBe(0)
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
