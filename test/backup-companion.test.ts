/** The backup companion's pure parts: inputs, names, the ResourceSet per line, the decision, the plan, the wait and the report. */
import { readFileSync } from 'node:fs'
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import { decideBackup } from '../src/backup/decide.js'
import type { BackupFacts, ExistingBackup } from '../src/backup/facts.js'
import { parseBackupList } from '../src/backup/facts.js'
import {
  attemptOf,
  backupLabels,
  backupName,
  REVISION_LABEL,
  runIdentity,
  VERSION_LABEL
} from '../src/backup/names.js'
import { backupManifest, buildBackupPlan } from '../src/backup/plan.js'
import {
  buildBackupOutputs,
  BACKUP_OUTPUT_NAMES,
  emptyBackupReport,
  renderBackupSummary
} from '../src/backup/report.js'
import { defaultResourceSet, installHint, operatorMajor } from '../src/backup/resource-set.js'
import {
  BACKUP_INPUT_DEFAULTS,
  getBackupSettings,
  type BackupSettings
} from '../src/backup/settings.js'
import { ERROR_GRACE_MS, filenameProblem, waitVerdict } from '../src/backup/steps.js'
import { InputError } from '../src/inputs/input-helper.js'
import { CLUSTER_UID, readyFacts } from './support/backup-facts.js'

type ActionYaml = {
  inputs: Record<string, { default?: string; description?: string }>
  outputs: Record<string, { description?: string }>
  runs: Record<string, string>
}
const companion = load(
  readFileSync(new URL('../backup/action.yml', import.meta.url), 'utf8')
) as ActionYaml
const main = load(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as ActionYaml

const defaults = Object.fromEntries(
  Object.entries(companion.inputs).map(([n, i]) => [n, String(i.default ?? '')])
)
const reader =
  (given: Record<string, string> = {}) =>
  (name: string): string =>
    ({ ...defaults, 's3-bucket-name': 'rancher-backups', ...given })[name] ?? ''

function settings(given: Record<string, string> = {}): BackupSettings {
  return getBackupSettings(reader(given))
}

function problems(given: Record<string, string>): string[] {
  try {
    getBackupSettings(reader(given))
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    return (e as InputError).problems
  }
  throw new Error('expected problems')
}

const UID = CLUSTER_UID
const OTHER_UID = '11111111-2222-3333-4444-555555555555'

describe('backup/action.yml and its inputs', () => {
  it('runs the companion bundle from its own directory, node24, with the post step', () => {
    expect(companion.runs).toEqual({
      using: 'node24',
      main: '../dist/backup/index.js',
      post: '../dist/post.js',
      'post-if': 'always()'
    })
  })

  it('BACKUP_INPUT_DEFAULTS equals backup/action.yml, and shared inputs keep the main defaults', () => {
    expect(BACKUP_INPUT_DEFAULTS).toEqual(defaults)
    for (const [name, value] of Object.entries(defaults)) {
      if (name in main.inputs && name !== 'timeout') {
        expect([name, String(main.inputs[name]?.default ?? '')]).toEqual([name, value])
      }
    }
  })

  it('outputs are the report’s', () => {
    expect(Object.keys(companion.outputs)).toEqual([...BACKUP_OUTPUT_NAMES])
  })

  it('reads valid inputs into settings', () => {
    const s = settings({ 's3-folder': '/prod/', 's3-region': 'eu-west-1', 'dry-run': 'true' })
    expect(s).toMatchObject({
      namespace: 'cattle-system',
      releaseName: 'rancher',
      resourceSetName: '',
      namePrefix: 'pre-upgrade',
      dryRun: true,
      timeoutMs: 15 * 60_000
    })
    expect(s.s3).toMatchObject({ folder: 'prod', endpoint: 's3.eu-west-1.amazonaws.com' })
  })

  it('refuses bad values with the main action’s rules, all at once', () => {
    const p = problems({
      's3-bucket-name': 'Bad_Bucket',
      's3-endpoint': 'http://minio.local:9000',
      'backup-name-prefix': 'Pre_Upgrade',
      'resource-set-name': 'a b',
      timeout: 'soon',
      'dry-run': 'yes',
      'helm-version': 'v2.17.0'
    })
    expect(p.map(m => /^Inputs? '([^']+)'/.exec(m)?.[1])).toEqual([
      's3-bucket-name',
      's3-endpoint',
      'resource-set-name',
      'backup-name-prefix',
      'helm-version',
      'dry-run',
      'timeout'
    ])
    expect(p.join('\n')).toContain('only over TLS')
  })

  it('a prefix longer than 40 characters is refused', () => {
    expect(problems({ 'backup-name-prefix': 'a'.repeat(41) })[0]).toMatch(/at most 40/)
  })

  it('control characters are refused escaped, secrets unseen', () => {
    const p = problems({ 'backup-name-prefix': 'a\n::warning::x', 's3-secret-key': 'x\x1by' })
    expect(p.join('\n')).toContain('"a\\n::warning::x"')
    expect(p.join('\n')).not.toContain('x\x1by')
  })
})

describe('names', () => {
  it('is <prefix>-<run id>-<attempt> in a workflow run, a timestamp outside one', () => {
    const now = new Date('2026-12-02T06:00:00Z')
    expect(backupName('pre-upgrade', { runId: '42', attempt: 3 }, now)).toBe('pre-upgrade-42-3')
    expect(backupName('pre-upgrade', { runId: '', attempt: 1 }, now)).toBe(
      'pre-upgrade-20261202t060000'
    )
    expect(runIdentity({ GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' })).toEqual({
      runId: '42',
      attempt: 2
    })
    expect(runIdentity({ GITHUB_RUN_ID: '4 2' })).toEqual({ runId: '', attempt: 1 })
  })

  it('tells this run’s attempts apart from other runs and prefixes', () => {
    const run = { runId: '42', attempt: 3 }
    expect(attemptOf('pre-upgrade-42-1', 'pre-upgrade', run)).toBe(1)
    expect(attemptOf('pre-upgrade-421-1', 'pre-upgrade', run)).toBeUndefined()
    expect(attemptOf('pre-upgrade-42-1-x', 'pre-upgrade', run)).toBeUndefined()
    expect(attemptOf('other-42-1', 'pre-upgrade', run)).toBeUndefined()
  })

  it('labels are label values', () => {
    expect(backupLabels('2.9.0-rc1+b', 7)).toMatchObject({
      [VERSION_LABEL]: '2.9.0-rc1-b',
      [REVISION_LABEL]: '7'
    })
  })
})

describe('the default ResourceSet of each chart line (backup-restore-operator charts)', () => {
  it.each([
    ['1.2.1', 1, 'rancher-resource-set'],
    ['2.1.2', 2, 'rancher-resource-set'],
    ['102.0.3+up3.1.3', 3, 'rancher-resource-set'],
    ['103.0.2+up4.0.2', 4, 'rancher-resource-set'],
    ['105.0.0+up6.0.0', 6, 'rancher-resource-set'],
    ['106.0.0+up7.0.0', 7, 'rancher-resource-set-basic'],
    ['107.0.1', 8, 'rancher-resource-set-basic'],
    ['110.0.1+up11.0.1', 11, 'rancher-resource-set-basic']
  ])('%s → v%i → %s', (chart, major, set) => {
    expect(operatorMajor(chart)).toBe(major)
    expect(defaultResourceSet(chart)).toBe(set)
  })

  it('unknown chart versions have no default', () => {
    expect(defaultResourceSet('')).toBeUndefined()
    expect(defaultResourceSet('50.0.0')).toBeUndefined()
  })

  it('says how to install the line of the running Rancher', () => {
    const hint = installHint('2.8.4')
    expect(hint).toContain(
      "helm upgrade --install rancher-backup-crd rancher-backup-crd --repo https://charts.rancher.io -n cattle-resources-system --create-namespace --version '>=103.0.0, <104.0.0'"
    )
    expect(hint.indexOf('--install rancher-backup-crd ')).toBeLessThan(
      hint.indexOf('--install rancher-backup rancher-backup ')
    )
    expect(hint).toContain('--install rancher-backup rancher-backup ')
    expect(installHint('2.4.17')).toMatch(/no rancher-backup chart line/)
  })
})

const facts = readyFacts

function existing(name: string, over: Partial<ExistingBackup> = {}): ExistingBackup {
  return {
    name,
    labels: backupLabels('2.8.4', 3),
    resourceSetName: 'rancher-resource-set',
    encryptionConfigSecretName: '',
    bucketName: 'rancher-backups',
    folder: '',
    endpoint: 's3.amazonaws.com',
    state: 'completed',
    message: 'Completed',
    conditions: [],
    filename: `${name}-${UID}-2026-12-02T06-00-00Z.tar.gz`,
    ...over
  }
}

const RUN = { runId: '42', attempt: 2 }
const s3settings = () => settings({ 's3-credential-secret-name': 's3-creds' })

describe('decideBackup', () => {
  const decide = (f: BackupFacts, s = s3settings()) => decideBackup(s, f, RUN, 'pre-upgrade-42-2')

  it('proceeds with the line’s default ResourceSet and its own name', () => {
    expect(decide(facts())).toMatchObject({
      kind: 'proceed',
      name: 'pre-upgrade-42-2',
      adopted: undefined,
      resourceSetName: 'rancher-resource-set',
      rancherVersion: '2.8.4',
      revision: 3
    })
  })

  it.each<[string, Partial<BackupFacts>, RegExp, RegExp]>([
    [
      'no release',
      { release: { exists: false, revision: 0, status: '', version: '' } },
      /no Helm release cattle-system\/rancher/,
      /release-name/
    ],
    [
      'a failed upgrade',
      { release: { exists: true, revision: 4, status: 'failed', version: '2.8.6' } },
      /is failed, not deployed/,
      /Finish or roll back/
    ],
    [
      'no operator',
      {
        operator: {
          releaseExists: false,
          chartVersion: '',
          backupCrdExists: false,
          deploymentReady: false
        }
      },
      /not installed: the Backup CRD/,
      /'>=103\.0\.0, <104\.0\.0'/
    ],
    [
      'an operator not ready',
      {
        operator: {
          releaseExists: true,
          chartVersion: '103.0.2+up4.0.2',
          backupCrdExists: true,
          deploymentReady: false
        }
      },
      /is not ready/,
      /kubectl -n cattle-resources-system get pods/
    ],
    [
      'no such ResourceSet',
      { resourceSets: ['rancher-resource-set-basic'] },
      /ResourceSet rancher-resource-set \(the default of rancher-backup chart 103\.0\.2\+up4\.0\.2\) does not exist; the cluster has rancher-resource-set-basic/,
      /resource-set-name/
    ],
    [
      'no credential Secret',
      { credentialSecretExists: false },
      /default\/s3-creds does not exist/,
      /create secret generic s3-creds/
    ],
    ['no S3 keys', { s3Keys: undefined }, /No S3 credentials/, /s3-access-key/]
  ])('refuses: %s', (_, over, reason, instead) => {
    const d = decide(facts(over))
    expect(d.kind).toBe('refuse')
    if (d.kind !== 'refuse') return
    expect(d.reason).toMatch(reason)
    expect(d.instead).toMatch(instead)
  })

  it('adopts the newest earlier attempt’s Backup of the same revision and inputs', () => {
    const d = decide(
      facts({
        backups: [
          existing('pre-upgrade-42-1', { state: 'pending', filename: '' }),
          existing('pre-upgrade-41-1'),
          existing('pre-upgrade-42-9')
        ]
      })
    )
    expect(d).toMatchObject({ kind: 'proceed', name: 'pre-upgrade-42-1' })
    if (d.kind === 'proceed') expect(d.adopted?.name).toBe('pre-upgrade-42-1')
  })

  it('takes a new one after the release moved on (an upgrade or rollback went through)', () => {
    const moved = existing('pre-upgrade-42-1', { labels: backupLabels('2.8.4', 2) })
    expect(decide(facts({ backups: [moved] }))).toMatchObject({
      name: 'pre-upgrade-42-2',
      adopted: undefined
    })
    const otherSet = existing('pre-upgrade-42-1', { resourceSetName: 'rancher-resource-set-full' })
    expect(decide(facts({ backups: [otherSet] }))).toMatchObject({ adopted: undefined })
  })

  it('refuses when its own name is taken by a different Backup', () => {
    const d = decide(
      facts({ backups: [existing('pre-upgrade-42-2', { labels: backupLabels('2.8.3', 1) })] })
    )
    expect(d).toMatchObject({ kind: 'refuse' })
  })
})

describe('plan and manifest', () => {
  const s = settings({
    's3-credential-secret-name': 's3-creds',
    's3-folder': 'prod',
    'encryption-config-secret-name': 'encryptionconfig'
  })
  const d = decideBackup(s, facts({ encryptionSecretExists: true }), RUN, 'pre-upgrade-42-2')
  if (d.kind !== 'proceed') throw new Error('expected proceed')

  it('a one-time Backup with the Restore’s S3 location and no keys', () => {
    const m = backupManifest(s, d)
    expect(m).toEqual({
      apiVersion: 'resources.cattle.io/v1',
      kind: 'Backup',
      metadata: { name: 'pre-upgrade-42-2', labels: backupLabels('2.8.4', 3) },
      spec: {
        resourceSetName: 'rancher-resource-set',
        encryptionConfigSecretName: 'encryptionconfig',
        storageLocation: {
          s3: {
            bucketName: 'rancher-backups',
            endpoint: 's3.amazonaws.com',
            folder: 'prod',
            credentialSecretName: 's3-creds',
            credentialSecretNamespace: 'default'
          }
        }
      }
    })
    expect(JSON.stringify(m)).not.toMatch(/schedule|AK|SK/)
  })

  it('lists create, the wait by watch, and the S3 proof; adopting creates nothing', () => {
    const plan = buildBackupPlan(s, d, UID)
    expect(plan.map(p => [p.id, p.mutating])).toEqual([
      ['create-backup', true],
      ['wait-backup', false],
      ['prove-upload', false]
    ])
    expect(plan[0]?.commands).toEqual([
      'POST /apis/resources.cattle.io/v1/backups?timeout=30s < (Backup pre-upgrade-42-2 (one-time, ResourceSet rancher-resource-set, encrypted))'
    ])
    expect(plan[1]?.commands[0]).toMatch(
      /^kubectl wait backups\.resources\.cattle\.io\/pre-upgrade-42-2 --for=condition=Ready=True --timeout=20s/
    )
    expect(plan[2]?.commands[0]).toBe(
      `S3 HEAD s3://rancher-backups/prod/pre-upgrade-42-2-${UID}-<time>.tar.gz.enc (https://s3.amazonaws.com)`
    )
    const adopted = buildBackupPlan(s, { ...d, adopted: existing('pre-upgrade-42-1') }, UID)
    expect(adopted.map(p => p.id)).toEqual(['wait-backup', 'prove-upload'])
  })
})

describe('the wait and the proof', () => {
  it('completes on Ready with a filename; gives up on an error only after the grace', () => {
    const b = existing('b')
    expect(waitVerdict(b, undefined, 0).verdict).toBe('completed')
    expect(waitVerdict({ ...b, filename: '' }, undefined, 0).verdict).toBe('waiting')
    const err = { ...b, state: 'error' as const, filename: '' }
    const first = waitVerdict(err, undefined, 1000)
    expect(first).toEqual({ verdict: 'waiting', errorSince: 1000 })
    expect(waitVerdict(err, 1000, 1000 + ERROR_GRACE_MS - 1).verdict).toBe('waiting')
    expect(waitVerdict(err, 1000, 1000 + ERROR_GRACE_MS).verdict).toBe('error')
    // An error that clears starts the grace again.
    expect(waitVerdict({ ...b, state: 'pending', filename: '' }, 1000, 99_999)).toEqual({
      verdict: 'waiting',
      errorSince: undefined
    })
  })

  it('the file must be this Backup’s, this cluster’s, and encrypted as configured', () => {
    const f = `pre-upgrade-42-2-${UID}-2026-12-02T06-00-00Z.tar.gz`
    expect(filenameProblem(f, 'pre-upgrade-42-2', UID, false)).toBeUndefined()
    expect(filenameProblem(f, 'pre-upgrade-42-2', UID.toUpperCase(), false)).toBeUndefined()
    expect(filenameProblem(f, 'pre-upgrade-42-1', UID, false)).toMatch(/not named like/)
    expect(filenameProblem(f, 'pre-upgrade-42-2', OTHER_UID, false)).toMatch(
      new RegExp(`carries kube-system UID ${UID}, not this cluster's ${OTHER_UID}`)
    )
    expect(filenameProblem(f, 'pre-upgrade-42-2', UID, true)).toMatch(/is not encrypted/)
    expect(filenameProblem(`${f}.enc`, 'pre-upgrade-42-2', UID, false)).toMatch(/is encrypted/)
  })

  it('reads a Backup list as the operator writes it', () => {
    const list = JSON.stringify({
      items: [
        {
          metadata: { name: 'b1', labels: { [REVISION_LABEL]: '3' } },
          spec: {
            resourceSetName: 'rancher-resource-set',
            storageLocation: { s3: { bucketName: 'x', endpoint: 'e', folder: 'f' } }
          },
          status: {
            conditions: [
              { type: 'Ready', status: 'True', message: 'Completed' },
              { type: 'Uploaded', status: 'True' }
            ],
            filename: 'b1-u-t.tar.gz'
          }
        },
        {
          metadata: { name: 'b2' },
          spec: {},
          status: {
            conditions: [
              { type: 'Reconciling', status: 'False', reason: 'Error', message: 'bucket gone' },
              { type: 'Ready', status: 'Unknown', message: 'Retrying' }
            ]
          }
        }
      ]
    })
    const [b1, b2] = parseBackupList(list)
    expect(b1).toMatchObject({ state: 'completed', filename: 'b1-u-t.tar.gz', folder: 'f' })
    expect(b2).toMatchObject({ state: 'error', message: 'bucket gone', filename: '' })
  })
})

describe('report', () => {
  it('outputs the file only once proven', () => {
    const r = { ...emptyBackupReport(), filename: 'f.tar.gz', backupName: 'b' }
    expect(buildBackupOutputs({ ...r, status: 'failed', rancherVersion: '2.8.6' })).toMatchObject({
      'backup-filename': '',
      'rancher-version': ''
    })
    expect(buildBackupOutputs({ ...r, status: 'succeeded', rancherVersion: '2.8.4' })).toEqual({
      'backup-filename': 'f.tar.gz',
      'backup-name': 'b',
      'rancher-version': '2.8.4',
      status: 'succeeded'
    })
  })

  it('escapes what it prints', () => {
    const summary = renderBackupSummary({
      ...emptyBackupReport(new Date('2026-12-02T06:00:00Z')),
      status: 'refused',
      error: 'bad <script> \x1b[31m|',
      nextStep: '::warning::x'
    })
    expect(summary).toContain('&lt;script&gt; \\x1b[31m')
    expect(summary).not.toContain('\x1b')
    expect(summary).not.toMatch(/^::/m)
    expect(summary).toMatch(/^## ⛔ Rancher backup refused/)
  })
})
