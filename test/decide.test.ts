import { describe, expect, it } from 'vitest'
import type { CapiFacts, HelmRevision } from '../src/facts/cluster-facts.js'
import { parseHelmHistory } from '../src/facts/parsers.js'
import {
  decide,
  settledHistory,
  type Decision,
  type DecisionInput,
  type ProceedDecision,
  type RefuseDecision
} from '../src/decide/decide.js'
import { revisionVersion } from '../src/decide/versions.js'
import { restoreLabels } from '../src/kube/names.js'

function rev(
  revision: number,
  appVersion: string,
  status = 'superseded',
  chart?: string
): HelmRevision {
  return {
    revision,
    updated: `2024-01-0${(revision % 9) + 1}T00:00:00Z`,
    status,
    chart: chart ?? (appVersion === '' ? 'rancher' : `rancher-${appVersion}`),
    appVersion,
    description: status === 'deployed' ? 'Upgrade complete' : ''
  }
}

const noCapi: CapiFacts = {
  storedVersions: [],
  storedVersionsByCrd: {},
  provisioningNamespaceExists: false,
  provisioningReleaseExists: false,
  turtlesNamespaces: []
}

function input(
  history: HelmRevision[],
  target = 'previous',
  capi: Partial<CapiFacts> = {}
): DecisionInput {
  return {
    target: target === 'previous' ? { kind: 'previous' } : { kind: 'explicit', version: target },
    releaseExists: true,
    history,
    capi: {
      ...noCapi,
      // as gathered: the union, and per CRD (the tests' CAPI CRD is clusters unless they say)
      storedVersionsByCrd:
        capi.storedVersions && !capi.storedVersionsByCrd
          ? { 'clusters.cluster.x-k8s.io': capi.storedVersions }
          : {},
      ...capi
    }
  }
}

/** What `target-version: previous` resolves to, through decide(); undefined when nothing. */
function resolvePrevious(history: HelmRevision[]): string | undefined {
  const d = decide(
    history.length === 0 ? { ...input(history), releaseExists: false } : input(history)
  )
  return d.to === '' ? undefined : d.to
}

/** History where T (revision 1) was deployed before C (revision 2, deployed). */
function twoStep(current: string, target: string): HelmRevision[] {
  return target === current
    ? [rev(1, '2.5.0'), rev(2, current, 'deployed')]
    : [rev(1, target), rev(2, current, 'deployed')]
}

function proceed(d: Decision): ProceedDecision {
  if (d.kind !== 'proceed') throw new Error(`expected proceed, got refuse: ${d.rule}: ${d.reason}`)
  return d
}

function refused(d: Decision): RefuseDecision {
  if (d.kind !== 'refuse') throw new Error(`expected refuse, got ${d.procedure}: ${d.rule}`)
  return d
}

describe('decision table', () => {
  it.each([
    // C, T, procedure, rule fragment
    ['2.6.4', '2.6.3', 'cleanup-and-reinstall', 'C ≥ 2.6.4 and T < 2.6.4'],
    ['2.6.5', '2.6.4', 'in-place', 'no version boundary crossed'],
    ['2.6.3', '2.6.2', 'in-place', 'no version boundary crossed'],
    [
      '2.7.7',
      '2.7.6',
      'cleanup-and-reinstall',
      'C ≥ 2.7.7 and T < 2.7.7: v2.7.7 installs rancher-provisioning-capi'
    ],
    ['2.7.8', '2.7.7', 'in-place', 'Restore, then helm rollback'],
    ['2.7.6', '2.7.5', 'in-place', 'Restore, then helm rollback'],
    ['2.14.0', '2.13.3', 'cleanup-and-reinstall', 'C ≥ 2.14.0 and T < 2.14.0'],
    ['2.14.2', '2.13.0', 'cleanup-and-reinstall', 'C ≥ 2.14.0 and T < 2.14.0'],
    ['2.13.3', '2.13.2', 'in-place', 'no version boundary crossed'],
    ['2.14.1', '2.14.0', 'in-place', 'no version boundary crossed'],
    ['2.13.3', '2.8.4', 'in-place', 'no version boundary crossed'],
    ['2.6.0', '2.5.0', 'in-place', 'T ≥ 2.5.0'],
    ['2.5.8', '2.5.0', 'in-place', 'T ≥ 2.5.0'],
    ['2.8.4', '2.8.4', 'restore-only', 'T = C'],
    // pre-releases: C counts as its release, T strict
    ['2.6.4-rc1', '2.6.3', 'cleanup-and-reinstall', 'C ≥ 2.6.4 and T < 2.6.4'],
    ['2.6.5', '2.6.4-rc1', 'cleanup-and-reinstall', 'C ≥ 2.6.4 and T < 2.6.4'],
    ['2.8.0-rc1', '2.7.9', 'in-place', 'no version boundary crossed'],
    ['2.8.0-rc1', '2.7.6', 'cleanup-and-reinstall', 'C ≥ 2.7.7 and T < 2.7.7'],
    ['2.8.0', '2.8.0-rc1', 'in-place', 'no version boundary crossed'],
    ['2.8.0-rc2', '2.8.0-rc1', 'in-place', 'no version boundary crossed'],
    ['2.8.0-rc1', '2.8.0-rc1', 'restore-only', 'T = C']
  ])('C=%s T=%s → %s', (c, t, procedure, ruleFragment) => {
    const d = proceed(decide(input(twoStep(c, t), t)))
    expect(d.procedure).toBe(procedure)
    expect(d.rule).toContain(ruleFragment)
    expect(d.from).toBe(c)
    expect(d.to).toBe(t)
    expect(d.rollbackRevision).toBe(procedure === 'in-place' ? 1 : undefined)
  })

  it.each([
    [
      '2.8.4',
      '2.9.0',
      'T > C',
      /upgrade, not a rollback/,
      /helm upgrade rancher .* --version 2\.9\.0/
    ],
    ['2.8.0-rc1', '2.8.0', 'T > C', /newer than the current version 2\.8\.0-rc1/, /upgrade/],
    [
      '2.5.0',
      '2.4.17',
      'T in 2.2.x-2.4.x',
      /etcd snapshot/,
      /rke etcd snapshot-restore --config rancher-cluster\.yml --name <snapshot>/
    ],
    ['2.5.0', '2.2.0', 'T in 2.2.x-2.4.x', /etcd snapshot/, /archived_docs\/en\/version-2\.0-2\.4/],
    ['2.5.0', '2.5.0-rc1', 'T in 2.2.x-2.4.x', /etcd snapshot/, /rke etcd snapshot-restore/],
    ['2.5.0', '2.1.9', 'unsupported', /no longer supported/, /roll-back-to-v2\.0-v2\.1/],
    ['2.5.0', '2.0.0', 'unsupported', /v2\.0-v2\.1/, /v2\.2 or later/],
    ['2.5.0', '1.6.30', 'unsupported', /Rancher 1\.x/, /v2\.2 or later/]
  ])('C=%s T=%s → refuse (%s)', (c, t, ruleFragment, reason, instead) => {
    const d = refused(decide(input(twoStep(c, t), t)))
    expect(d.rule).toContain(ruleFragment)
    expect(d.reason).toMatch(reason)
    expect(d.instead).toMatch(instead)
    expect(d.from).toBe(c)
    expect(d.to).toBe(t)
  })

  it('accepts a leading v on the target', () => {
    const d = proceed(decide(input(twoStep('2.8.5', '2.8.4'), 'v2.8.4')))
    expect(d.to).toBe('2.8.4')
    expect(d.procedure).toBe('in-place')
  })

  it('refuses a target that is not a version', () => {
    const d = refused(decide(input(twoStep('2.8.5', '2.8.4'), 'two-eight')))
    expect(d.rule).toBe('invalid target version')
    expect(d.from).toBe('2.8.5')
  })

  it('names every boundary crossed, the first one as the rule', () => {
    const d = proceed(decide(input(twoStep('2.14.1', '2.6.3'), '2.6.3')))
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.rule).toMatch(/^C ≥ 2\.6\.4 and T < 2\.6\.4: v2\.6\.4 moved the cluster-api CRDs/)
    expect(d.reasons.join('\n')).toContain('Also crosses 2.7.7')
    expect(d.reasons.join('\n')).toContain('Also crosses 2.14.0')
  })

  it('says when a pre-release C counted as its release', () => {
    const d = proceed(decide(input(twoStep('2.6.4-rc1', '2.6.3'), '2.6.3')))
    expect(d.reasons.join('\n')).toContain('pre-release 2.6.4-rc1 counts as 2.6.4')
  })

  it('restore-only and cleanup need no helm revision of T', () => {
    const cleanup = proceed(decide(input([rev(1, '2.7.9'), rev(2, '2.8.0', 'deployed')], '2.7.6')))
    expect(cleanup.procedure).toBe('cleanup-and-reinstall')
    expect(cleanup.rollbackRevision).toBeUndefined()
    const restoreOnly = proceed(decide(input([rev(7, '2.8.0', 'deployed')], '2.8.0')))
    expect(restoreOnly.procedure).toBe('restore-only')
    expect(restoreOnly.rollbackRevision).toBeUndefined()
  })
})

describe('no release', () => {
  it('refuses when the release does not exist, pointing to the Docker procedure', () => {
    const d = refused(decide({ ...input([], '2.8.4'), releaseExists: false }))
    expect(d.rule).toBe('no Helm release')
    expect(d.from).toBe('')
    expect(d.to).toBe('2.8.4')
    expect(d.reason).toContain('no Helm release')
    expect(d.instead).toContain('rancher-data')
    expect(d.instead).toContain(
      'https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/other-installation-methods/rancher-on-a-single-node-with-docker/roll-back-docker-installed-rancher'
    )
    expect(d.instead).toMatch(/namespace, release-name/)
  })

  it('refuses an existing release with empty history', () => {
    const d = refused(decide(input([], 'previous')))
    expect(d.rule).toBe('no Helm release')
    expect(d.to).toBe('')
  })

  it('refuses when the newest revision has no version at all', () => {
    const d = refused(decide(input([rev(1, '2.8.0'), rev(2, '', 'failed', 'rancher')])))
    expect(d.rule).toBe('current version unknown')
  })
})

describe('target-version: previous', () => {
  it('takes the version before the deployed one', () => {
    const h = [rev(1, '2.7.5'), rev(2, '2.8.0', 'deployed')]
    expect(resolvePrevious(h)).toBe('2.7.5')
  })

  it('C is the newest revision even when it failed', () => {
    const h = [rev(1, '2.7.8', 'deployed'), rev(2, '2.8.0', 'failed')]
    expect(resolvePrevious(h)).toBe('2.7.8')
    const d = proceed(decide(input(h)))
    expect(d.from).toBe('2.8.0')
    expect(d.to).toBe('2.7.8')
    expect(d.procedure).toBe('in-place')
    expect(d.rollbackRevision).toBe(1)
    expect(d.reasons.join('\n')).toContain('newest revision 2 (failed)')
    expect(d.reasons.join('\n')).toContain('may already have changed the cluster')
  })

  it('C is the newest revision even when it is pending-upgrade', () => {
    const h = [rev(1, '2.7.8'), rev(2, '2.8.0', 'deployed'), rev(3, '2.8.1', 'pending-upgrade')]
    expect(resolvePrevious(h)).toBe('2.8.0')
    const d = proceed(decide(input(h)))
    expect(d.from).toBe('2.8.1')
    expect(d.to).toBe('2.8.0')
    expect(d.rollbackRevision).toBe(2)
  })

  it('skips repeated versions of C and picks the newest revision of T', () => {
    const h = [
      rev(1, '2.7.8'),
      rev(2, '2.8.1'),
      rev(3, '2.8.1'),
      rev(4, '2.8.2', 'failed'),
      rev(5, '2.8.2', 'pending-upgrade')
    ]
    expect(resolvePrevious(h)).toBe('2.8.1')
    const d = proceed(decide(input(h)))
    expect(d.from).toBe('2.8.2')
    expect(d.rollbackRevision).toBe(3)
    expect(d.reasons.join('\n')).toContain('revision 3')
  })

  it('does not depend on the order history is given in', () => {
    const h = [rev(3, '2.8.2', 'deployed'), rev(1, '2.7.9'), rev(2, '2.8.1')]
    expect(resolvePrevious(h)).toBe('2.8.1')
    expect(proceed(decide(input(h))).rollbackRevision).toBe(2)
  })

  it('skips revisions with no parseable version, and reads the chart name when app version is empty', () => {
    const h = [
      rev(1, '2.8.0'),
      rev(2, '', 'superseded', 'rancher'),
      rev(3, '', 'superseded', 'rancher-2.8.1'),
      rev(4, '2.8.2', 'deployed')
    ]
    expect(revisionVersion(h[1] as HelmRevision)).toBeUndefined()
    expect(revisionVersion(h[2] as HelmRevision)).toBe('2.8.1')
    expect(resolvePrevious(h)).toBe('2.8.1')
    expect(resolvePrevious([rev(1, '2.8.0'), rev(2, 'garbage'), rev(3, '2.8.2', 'deployed')])).toBe(
      '2.8.0'
    )
  })

  it('skips older revisions that never ran (failed, pending) and says so', () => {
    const h = [rev(1, '2.7.8'), rev(2, '2.8.0', 'failed'), rev(3, '2.8.1', 'failed')]
    expect(resolvePrevious(h)).toBe('2.7.8')
    const d = proceed(decide(input(h)))
    expect(d.to).toBe('2.7.8')
    expect(d.rollbackRevision).toBe(1)
    expect(d.reasons.join('\n')).toMatch(/Skipped revisions that never ran: 2 2\.8\.0 failed/)
  })

  it('refuses when history holds no earlier version', () => {
    const h = [rev(1, '2.8.0'), rev(2, '2.8.0', 'deployed')]
    expect(resolvePrevious(h)).toBeUndefined()
    expect(resolvePrevious([])).toBeUndefined()
    const d = refused(decide(input(h)))
    expect(d.rule).toBe('no previous version')
    expect(d.reason).toContain('no earlier Rancher version')
    expect(d.instead).toContain('target-version explicitly')
  })

  it('refuses when the previous version is newer (already rolled back)', () => {
    const h = [rev(1, '2.8.0'), rev(2, '2.9.0'), rev(3, '2.8.0', 'deployed')]
    expect(resolvePrevious(h)).toBe('2.9.0')
    const d = refused(decide(input(h)))
    expect(d.rule).toContain('T > C')
    expect(d.reason).toContain('already have been rolled back')
  })
})

describe('rollback revision (in-place)', () => {
  it('chooses the newest revision whose version is T', () => {
    const h = [rev(1, '2.8.1'), rev(2, '2.8.2'), rev(3, '2.8.1'), rev(4, '2.8.3', 'deployed')]
    expect(proceed(decide(input(h, '2.8.1'))).rollbackRevision).toBe(3)
    expect(proceed(decide(input(h, '2.8.2'))).rollbackRevision).toBe(2)
  })

  it('prefers a revision that ran over a newer failed one', () => {
    const h = [rev(1, '2.8.1'), rev(2, '2.8.1', 'failed'), rev(3, '2.8.3', 'deployed')]
    expect(proceed(decide(input(h, '2.8.1'))).rollbackRevision).toBe(1)
  })

  it('falls back to a failed revision of T and says so', () => {
    const h = [
      rev(1, '2.8.0'),
      rev(2, '2.8.1', 'failed'),
      rev(3, '2.8.1'),
      rev(4, '2.8.3', 'deployed')
    ]
    // revision 3 ran: chosen
    expect(proceed(decide(input(h, '2.8.1'))).rollbackRevision).toBe(3)
    const onlyFailed = [rev(1, '2.8.0'), rev(2, '2.8.2', 'failed'), rev(3, '2.8.3', 'deployed')]
    const d = proceed(decide(input(onlyFailed, '2.8.2')))
    expect(d.rollbackRevision).toBe(2)
    expect(d.reasons.join('\n')).toContain('No revision of 2.8.2 was ever deployed successfully')
  })

  it('refuses in-place when history holds no revision of T', () => {
    const h = [rev(11, '2.8.2'), rev(12, '2.8.3', 'deployed')]
    const d = refused(decide(input(h, '2.8.1')))
    expect(d.rule).toBe('in-place needs a Helm revision of T')
    expect(d.reason).toContain('helm rollback needs a revision whose app version is 2.8.1')
    expect(d.instead).toContain('--history-max')
    expect(d.instead).toContain('2.8.2 (revision 11)')
    expect(d.instead).not.toContain('2.8.3 (revision 12)')
  })
})

describe('cluster evidence makes it safer', () => {
  it('CAPI storing v1beta1 forces cleanup when T < 2.6.4', () => {
    const h = twoStep('2.6.3', '2.6.2')
    expect(proceed(decide(input(h, '2.6.2'))).procedure).toBe('in-place')
    const d = proceed(decide(input(h, '2.6.2', { storedVersions: ['v1alpha4', 'v1beta1'] })))
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.rule).toContain('cluster evidence')
    expect(d.rule).toContain('v1beta1')
    expect(d.rule).toContain('a failed upgrade may have migrated CRDs')
    expect(d.rollbackRevision).toBeUndefined()
    const reasons = d.reasons.join('\n')
    expect(reasons).toContain('status.storedVersions: [v1alpha4, v1beta1]')
    expect(reasons).toContain('Helm history alone chose in-place')
  })

  it('v1beta2 also counts as post-2.6.4 for T < 2.6.4', () => {
    const d = proceed(
      decide(input(twoStep('2.6.3', '2.6.2'), '2.6.2', { storedVersions: ['v1beta2'] }))
    )
    expect(d.procedure).toBe('cleanup-and-reinstall')
  })

  it('v1alpha4 only, or T ≥ 2.6.4, keeps in-place', () => {
    expect(
      proceed(decide(input(twoStep('2.6.3', '2.6.2'), '2.6.2', { storedVersions: ['v1alpha4'] })))
        .procedure
    ).toBe('in-place')
    expect(
      proceed(decide(input(twoStep('2.6.5', '2.6.4'), '2.6.4', { storedVersions: ['v1beta1'] })))
        .procedure
    ).toBe('in-place')
  })

  it('CAPI storing v1beta2 forces cleanup when T < 2.14.0', () => {
    const h = twoStep('2.13.3', '2.13.2')
    const d = proceed(decide(input(h, '2.13.2', { storedVersions: ['v1beta1', 'v1beta2'] })))
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.rule).toContain('T < 2.14.0')
    expect(d.rule).toContain('a failed upgrade may have migrated CRDs')
    expect(proceed(decide(input(h, '2.13.2', { storedVersions: ['v1beta1'] }))).procedure).toBe(
      'in-place'
    )
  })

  it.each([
    [{ provisioningNamespaceExists: true }, 'namespace cattle-provisioning-capi-system exists'],
    [{ provisioningReleaseExists: true }, 'Helm release rancher-provisioning-capi exists']
  ])('rancher-provisioning-capi (%j) forces cleanup when T < 2.7.7', (capi, fact) => {
    const h = twoStep('2.7.6', '2.7.5')
    const d = proceed(decide(input(h, '2.7.5', capi)))
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.rule).toContain('rancher-provisioning-capi')
    expect(d.rule).toContain('T < 2.7.7')
    expect(d.reasons.join('\n')).toContain(fact)
    // T ≥ 2.7.7: no effect
    expect(proceed(decide(input(twoStep('2.7.8', '2.7.7'), '2.7.7', capi))).procedure).toBe(
      'in-place'
    )
  })

  it('a v2.13+ world without cattle-provisioning-capi-system is not read as older than 2.7.7', () => {
    // Rancher 2.13+ deletes that namespace and runs Turtles: its absence says nothing.
    const turtles = { turtlesNamespaces: ['cattle-turtles-system', 'cattle-capi-system'] }
    const inPlace = proceed(decide(input(twoStep('2.13.3', '2.9.3'), '2.9.3', turtles)))
    expect(inPlace.procedure).toBe('in-place')
    expect(inPlace.reasons.join('\n')).not.toMatch(/2\.7\.7|provisioning/)
    const back = proceed(
      decide(
        input(twoStep('2.14.1', '2.13.3'), '2.13.3', { ...turtles, storedVersions: ['v1beta2'] })
      )
    )
    expect(back.rule).toMatch(/^C ≥ 2\.14\.0 and T < 2\.14\.0/)
    expect(back.reasons.join('\n')).not.toMatch(/2\.7\.7/)
  })

  it('the Turtles namespaces, like rancher-provisioning-capi, force cleanup when T < 2.7.7', () => {
    const d = proceed(
      decide(
        input(twoStep('2.7.6', '2.7.5'), '2.7.5', { turtlesNamespaces: ['cattle-capi-system'] })
      )
    )
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.rule).toContain('Rancher Turtles from v2.13.0')
    expect(d.reasons.join('\n')).toContain('namespace cattle-capi-system exists')
  })

  it('overrides restore-only too', () => {
    const d = proceed(
      decide(input(twoStep('2.7.5', '2.7.5'), '2.7.5', { provisioningReleaseExists: true }))
    )
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.reasons.join('\n')).toContain('Helm history alone chose restore-only')
  })

  it('agrees with a cleanup the table already chose', () => {
    const d = proceed(
      decide(input(twoStep('2.7.7', '2.7.6'), '2.7.6', { provisioningNamespaceExists: true }))
    )
    expect(d.procedure).toBe('cleanup-and-reinstall')
    expect(d.rule).toMatch(/^C ≥ 2\.7\.7 and T < 2\.7\.7/)
    expect(d.reasons.join('\n')).toContain('Cluster evidence agrees')
  })

  it('never turns a refusal into a procedure', () => {
    const d = refused(
      decide(
        input(twoStep('2.8.4', '2.9.0'), '2.9.0', {
          storedVersions: ['v1beta1'],
          provisioningReleaseExists: true
        })
      )
    )
    expect(d.rule).toContain('T > C')
  })
})

describe('a helm rollback that did not finish', () => {
  // `helm history rancher -n cattle-system -o json` from real Helm 3.17.2 on a testbed world
  // (npm run testbed -- --install 2.8.4 --upgrade-to 2.8.5): revision 3 after kill -9 during
  // `helm rollback rancher 1 --wait`; revision 8 after `helm rollback rancher 7 --wait --timeout 3s`
  // timed out (the `Release "…" failed` text is rollback.go's for a failed wait).
  const INSTALL =
    '{"revision":1,"updated":"2026-12-01T23:53:26.199888752Z","status":"superseded","chart":"rancher-2.8.4","app_version":"v2.8.4","description":"Install complete"}'
  const UPGRADE =
    '{"revision":2,"updated":"2026-12-01T23:53:34.640731968Z","status":"deployed","chart":"rancher-2.8.5","app_version":"v2.8.5","description":"Upgrade complete"}'
  const KILLED =
    '{"revision":3,"updated":"2026-12-01T23:54:12.484640681Z","status":"pending-rollback","chart":"rancher-2.8.4","app_version":"v2.8.4","description":"Rollback to 1"}'
  const WAIT_FAILED =
    '{"revision":3,"updated":"2026-12-01T23:54:38.864678752Z","status":"failed","chart":"rancher-2.8.4","app_version":"v2.8.4","description":"Release \\"rancher\\" failed: context deadline exceeded"}'
  const history = (...revs: string[]) => parseHelmHistory(`[${revs.join(',')}]`)

  it.each([
    ['killed (pending-rollback "Rollback to 1")', KILLED],
    ['failed waiting (failed "Release … failed")', WAIT_FAILED],
    [
      'failed applying (failed "Rollback … failed")',
      WAIT_FAILED.replace(
        'Release \\"rancher\\" failed: context deadline exceeded',
        'Rollback \\"rancher\\" failed: timed out'
      )
    ]
  ])('%s: C is the version before it, and in-place rolls back to T again', (_why, attempt) => {
    for (const target of ['previous', '2.8.4']) {
      const d = proceed(decide(input(history(INSTALL, UPGRADE, attempt), target)))
      expect(d).toMatchObject({ procedure: 'in-place', from: '2.8.5', to: '2.8.4' })
      expect(d.rollbackRevision).toBe(1)
      expect(d.reasons.join(' ')).toMatch(
        /Set aside, a helm rollback that did not finish: 3 2\.8\.4/
      )
    }
  })

  it('sees through several failed attempts (each re-run adds one)', () => {
    const again = WAIT_FAILED.replace('"revision":3', '"revision":4')
    const d = proceed(decide(input(history(INSTALL, UPGRADE, WAIT_FAILED, again))))
    expect(d).toMatchObject({ procedure: 'in-place', from: '2.8.5', to: '2.8.4' })
    expect(d.rollbackRevision).toBe(1)
  })

  it('a rollback that finished is the current version (restore-only from there)', () => {
    const done = KILLED.replace('pending-rollback', 'deployed')
    const d = proceed(decide(input(history(INSTALL, UPGRADE, done), '2.8.4')))
    expect(d).toMatchObject({ procedure: 'restore-only', from: '2.8.4' })
  })

  it('a failed upgrade or a failed first install is not a rollback', () => {
    const failedUpgrade = rev(3, '2.8.6', 'failed')
    failedUpgrade.description = 'Upgrade "rancher" failed: context deadline exceeded'
    expect(settledHistory([...history(INSTALL, UPGRADE), failedUpgrade]).attempts).toEqual([])
    const install = rev(1, '2.8.4', 'failed')
    install.description = 'Release "rancher" failed: context deadline exceeded'
    expect(settledHistory([install]).attempts).toEqual([])
    // a re-install over an uninstalled history writes the same text as a failed rollback wait
    const reinstall = { ...install, revision: 2 }
    expect(settledHistory([rev(1, '2.8.4', 'uninstalled'), reinstall]).attempts).toEqual([])
  })

  it('a pending-upgrade left by a killed upgrade stays C (helm rollback clears it)', () => {
    const pending =
      '{"revision":3,"updated":"2026-12-01T23:54:33.801238457Z","status":"pending-upgrade","chart":"rancher-2.8.6","app_version":"v2.8.6","description":"Preparing upgrade"}'
    const d = proceed(
      decide(input(history(INSTALL, UPGRADE.replace('deployed', 'superseded'), pending)))
    )
    expect(d).toMatchObject({ procedure: 'in-place', from: '2.8.6', to: '2.8.5' })
    expect(d.rollbackRevision).toBe(2)
  })
})

describe('resume: a rollback that went through but was not verified (cancelled or killed)', () => {
  const backup = 'nightly-b0450532-cee1-4aa1-a881-f5f48a007b1c-2026-11-23T02-00-00Z.tar.gz'
  // As `helm rollback rancher 1` leaves it: the new revision carries 2.8.4, "Rollback to 1".
  const history = [
    rev(1, 'v2.8.4'),
    rev(2, 'v2.8.5'),
    { ...rev(3, 'v2.8.4', 'deployed'), description: 'Rollback to 1' }
  ]
  const ours = {
    name: 'rollback-2-8-5-to-2-8-4-20261124t090000',
    labels: restoreLabels('2.8.5', '2.8.4'),
    completed: true,
    backupFilename: backup
  }
  const withRestores = (restores: (typeof ours)[], target = 'previous'): DecisionInput => ({
    ...input(history, target),
    restores,
    backupFilename: backup
  })

  it('target previous finishes the move 2.8.5 → 2.8.4 in place', () => {
    const d = proceed(decide(withRestores([ours])))
    expect(d).toMatchObject({
      procedure: 'in-place',
      from: '2.8.5',
      to: '2.8.4',
      rollbackRevision: 1
    })
    expect(d.rule).toMatch(/^resume: /)
  })

  it('sees through a helm rollback killed before the one that went through (kill -9, then a re-run rolled back again)', () => {
    // Helm's rollback.go supersedes only deployed revisions when a rollback succeeds: the killed
    // attempt stays pending-rollback (or failed) under the revision that went through.
    for (const status of ['pending-rollback', 'failed']) {
      const killed = { ...rev(3, 'v2.8.4', status), description: 'Rollback to 1' }
      const done = { ...rev(4, 'v2.8.4', 'deployed'), description: 'Rollback to 1' }
      const d = proceed(
        decide({
          ...withRestores([ours]),
          history: [rev(1, 'v2.8.4'), rev(2, 'v2.8.5'), killed, done]
        })
      )
      expect(d).toMatchObject({
        procedure: 'in-place',
        from: '2.8.5',
        to: '2.8.4',
        rollbackRevision: 1
      })
      expect(d.reasons.join(' ')).toContain('on top of revision 2 (2.8.5)')
    }
  })

  it('an explicit target 2.8.4 (= C) stays the table’s restore-only', () => {
    expect(proceed(decide(withRestores([ours], '2.8.4')))).toMatchObject({
      procedure: 'restore-only',
      from: '2.8.4'
    })
  })

  it.each([
    ['the Restore did not complete', [{ ...ours, completed: false }]],
    ['the Restore was of another backup', [{ ...ours, backupFilename: 'other.tar.gz' }]],
    ['the Restore was of another move', [{ ...ours, labels: restoreLabels('2.8.6', '2.8.4') }]],
    ['there is no Restore of this action', []]
  ])('not when %s (previous then points back up: refused)', (_why, restores) => {
    expect(decide(withRestores(restores)).kind).toBe('refuse')
  })
})

describe('resume: a cleanup-and-reinstall whose reinstall went through (killed before the end)', () => {
  const backup = 'nightly-b0450532-cee1-4aa1-a881-f5f48a007b1c-2026-11-23T02-00-00Z.tar.gz'
  // After rancher-cleanup deleted the release, `helm upgrade --install` starts history afresh.
  const reinstalledHistory = [{ ...rev(1, 'v2.6.3', 'deployed'), description: 'Install complete' }]
  const ours = {
    name: 'rollback-2-6-5-to-2-6-3-20261124t090000',
    labels: restoreLabels('2.6.5', '2.6.3'),
    completed: true,
    backupFilename: backup
  }
  const saved = {
    from: '2.6.5',
    to: '2.6.3',
    backupFilename: backup,
    release: 'rancher',
    namespace: 'cattle-system',
    savedAt: '2026-11-24T09:00:00Z',
    holder: 'https://github.com/acme/platform/actions/runs/7/attempts/1 job rollback (r:1)'
  }
  const at = (
    history: HelmRevision[],
    restores: (typeof ours)[],
    more: Partial<DecisionInput> = {},
    target = 'previous'
  ): DecisionInput => ({ ...input(history, target), restores, backupFilename: backup, ...more })

  it('killed after it deleted its saved state (before the lock release): previous verifies it', () => {
    const d = proceed(decide(at(reinstalledHistory, [ours])))
    expect(d).toMatchObject({
      procedure: 'cleanup-and-reinstall',
      from: '2.6.5',
      to: '2.6.3',
      reinstalled: true
    })
    expect(d.rule).toMatch(/^resume: /)
    expect(d.reasons.join(' ')).toContain('rollback-2-6-5-to-2-6-3-20261124t090000')
  })

  it('killed before it verified, saved state still there: verify, not rancher-cleanup again', () => {
    for (const target of ['previous', '2.6.3']) {
      const d = proceed(decide(at(reinstalledHistory, [ours], { interrupted: saved }, target)))
      expect(d).toMatchObject({ procedure: 'cleanup-and-reinstall', reinstalled: true })
    }
  })

  it.each([
    ['the Restore did not complete', reinstalledHistory, [{ ...ours, completed: false }]],
    ['the Restore was of another backup', reinstalledHistory, [{ ...ours, backupFilename: 'x' }]],
    [
      'the Restore was of another move',
      reinstalledHistory,
      [{ ...ours, labels: restoreLabels('2.6.5', '2.6.2') }]
    ],
    [
      'the reinstall is pending-install (killed helm install)',
      [{ ...rev(1, 'v2.6.3', 'pending-install'), description: 'Initial install underway' }],
      [ours]
    ],
    [
      'history still holds F (an in-place move)',
      [rev(1, 'v2.6.5'), { ...rev(2, 'v2.6.3', 'deployed'), description: 'Upgrade complete' }],
      [ours]
    ]
  ])('not when %s', (_why, history, restores) => {
    const noSaved = decide(at(history, restores))
    expect(noSaved.kind === 'proceed' && noSaved.reinstalled).toBeFalsy()
    const withSaved = decide(at(history, restores, { interrupted: saved }))
    expect(withSaved.kind === 'proceed' && withSaved.reinstalled).toBeFalsy()
  })

  it('an explicit target = C stays the table’s restore-only when nothing was saved', () => {
    expect(proceed(decide(at(reinstalledHistory, [ours], {}, '2.6.3')))).toMatchObject({
      procedure: 'restore-only'
    })
  })
})
