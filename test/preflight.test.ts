import { describe, expect, it } from 'vitest'
import type { ClusterFacts, HelmRevision, RestoreFacts } from '../src/facts/cluster-facts.js'
import type { ProceedDecision, Procedure } from '../src/decide/decide.js'
import { adoptableRestore, preflight, type PreflightResult } from '../src/decide/preflight.js'
import type { Settings } from '../src/inputs/settings.js'

function rev(revision: number, appVersion: string, status: string): HelmRevision {
  return {
    revision,
    updated: '2024-01-01T00:00:00Z',
    status,
    chart: `rancher-${appVersion}`,
    appVersion,
    description: ''
  }
}

function decision(procedure: Procedure, from = '2.8.4', to = '2.8.3'): ProceedDecision {
  return {
    kind: 'proceed',
    procedure,
    from,
    to,
    rule: procedure === 'cleanup-and-reinstall' ? 'C ≥ 2.7.7 and T < 2.7.7: …' : 'in-place rule',
    reasons: [],
    rollbackRevision: procedure === 'in-place' ? 1 : undefined
  }
}

const UID = 'b0450532-cee1-4aa1-a881-f5f48a007b1c'
/** A backup of this cluster: its name carries the kube-system UID. */
const named = (name: string, ext = '.tar.gz') => `${name}-${UID}-2024-01-01T00-00-00Z${ext}`

function facts(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    release: {
      exists: true,
      history: [rev(1, '2.8.3', 'superseded'), rev(2, '2.8.4', 'deployed')]
    },
    deployment: {
      exists: true,
      image: 'rancher/rancher:v2.8.4',
      imageVersion: '2.8.4',
      replicas: 3,
      readyReplicas: 3
    },
    backupOperator: {
      releaseExists: true,
      restoreCrdExists: true,
      deploymentReady: true
    },
    capi: {
      storedVersions: ['v1beta1'],
      storedVersionsByCrd: { 'clusters.cluster.x-k8s.io': ['v1beta1'] },
      provisioningNamespaceExists: true,
      provisioningReleaseExists: true,
      turtlesNamespaces: []
    },
    webhookReleaseExists: false,
    webhookChartVersion: '',
    restores: [],
    s3CredentialSecret: { namespace: 'default', name: 's3-creds', exists: true },
    encryptionSecret: undefined,
    backup: {
      checked: true,
      filename: named('nightly'),
      exists: true,
      note: 'found'
    },
    kubernetesVersion: 'v1.28.5',
    clusterUid: UID,
    rke1Clusters: [],
    interrupted: undefined,
    ...over
  }
}

function settings(over: Partial<Settings> = {}, s3: Partial<Settings['s3']> = {}): Settings {
  return {
    targetVersion: { kind: 'previous' },
    backup: { kind: 'file', filename: named('nightly') },
    s3: {
      bucketName: 'rancher-backups',
      folder: 'prod',
      region: 'us-west-2',
      endpoint: 's3.us-west-2.amazonaws.com',
      endpointCA: '',
      insecureTLSSkipVerify: false,
      credentialSecretName: 's3-creds',
      credentialSecretNamespace: 'default',
      accessKey: '',
      secretKey: '',
      ...s3
    },
    encryptionConfigSecretName: '',
    kubeconfig: '',
    context: '',
    namespace: 'cattle-system',
    releaseName: 'rancher',
    rancherChartRepo: 'https://releases.rancher.com/server-charts/stable',
    backupChartRepo: 'https://charts.rancher.io',
    backupChartVersion: '',
    helmVersion: 'latest',
    kubectlVersion: 'latest',
    helmMirror: '',
    kubectlMirror: '',
    dryRun: false,
    allowDowntime: true,
    allowOtherClusterBackup: false,
    keepRancherWebhook: false,
    prune: true,
    timeoutMs: 3_600_000,
    restoreTimeoutMs: 1_800_000,
    cleanupImage: 'rancher/rancher-cleanup:v1.0.3',
    ...over
  }
}

function restore(name: string, over: Partial<RestoreFacts> = {}): RestoreFacts {
  return {
    name,
    labels: {},
    backupFilename: 'x.tar.gz',
    conditions: [],
    completed: false,
    inProgress: true,
    ...over
  }
}

function refusal(r: PreflightResult): { reason: string; instead: string; warnings: string[] } {
  if (r.ok)
    throw new Error(`expected a refusal, got ok with warnings ${JSON.stringify(r.warnings)}`)
  return r
}

const procedures: Procedure[] = ['in-place', 'restore-only', 'cleanup-and-reinstall']

describe('preflight passes', () => {
  it.each(procedures)('%s with everything in place, no warnings', p => {
    expect(preflight(decision(p), facts(), settings())).toEqual({ ok: true, warnings: [] })
  })

  it('cleanup does not need the backup operator (it installs it)', () => {
    const f = facts({
      backupOperator: {
        releaseExists: false,
        restoreCrdExists: false,
        deploymentReady: false
      }
    })
    expect(preflight(decision('cleanup-and-reinstall'), f, settings()).ok).toBe(true)
  })

  it('a pending-upgrade release is fine (a rollback clears it)', () => {
    const f = facts({
      release: {
        exists: true,
        history: [rev(1, '2.8.3', 'deployed'), rev(2, '2.8.4', 'pending-upgrade')]
      }
    })
    expect(preflight(decision('in-place'), f, settings()).ok).toBe(true)
  })

  it('completed Restores do not block', () => {
    const f = facts({ restores: [restore('old', { completed: true, inProgress: false })] })
    expect(preflight(decision('in-place'), f, settings()).ok).toBe(true)
  })
})

describe('release state', () => {
  it('refuses a pending-install release that never deployed', () => {
    const f = facts({ release: { exists: true, history: [rev(1, '2.8.4', 'pending-install')] } })
    const r = refusal(preflight(decision('restore-only', '2.8.4', '2.8.4'), f, settings()))
    expect(r.reason).toContain('pending-install (revision 1)')
    expect(r.instead).toContain('helm uninstall rancher -n cattle-system')
  })
})

describe('backup operator (in-place, restore-only)', () => {
  it.each(['in-place', 'restore-only'] as Procedure[])(
    '%s refuses without the rancher-backup release, naming the chart line of C',
    p => {
      const f = facts({
        backupOperator: {
          releaseExists: false,
          restoreCrdExists: false,
          deploymentReady: false
        }
      })
      const r = refusal(
        preflight(decision(p, '2.8.4', p === 'restore-only' ? '2.8.4' : '2.8.3'), f, settings())
      )
      expect(r.reason).toContain('no Helm release rancher-backup in cattle-resources-system')
      expect(r.instead).toContain('rancher-backup-crd')
      expect(r.instead).toContain('https://charts.rancher.io')
      expect(r.instead).toContain("--version '>=103.0.0, <104.0.0'")
    }
  )

  it('refuses when the Restore CRD is missing', () => {
    const f = facts()
    f.backupOperator.restoreCrdExists = false
    const r = refusal(preflight(decision('in-place', '2.7.9', '2.7.8'), f, settings()))
    expect(r.reason).toContain('restores.resources.cattle.io is missing')
    expect(r.instead).toContain("--version '>=102.0.0, <103.0.0'")
  })

  it('refuses when the operator Deployment is not ready, pointing at its logs', () => {
    const f = facts()
    f.backupOperator.deploymentReady = false
    const r = refusal(preflight(decision('in-place'), f, settings()))
    expect(r.reason).toContain('Deployment rancher-backup in cattle-resources-system is not ready')
    expect(r.instead).toContain('logs -l app.kubernetes.io/name=rancher-backup')
  })

  it('uses backup-chart-version when given', () => {
    const f = facts()
    f.backupOperator.releaseExists = false
    const r = refusal(
      preflight(decision('in-place'), f, settings({ backupChartVersion: '103.0.2+up4.0.2' }))
    )
    expect(r.instead).toContain("--version '103.0.2+up4.0.2'")
  })
})

describe('unfinished Restore', () => {
  it.each(procedures)('%s refuses naming it, with its error', p => {
    const f = facts({
      restores: [
        restore('done', { completed: true, inProgress: false }),
        restore('restore-stuck', {
          conditions: [
            {
              type: 'Reconciling',
              status: 'False',
              reason: 'Error',
              message: 'error restoring CRDs, check logs for exact error',
              lastUpdateTime: ''
            }
          ]
        })
      ]
    })
    const r = refusal(preflight(decision(p), f, settings()))
    expect(r.reason).toContain('Restore restore-stuck has not completed')
    expect(r.reason).toContain('error restoring CRDs')
    expect(r.reason).not.toContain('done')
    expect(r.instead).toContain('kubectl delete restore restore-stuck')
    expect(r.instead).toContain('conditions')
  })
})

describe('backup file', () => {
  it.each(procedures)('%s refuses a backup that is not in S3, naming file and location', p => {
    const f = facts({
      backup: {
        checked: true,
        filename: named('gone'),
        exists: false,
        note: 'NoSuchKey'
      }
    })
    const r = refusal(
      preflight(decision(p), f, settings({ backup: { kind: 'file', filename: named('gone') } }))
    )
    expect(r.reason).toContain(named('gone'))
    expect(r.reason).toContain('s3://rancher-backups/prod/')
    expect(r.reason).toContain('NoSuchKey')
  })

  it('bucket root location has no folder', () => {
    const f = facts({
      backup: { checked: true, filename: named('gone'), exists: false, note: '' }
    })
    const r = refusal(preflight(decision('in-place'), f, settings({}, { folder: '' })))
    expect(r.reason).toContain('s3://rancher-backups/.')
  })

  it('refuses latest with no candidate, quoting the note', () => {
    const f = facts({
      backup: {
        checked: true,
        filename: '',
        exists: false,
        note: 'no backup older than the upgrade to 2.8.4'
      }
    })
    const r = refusal(preflight(decision('in-place'), f, settings({ backup: { kind: 'latest' } })))
    expect(r.reason).toContain('backup-filename: latest')
    expect(r.reason).toContain('no backup older than the upgrade to 2.8.4')
  })

  it('refuses latest when the bucket could not be listed', () => {
    const f = facts({
      backup: {
        checked: false,
        filename: '',
        exists: false,
        note: 'no S3 credentials'
      }
    })
    const r = refusal(preflight(decision('in-place'), f, settings({ backup: { kind: 'latest' } })))
    expect(r.reason).toContain('no S3 credentials')
    expect(r.instead).toContain('s3-access-key')
  })

  it.each(['in-place', 'restore-only'] as Procedure[])(
    '%s only warns when the backup cannot be checked',
    p => {
      const f = facts({
        backup: {
          checked: false,
          filename: named('nightly'),
          exists: false,
          note: ''
        }
      })
      const r = preflight(
        decision(p, '2.8.4', p === 'restore-only' ? '2.8.4' : '2.8.3'),
        f,
        settings()
      )
      expect(r.ok).toBe(true)
      expect(r.warnings).toHaveLength(1)
      expect(r.warnings[0]).toContain(`Cannot prove that backup ${named('nightly')} exists`)
    }
  )

  it('cleanup refuses when the backup cannot be proven to exist', () => {
    const f = facts({
      backup: {
        checked: false,
        filename: named('nightly'),
        exists: false,
        note: ''
      }
    })
    const r = refusal(preflight(decision('cleanup-and-reinstall'), f, settings()))
    expect(r.reason).toContain('cleanup deletes Rancher')
    expect(r.reason).toContain('proven to exist')
    expect(r.instead).toContain('s3-access-key and s3-secret-key')
    expect(r.instead).toContain('credential Secret')
  })
})

describe('prune', () => {
  it.each(['in-place', 'restore-only'] as Procedure[])(
    '%s refuses prune: false (a restore onto a running Rancher needs prune)',
    p => {
      const r = refusal(preflight(decision(p), facts(), settings({ prune: false })))
      expect(r.reason).toContain('prune: false restores onto a running Rancher')
      expect(r.reason).toContain('back-up-restore-usage-guide')
      expect(r.instead).toContain('prune: true')
    }
  )

  it('cleanup-and-reinstall does not care (it always restores with prune: false)', () => {
    const r = preflight(decision('cleanup-and-reinstall'), facts(), settings({ prune: false }))
    expect(r.ok).toBe(true)
  })
})

describe('the backup belongs to this cluster', () => {
  const other = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9'
  const theirs = `nightly-${other}-2024-01-01T00-00-00Z.tar.gz`
  const withFile = (filename: string) =>
    facts({ backup: { checked: true, filename, exists: true, note: '' } })

  it.each(['in-place', 'restore-only', 'cleanup-and-reinstall'] as Procedure[])(
    '%s refuses a backup of another cluster, naming both UIDs and the way out',
    p => {
      const r = refusal(preflight(decision(p), withFile(theirs), settings({ allowDowntime: true })))
      expect(r.reason).toContain(`taken on another cluster (kube-system UID ${other}`)
      expect(r.reason).toContain(`this cluster's is ${UID}`)
      expect(r.reason).toContain('migration')
      expect(r.instead).toContain('allow-other-cluster-backup: true')
    }
  )

  it('refuses a file whose name proves nothing', () => {
    const r = refusal(preflight(decision('in-place'), withFile('my-copy.tar.gz'), settings()))
    expect(r.reason).toContain('cannot be proven to be a backup of this cluster')
  })

  it('accepts either with allow-other-cluster-backup, and an upper-case UID of its own', () => {
    const s = settings({ allowOtherClusterBackup: true })
    expect(preflight(decision('in-place'), withFile(theirs), s).ok).toBe(true)
    expect(preflight(decision('in-place'), withFile('my-copy.tar.gz'), s).ok).toBe(true)
    const upper = `nightly-${UID.toUpperCase()}-2024-01-01T00-00-00Z.tar.gz`
    expect(preflight(decision('in-place'), withFile(upper), settings()).ok).toBe(true)
  })
})

describe('encryption', () => {
  const encFacts = (secretExists: boolean | undefined) =>
    facts({
      backup: { checked: true, filename: named('b', '.tar.gz.enc'), exists: true, note: '' },
      encryptionSecret:
        secretExists === undefined
          ? undefined
          : { namespace: 'cattle-resources-system', name: 'encryptionconfig', exists: secretExists }
    })

  it('refuses an encrypted backup without encryption-config-secret-name', () => {
    const r = refusal(preflight(decision('in-place'), encFacts(undefined), settings()))
    expect(r.reason).toContain(`${named('b', '.tar.gz.enc')} is encrypted`)
    expect(r.instead).toContain('encryption-config-secret-name')
  })

  it('refuses when the encryption Secret is missing', () => {
    const s = settings({ encryptionConfigSecretName: 'encryptionconfig' })
    const r = refusal(preflight(decision('cleanup-and-reinstall'), encFacts(false), s))
    expect(r.reason).toContain('cattle-resources-system/encryptionconfig does not exist')
    expect(r.reason).toContain('retry forever')
  })

  it('passes with the Secret present', () => {
    const s = settings({ encryptionConfigSecretName: 'encryptionconfig' })
    expect(preflight(decision('in-place'), encFacts(true), s)).toEqual({ ok: true, warnings: [] })
  })

  it('warns when a Secret is given for a plain backup', () => {
    const s = settings({ encryptionConfigSecretName: 'encryptionconfig' })
    const f = facts({
      encryptionSecret: {
        namespace: 'cattle-resources-system',
        name: 'encryptionconfig',
        exists: true
      }
    })
    const r = preflight(decision('in-place'), f, s)
    expect(r.ok).toBe(true)
    expect(r.warnings.join('\n')).toContain('not encrypted')
  })
})

describe('S3 credential Secret', () => {
  const missing = { namespace: 'default', name: 's3-creds', exists: false }

  it.each(procedures)('%s refuses when the Secret is missing and no keys are given', p => {
    const r = refusal(preflight(decision(p), facts({ s3CredentialSecret: missing }), settings()))
    expect(r.reason).toContain('default/s3-creds does not exist')
    expect(r.instead).toContain('s3-access-key')
  })

  it('is fine when the Secret is missing but keys are given (the plan creates it)', () => {
    const s = settings({}, { accessKey: 'AKIA', secretKey: 'secret' })
    expect(preflight(decision('in-place'), facts({ s3CredentialSecret: missing }), s).ok).toBe(true)
  })

  it('is fine without any credential Secret (IAM)', () => {
    const s = settings({}, { credentialSecretName: '', credentialSecretNamespace: '' })
    const f = facts({ s3CredentialSecret: { namespace: '', name: '', exists: false } })
    expect(preflight(decision('cleanup-and-reinstall'), f, s).ok).toBe(true)
  })
})

describe('cleanup-and-reinstall', () => {
  it('refuses without allow-downtime, saying what cleanup deletes', () => {
    const r = refusal(
      preflight(decision('cleanup-and-reinstall'), facts(), settings({ allowDowntime: false }))
    )
    expect(r.reason).toContain('rancher-cleanup deletes Rancher')
    expect(r.reason).toContain('cattle-system')
    expect(r.reason).toContain('p-*')
    expect(r.reason).toContain('C ≥ 2.7.7 and T < 2.7.7')
    expect(r.instead).toContain('allow-downtime: true')
  })

  it('allow-downtime does not matter for in-place', () => {
    expect(preflight(decision('in-place'), facts(), settings({ allowDowntime: false })).ok).toBe(
      true
    )
  })

  it.each(['cattle-resources-system', 'cattle-system', 'fleet-default', 'p-abcde'])(
    'refuses a credential Secret in %s (deleted by cleanup)',
    ns => {
      const s = settings({}, { credentialSecretNamespace: ns })
      const f = facts({ s3CredentialSecret: { namespace: ns, name: 's3-creds', exists: true } })
      const r = refusal(preflight(decision('cleanup-and-reinstall'), f, s))
      expect(r.reason).toContain(`${ns}/s3-creds`)
      expect(r.reason).toContain('rancher-cleanup deletes')
      expect(r.instead).toContain('default')
      // in-place does not run cleanup: fine there
      expect(preflight(decision('in-place'), f, s).ok).toBe(true)
    }
  )
})

describe('rancher-webhook', () => {
  it.each(['in-place', 'restore-only'] as const)(
    'warns for %s when the webhook is kept, naming BRO#844, and does not refuse',
    procedure => {
      const f = facts({ webhookReleaseExists: true, webhookChartVersion: '103.0.3+up0.4.4' })
      const r = preflight(decision(procedure), f, settings({ keepRancherWebhook: true }))
      expect(r.ok).toBe(true)
      expect(r.warnings).toHaveLength(1)
      expect(r.warnings[0]).toContain('rancher-webhook 103.0.3+up0.4.4')
      expect(r.warnings[0]).toContain('#844')
      expect(r.warnings[0]).toContain('without keep-rancher-webhook')
    }
  )

  it('no webhook warning by default: the plan removes it before the Restore', () => {
    const f = facts({ webhookReleaseExists: true })
    expect(preflight(decision('in-place'), f, settings()).warnings).toEqual([])
  })

  it('no webhook warning for cleanup (cleanup removes it)', () => {
    const f = facts({ webhookReleaseExists: true })
    expect(preflight(decision('cleanup-and-reinstall'), f, settings()).warnings).toEqual([])
  })
})

describe('order and warnings on refusal', () => {
  it('keeps earlier warnings on a later refusal', () => {
    const f = facts({
      backup: {
        checked: false,
        filename: named('nightly'),
        exists: false,
        note: ''
      },
      s3CredentialSecret: { namespace: 'default', name: 's3-creds', exists: false }
    })
    const r = refusal(preflight(decision('in-place'), f, settings()))
    expect(r.reason).toContain('s3-creds does not exist')
    expect(r.warnings[0]).toContain('Cannot prove')
  })

  it('release state comes before the operator and the backup', () => {
    const f = facts({
      release: { exists: true, history: [rev(1, '2.8.4', 'pending-install')] },
      restores: [restore('stuck')]
    })
    f.backupOperator.releaseExists = false
    expect(refusal(preflight(decision('in-place'), f, settings())).reason).toContain(
      'pending-install'
    )
  })
})

describe('an earlier run of this move left its Restore in flight', () => {
  const ours = (over: Partial<RestoreFacts> = {}, from = '2.8.4', to = '2.8.3') =>
    restore(`rollback-${from.replace(/\./g, '-')}-to-${to.replace(/\./g, '-')}-20261124t080000`, {
      backupFilename: named('nightly'),
      labels: {
        'app.kubernetes.io/managed-by': 'rancher-rollback',
        'rancher-rollback/from-version': from,
        'rancher-rollback/to-version': to
      },
      ...over
    })
  const retrying = {
    type: 'Reconciling',
    status: 'False',
    reason: 'Error',
    message: 'error restoring namespaced resources, check logs for exact error',
    lastUpdateTime: ''
  }

  it.each(['in-place', 'restore-only'] as Procedure[])('%s adopts it', p => {
    const f = facts({ restores: [ours()] })
    const d = decision(p, '2.8.4', p === 'restore-only' ? '2.8.4' : '2.8.3')
    const r = preflight(d, { ...f, restores: [ours({}, d.from, d.to)] }, settings())
    expect(r).toEqual({ ok: true, warnings: [] })
    expect(adoptableRestore(d, { ...f, restores: [ours({}, d.from, d.to)] })?.name).toMatch(
      /^rollback-/
    )
  })

  it('warns with its conditions when the operator reports an error, and still adopts it', () => {
    const f = facts({ restores: [ours({ conditions: [retrying] })] })
    const r = preflight(decision('in-place'), f, settings())
    expect(r.ok).toBe(true)
    expect(r.warnings.join(' ')).toMatch(
      /Restore rollback-2-8-4-to-2-8-3-20261124t080000.*Reconciling: error restoring namespaced resources.*restore-timeout/
    )
  })

  it.each([
    ['another move', ours({}, '2.8.5', '2.8.3')],
    ['another backup', ours({ backupFilename: named('weekly') })],
    ['not ours (no labels)', ours({ labels: {} })],
    ['not ours (another name)', ours({ name: 'my-restore' })]
  ])('refuses a Restore of %s as before', (_why, r) => {
    const out = refusal(preflight(decision('in-place'), facts({ restores: [r] }), settings()))
    expect(out.reason).toContain(`Restore ${r.name} has not completed`)
  })

  it('refuses when another unfinished Restore runs beside ours', () => {
    const f = facts({ restores: [ours(), restore('someone-else')] })
    const out = refusal(preflight(decision('in-place'), f, settings()))
    expect(out.reason).toContain('someone-else')
    expect(adoptableRestore(decision('in-place'), f)).toBeUndefined()
  })

  it('cleanup adopts it only when resuming after cleanup (the saved state, no release)', () => {
    const d = decision('cleanup-and-reinstall')
    const fresh = facts({ restores: [ours()] })
    expect(refusal(preflight(d, fresh, settings({ allowDowntime: true }))).reason).toContain(
      'has not completed'
    )
    const resumed = facts({
      restores: [ours()],
      release: { exists: false, history: [] },
      interrupted: {
        from: '2.8.4',
        to: '2.8.3',
        backupFilename: named('nightly'),
        release: 'rancher',
        namespace: 'cattle-system',
        savedAt: '2026-11-24T08:00:00Z',
        holder: 'run 41'
      }
    })
    expect(preflight(d, resumed, settings({ allowDowntime: true })).ok).toBe(true)
  })
})

describe('a release Helm left pending', () => {
  it('restore-only refuses a pending or half-rolled-back release: it makes no Helm change', () => {
    for (const newest of [
      { ...rev(3, '2.8.4', 'pending-upgrade'), description: 'Preparing upgrade' },
      { ...rev(3, '2.8.3', 'pending-rollback'), description: 'Rollback to 1' }
    ]) {
      const f = facts({
        release: {
          exists: true,
          history: [rev(1, '2.8.3', 'superseded'), rev(2, '2.8.4', 'deployed'), newest]
        }
      })
      const r = refusal(preflight(decision('restore-only', '2.8.4', '2.8.4'), f, settings()))
      expect(r.reason).toContain(`revision 3`)
      expect(r.instead).toContain('helm rollback rancher 2 -n cattle-system --wait')
    }
  })

  it("the cleanup resume accepts its own reinstall's pending-install (helm-install recovers it)", () => {
    const f = facts({
      release: { exists: true, history: [rev(1, '2.8.3', 'pending-install')] },
      interrupted: {
        from: '2.8.4',
        to: '2.8.3',
        backupFilename: named('nightly'),
        release: 'rancher',
        namespace: 'cattle-system',
        savedAt: '',
        holder: ''
      }
    })
    const d = decision('cleanup-and-reinstall')
    expect(preflight(d, f, settings({ allowDowntime: true })).ok).toBe(true)
    expect(refusal(preflight(d, { ...f, interrupted: undefined }, settings())).reason).toMatch(
      /pending-install/
    )
  })
})
