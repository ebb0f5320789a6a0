import { describe, expect, it } from 'vitest'
import {
  CLEANUP_DELETED_NAMESPACES,
  describeCleanupScope,
  isDeletedByCleanup
} from '../src/decide/cleanup-scope.js'

describe('isDeletedByCleanup', () => {
  it.each([
    'cattle-system',
    'cattle-resources-system',
    'cattle-provisioning-capi-system',
    'cattle-turtles-system',
    'cattle-capi-system',
    'cattle-impersonation-system',
    'fleet-default',
    'fleet-local',
    'fleet-system',
    'fleet-anything',
    'cattle-fleet-system',
    'cattle-fleet-local-system',
    'cattle-fleet-clusters-system',
    'cattle-fleet-other',
    'local',
    'cattle-global-data',
    'cattle-global-nt',
    'p-abcde',
    'c-m-xyz12',
    'u-b4qkhsnliz',
    'user-abcde',
    'cluster-fleet-default-c-abcde',
    'cattle-monitoring-system',
    'istio-system'
  ])('deletes %s', ns => {
    expect(isDeletedByCleanup(ns)).toBe(true)
  })

  it.each([
    'default',
    'kube-system',
    'cert-manager',
    'backups',
    'localhost',
    'cattle-secrets',
    'ingress-nginx',
    'project-a',
    'cattle',
    ''
  ])('keeps %j', ns => {
    expect(isDeletedByCleanup(ns)).toBe(false)
  })
})

describe('the list as data', () => {
  it('has a note for every pattern and renders one line', () => {
    for (const p of CLEANUP_DELETED_NAMESPACES) expect(p.note).not.toBe('')
    const line = describeCleanupScope()
    expect(line).toContain('cattle-system')
    expect(line).toContain('p-*')
    expect(line).toContain('cluster-fleet*')
    expect(CLEANUP_DELETED_NAMESPACES.map(p => p.pattern)).not.toContain('default')
  })
})
