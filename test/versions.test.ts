import { describe, expect, it } from 'vitest'
import {
  backupChartRange,
  normalizeVersion,
  parseVersion,
  releaseOf,
  toHelmVersionConstraint,
  kubeVersionAccepts
} from '../src/decide/versions.js'

describe('normalizeVersion', () => {
  it.each([
    ['v2.8.4', '2.8.4'],
    ['2.8.4', '2.8.4'],
    [' V2.9.0-rc1 ', '2.9.0-rc1'],
    ['', ''],
    ['vault', 'vault']
  ])('%j → %j', (input, expected) => {
    expect(normalizeVersion(input)).toBe(expected)
  })
})

describe('parseVersion / releaseOf', () => {
  it('parses with or without v, rejects non-semver', () => {
    expect(parseVersion('v2.8.4')?.version).toBe('2.8.4')
    expect(parseVersion('2.8')).toBeUndefined()
    expect(parseVersion('')).toBeUndefined()
    expect(parseVersion('2.6.4-rc1')).toBeDefined()
    expect(parseVersion('latest')).toBeUndefined()
  })
  it('releaseOf drops pre-release and build', () => {
    expect(releaseOf('2.6.4-rc1')).toBe('2.6.4')
    expect(releaseOf('v2.8.0+build.1')).toBe('2.8.0')
    expect(() => releaseOf('nope')).toThrow(/not a version/)
  })
})

describe('kubeVersionAccepts', () => {
  // Constraints from the Chart.yaml files of rancher/rancher (chart/, tags v2.6.3, v2.7.6, v2.8.4)
  // and rancher/backup-restore-operator (charts/rancher-backup/, tags v3.1.3, v6.0.0); cluster
  // versions as `kubectl version` prints gitVersion on upstream, K3s, RKE2 and EKS.
  it.each([
    ['< 1.23.0-0', 'v1.20.2', 'yes'],
    ['< 1.27.0-0', 'v1.27.4', 'no'],
    ['< 1.27.0-0', 'v1.26.9+rke2r1', 'yes'],
    ['< 1.29.0-0', 'v1.28.5-eks-5e0fdde', 'yes'],
    ['< 1.29.0-0', 'v1.29.0-eks-5e0fdde', 'no'],
    ['>= 1.23.0-0', 'v1.20.2', 'no'],
    ['>= 1.28.0-0', 'v1.28.1+k3s1', 'yes'],
    ['>= 1.16.0-0, < 1.25.0-0', 'v1.24.17', 'yes'],
    ['>= 1.16.0-0, < 1.25.0-0', 'v1.25.0', 'no'],
    ['< 1.23.0-0 || >= 1.30.0-0', 'v1.31.2', 'yes'],
    ['not a range', 'v1.20.2', 'unknown'],
    ['< 1.27.0-0', '', 'unknown']
  ] as const)('%j with %j: %s', (constraint, version, expected) => {
    expect(kubeVersionAccepts(constraint, version)).toBe(expected)
  })
})

describe('backupChartRange', () => {
  it.each([
    ['2.5.9', '>=1.0.0 <2.0.0'],
    ['v2.6.13', '>=2.0.0 <3.0.0'],
    ['2.7.0', '>=102.0.0 <103.0.0'],
    ['2.8.4', '>=103.0.0 <104.0.0'],
    ['2.9.0-rc1', '>=104.0.0 <105.0.0'],
    ['2.10.1', '>=105.0.0 <106.0.0'],
    ['2.13.2', '>=108.0.0 <109.0.0'],
    ['2.14.0', '>=109.0.0 <110.0.0'],
    ['2.15', '>=110.0.0 <111.0.0']
  ])('%s → %s', (rancher, range) => {
    expect(backupChartRange(rancher)).toBe(range)
  })
  it.each(['2.4.17', '1.6.30', '3.0.0', 'latest'])('throws for %s', v => {
    expect(() => backupChartRange(v)).toThrow()
  })
  it('renders as a helm constraint', () => {
    expect(toHelmVersionConstraint('>=103.0.0 <104.0.0')).toBe('>=103.0.0, <104.0.0')
  })
})
