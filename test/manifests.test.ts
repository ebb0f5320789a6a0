import { loadAll } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import {
  cleanupJobManifests,
  leaseManifest,
  microTime,
  restoreManifest,
  s3CredentialSecretManifest
} from '../src/kube/manifests.js'
import { restoreName, restorePrefix } from '../src/kube/names.js'
import type { S3Settings } from '../src/inputs/settings.js'

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUexample\n-----END CERTIFICATE-----\n'

const s3 = (overrides: Partial<S3Settings> = {}): S3Settings => ({
  bucketName: 'rancher-backups',
  folder: 'prod/local',
  region: 'eu-west-1',
  endpoint: 's3.eu-west-1.amazonaws.com',
  endpointCA: '',
  insecureTLSSkipVerify: false,
  credentialSecretName: 's3-creds',
  credentialSecretNamespace: 'default',
  accessKey: 'AKIAEXAMPLEACCESS',
  secretKey: 'secret/EXAMPLE+key',
  ...overrides
})

describe('restoreManifest', () => {
  it('builds a cluster-scoped resources.cattle.io/v1 Restore', () => {
    const r = restoreManifest({
      name: 'rollback-2-8-5-to-2-8-4-20261124t080000',
      backupFilename: 'nightly-b8f2c0c4-2026-11-23T02-00-00Z.tar.gz',
      s3: s3(),
      prune: true,
      encryptionConfigSecretName: '',
      labels: { 'rancher-rollback/from': '2.8.5' }
    })
    expect(r).toEqual({
      apiVersion: 'resources.cattle.io/v1',
      kind: 'Restore',
      metadata: {
        name: 'rollback-2-8-5-to-2-8-4-20261124t080000',
        labels: {
          'app.kubernetes.io/managed-by': 'rancher-rollback',
          'rancher-rollback/from': '2.8.5'
        }
      },
      spec: {
        backupFilename: 'nightly-b8f2c0c4-2026-11-23T02-00-00Z.tar.gz',
        prune: true,
        storageLocation: {
          s3: {
            bucketName: 'rancher-backups',
            endpoint: 's3.eu-west-1.amazonaws.com',
            folder: 'prod/local',
            region: 'eu-west-1',
            credentialSecretName: 's3-creds',
            credentialSecretNamespace: 'default'
          }
        }
      }
    })
    expect(r.metadata.namespace).toBeUndefined()
  })

  it('never includes access keys', () => {
    const text = JSON.stringify(
      restoreManifest({
        name: 'r',
        backupFilename: 'f',
        s3: s3(),
        prune: false,
        encryptionConfigSecretName: ''
      })
    )
    expect(text).not.toContain('AKIAEXAMPLEACCESS')
    expect(text).not.toContain('secret/EXAMPLE+key')
    expect(text).not.toMatch(/accessKey|secretKey/)
  })

  it('base64-encodes the endpoint CA, sets insecure TLS and encryption only when asked', () => {
    const r = restoreManifest({
      name: 'r',
      backupFilename: 'f.tar.gz.enc',
      s3: s3({ endpointCA: PEM, insecureTLSSkipVerify: true, endpoint: 'minio.example.com:9000' }),
      prune: false,
      encryptionConfigSecretName: 'encryptionconfig'
    })
    expect(r.spec.storageLocation.s3.endpointCA).toBe(Buffer.from(PEM).toString('base64'))
    expect(Buffer.from(r.spec.storageLocation.s3.endpointCA ?? '', 'base64').toString()).toBe(PEM)
    expect(r.spec.storageLocation.s3.insecureTLSSkipVerify).toBe(true)
    expect(r.spec.encryptionConfigSecretName).toBe('encryptionconfig')
    expect(r.spec.prune).toBe(false)
  })

  it('leaves out optional fields that are not set', () => {
    const r = restoreManifest({
      name: 'r',
      backupFilename: 'f',
      s3: s3({ folder: '', region: '', credentialSecretName: '', credentialSecretNamespace: '' }),
      prune: true,
      encryptionConfigSecretName: ''
    })
    expect(Object.keys(r.spec.storageLocation.s3).sort()).toEqual(['bucketName', 'endpoint'])
    expect('encryptionConfigSecretName' in r.spec).toBe(false)
  })
})

describe('s3CredentialSecretManifest', () => {
  it('is an Opaque Secret with stringData accessKey/secretKey', () => {
    expect(s3CredentialSecretManifest('s3-creds', 'default', 'AK', 'SK')).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 's3-creds',
        namespace: 'default',
        labels: { 'app.kubernetes.io/managed-by': 'rancher-rollback' }
      },
      type: 'Opaque',
      stringData: { accessKey: 'AK', secretKey: 'SK' }
    })
  })
})

// rancher/rancher-cleanup deploy/rancher-cleanup.yaml and deploy/verify.yaml (image aside).
const UPSTREAM_CLEANUP = `---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cleanup-service-account
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cleanup-admin
subjects:
- kind: ServiceAccount
  name: cleanup-service-account
  namespace: kube-system
roleRef:
  kind: ClusterRole
  name: cluster-admin
  apiGroup: rbac.authorization.k8s.io
---
apiVersion: batch/v1
kind: Job
metadata:
  name: cleanup-job
  namespace: kube-system
  labels:
    app: cleanup
spec:
  template:
    spec:
      containers:
      - name: cleanup
        image: rancher/rancher-cleanup:latest
        args: [ "force" ]
        imagePullPolicy: Always
      serviceAccountName: cleanup-service-account
      restartPolicy: Never
  backoffLimit: 4
`
const UPSTREAM_VERIFY = UPSTREAM_CLEANUP.replace('name: cleanup-job', 'name: verify-job')
  .replace('app: cleanup', 'app: verify')
  .replace('- name: cleanup', '- name: verify')
  .replace('args: [ "force" ]', 'command: [ "verify.sh" ]')
  .replace('backoffLimit: 4', 'backoffLimit: 0')

type Any = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

describe('cleanupJobManifests', () => {
  const image = 'rancher/rancher-cleanup:v1.0.3'

  it.each([
    ['cleanup', UPSTREAM_CLEANUP],
    ['verify', UPSTREAM_VERIFY]
  ] as const)('%s mirrors the upstream manifest', (mode, yaml) => {
    const upstream = loadAll(yaml) as Any[]
    const list = cleanupJobManifests(image, mode) as unknown as Any
    expect(list.apiVersion).toBe('v1')
    expect(list.kind).toBe('List')
    expect(list.items).toHaveLength(upstream.length)
    upstream.forEach((want, i) => {
      const got = list.items[i]
      expect(got.apiVersion).toBe(want.apiVersion)
      expect(got.kind).toBe(want.kind)
      expect(got.metadata.name).toBe(want.metadata.name)
      expect(got.metadata.namespace).toBe(want.metadata.namespace)
      for (const [k, v] of Object.entries(want.metadata.labels ?? {}))
        expect(got.metadata.labels[k]).toBe(v)
    })
    const [, binding, job] = list.items
    expect(binding.subjects).toEqual(upstream[1]!.subjects)
    expect(binding.roleRef).toEqual(upstream[1]!.roleRef)

    const want = upstream[2]!.spec
    expect(job.spec.backoffLimit).toBe(want.backoffLimit)
    const pod = job.spec.template.spec
    expect(pod.serviceAccountName).toBe(want.template.spec.serviceAccountName)
    expect(pod.restartPolicy).toBe('Never')
    const [container] = pod.containers
    const wantContainer = want.template.spec.containers[0]
    expect(container.name).toBe(wantContainer.name)
    expect(container.args).toEqual(wantContainer.args)
    expect(container.command).toEqual(wantContainer.command)
    expect(container.image).toBe(image)
  })

  it('schedules on amd64 nodes (the image is amd64-only)', () => {
    for (const mode of ['cleanup', 'verify'] as const) {
      const job = cleanupJobManifests(image, mode).items[2] as Any
      expect(job.spec.template.spec.nodeSelector['kubernetes.io/arch']).toBe('amd64')
    }
  })

  it('cleanup runs with "force" and retries 4 times; verify runs verify.sh once', () => {
    const cleanup = cleanupJobManifests(image, 'cleanup').items[2] as Any
    const verify = cleanupJobManifests(image, 'verify').items[2] as Any
    expect(cleanup.spec.template.spec.containers[0].args).toEqual(['force'])
    expect(cleanup.spec.backoffLimit).toBe(4)
    expect(verify.spec.template.spec.containers[0].command).toEqual(['verify.sh'])
    expect(verify.spec.template.spec.containers[0].args).toBeUndefined()
    expect(verify.spec.backoffLimit).toBe(0)
  })
})

describe('leaseManifest', () => {
  const now = new Date('2026-11-24T08:00:00Z')

  it('is kube-system/rancher-rollback with MicroTime stamps', () => {
    expect(leaseManifest({ holder: 'run-123-1@runner', durationSeconds: 3600, now })).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'rancher-rollback',
        namespace: 'kube-system',
        labels: { 'app.kubernetes.io/managed-by': 'rancher-rollback' }
      },
      spec: {
        holderIdentity: 'run-123-1@runner',
        leaseDurationSeconds: 3600,
        acquireTime: '2026-11-24T08:00:00.000000Z',
        renewTime: '2026-11-24T08:00:00.000000Z'
      }
    })
  })

  it('carries the resourceVersion for a take-over', () => {
    const lease = leaseManifest({ holder: 'me', durationSeconds: 60, now, resourceVersion: '4711' })
    expect(lease.metadata.resourceVersion).toBe('4711')
  })

  it('rounds the duration up to whole seconds (at least 1)', () => {
    expect(
      leaseManifest({ holder: 'me', durationSeconds: 90.2, now }).spec.leaseDurationSeconds
    ).toBe(91)
    expect(leaseManifest({ holder: 'me', durationSeconds: 0, now }).spec.leaseDurationSeconds).toBe(
      1
    )
  })

  it('microTime keeps milliseconds and pads to microseconds', () => {
    expect(microTime(new Date('2026-11-24T08:00:00.123Z'))).toBe('2026-11-24T08:00:00.123000Z')
  })
})

describe('restoreName', () => {
  const now = new Date('2026-11-24T08:00:00Z')
  const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

  it('matches the documented shape', () => {
    expect(restoreName(now, '2.8.5', '2.8.4')).toBe('rollback-2-8-5-to-2-8-4-20261124t080000')
  })

  it('starts with the prefix the restore step recognises earlier runs by', () => {
    for (const [from, to] of [
      ['2.8.5', '2.8.4'],
      ['2.10.0-alpha10', '2.9.3'],
      ['2.7.7', '2.7.6+up1']
    ] as const) {
      expect(restoreName(now, from, to).startsWith(restorePrefix(from, to))).toBe(true)
    }
  })

  it('is a DNS-1123 label of at most 63 characters, even for odd versions', () => {
    for (const [from, to] of [
      ['2.8.5', '2.8.4'],
      ['2.10.0-alpha10', '2.9.3-rc.12+build.2026'],
      ['99.99.99-averyveryverylongprerelease.identifier', '98.98.98-anotherveryverylongprerelease'],
      ['V2.8.5', '2.8.4']
    ] as const) {
      const name = restoreName(now, from, to)
      expect(name.length).toBeLessThanOrEqual(63)
      expect(name).toMatch(dns1123Label)
      expect(name.endsWith('-20261124t080000')).toBe(true)
    }
  })

  it('uses UTC', () => {
    expect(restoreName(new Date('2026-01-02T23:59:58.999Z'), '2.8.5', '2.8.4')).toBe(
      'rollback-2-8-5-to-2-8-4-20260102t235958'
    )
  })
})
