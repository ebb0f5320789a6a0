/** The companion's steps against a scripted command layer and S3: create, wait by watch, prove. */
import { describe, expect, it } from 'vitest'
import { decideBackup } from '../src/backup/decide.js'
import { backupLabels } from '../src/backup/names.js'
import { buildBackupPlan } from '../src/backup/plan.js'
import { emptyBackupReport } from '../src/backup/report.js'
import { getBackupSettings } from '../src/backup/settings.js'
import { takeBackup } from '../src/backup/steps.js'
import type { S3Object } from '../src/facts/s3-client.js'
import { Budget } from '../src/run/budget.js'
import { StepFailure } from '../src/run/step.js'
import { CLUSTER_UID, readyFacts } from './support/backup-facts.js'
import { ScriptedRunner } from './support/scripted-runner.js'

const UID = CLUSTER_UID
const NAME = 'pre-upgrade-42-1'
const FILE = `${NAME}-${UID}-2026-12-02T06-00-00Z.tar.gz`

const settings = getBackupSettings(
  name =>
    ({
      's3-bucket-name': 'rancher-backups',
      's3-folder': 'prod',
      's3-credential-secret-name': 's3-creds'
    })[name] ?? ''
)

const facts = readyFacts()

function backupJson(status: Record<string, unknown>): string {
  return JSON.stringify({
    metadata: { name: NAME, labels: backupLabels('2.8.4', 3) },
    spec: { resourceSetName: 'rancher-resource-set' },
    status
  })
}

const COMPLETED = backupJson({
  conditions: [
    { type: 'Ready', status: 'True', message: 'Completed' },
    { type: 'Uploaded', status: 'True' }
  ],
  filename: FILE
})
const ERROR = backupJson({
  conditions: [
    {
      type: 'Reconciling',
      status: 'False',
      reason: 'Error',
      message: 'failed to check if s3 bucket [rancher-backups] exists'
    },
    { type: 'Ready', status: 'Unknown', message: 'Retrying' }
  ]
})

function setup(reads: string[], objects: Record<string, S3Object> = {}) {
  let clock = Date.parse('2026-12-02T06:00:00Z')
  const now = () => new Date(clock)
  const runner = new ScriptedRunner()
    .on(/^POST \S*\/backups\?/, {})
    // Each watch round lasts its whole limit when nothing happens.
    .on(/^kubectl wait /, c => {
      clock += c.timeoutMs - 30_000
      return { exitCode: 1, stderr: 'error: timed out waiting for the condition' }
    })
    .on(/^GET \S*\/backups\/pre-upgrade-42-1\?/, () => ({
      stdout: reads.length > 1 ? (reads.shift() ?? '') : (reads[0] ?? '')
    }))
    .on(/^kubectl logs /, {
      stdout: '\x1b[31mERRO\x1b[0m[2026/12/02 06:00:01] failed to check if s3 bucket exists\n'
    })
  const heads: string[] = []
  const s3 = {
    headObject: async (_t: unknown, key: string) => {
      heads.push(key)
      return objects[key]
    }
  }
  const decision = decideBackup(settings, facts, { runId: '42', attempt: 1 }, NAME)
  if (decision.kind !== 'proceed') throw new Error('expected proceed')
  const report = emptyBackupReport(now())
  report.plan = buildBackupPlan(settings, decision, UID)
  const ctx = {
    settings,
    decision,
    facts,
    runner,
    s3,
    budget: new Budget(clock + 10 * 60_000, () => clock),
    now,
    signal: new AbortController().signal,
    report
  }
  return { ctx, runner, heads, report }
}

describe('takeBackup', () => {
  it('creates, waits by watch until Ready, proves the object in S3', async () => {
    const { ctx, runner, heads, report } = setup(['{}', COMPLETED], {
      [`prod/${FILE}`]: { key: `prod/${FILE}`, lastModified: '2026-12-02T06:00:02Z', size: 1234 }
    })
    await takeBackup(ctx)
    expect(runner.lines()).toEqual([
      'POST /apis/resources.cattle.io/v1/backups?timeout=30s',
      `kubectl wait backups.resources.cattle.io/${NAME} --for=condition=Ready=True --timeout=20s`,
      `GET /apis/resources.cattle.io/v1/backups/${NAME}?timeout=30s`,
      `kubectl wait backups.resources.cattle.io/${NAME} --for=condition=Ready=True --timeout=20s`,
      `GET /apis/resources.cattle.io/v1/backups/${NAME}?timeout=30s`
    ])
    expect(heads).toEqual([`prod/${FILE}`])
    expect(report.filename).toBe(FILE)
    expect(report.object).toEqual({ size: 1234, lastModified: '2026-12-02T06:00:02Z' })
    expect(report.steps.map(s => [s.id, s.status])).toEqual([
      ['create-backup', 'succeeded'],
      ['wait-backup', 'succeeded'],
      ['prove-upload', 'succeeded']
    ])
  })

  it('an error the operator keeps reporting for a minute ends the wait, with its log', async () => {
    const { ctx, report } = setup([ERROR])
    const e = await takeBackup(ctx).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(StepFailure)
    expect((e as Error).message).toMatch(
      /did not complete: the operator reports an error and keeps retrying: failed to check if s3 bucket/
    )
    expect((e as StepFailure).nextStep).toMatch(/kubectl delete backups\.resources\.cattle\.io/)
    expect(report.operatorLog).toEqual([
      'ERRO[2026/12/02 06:00:01] failed to check if s3 bucket exists'
    ])
    // Rounds of 20 s: seen at 20 s, still there at 80 s.
    expect(report.steps.find(s => s.id === 'wait-backup')?.status).toBe('failed')
  })

  it('a Ready Backup whose file is not in S3 fails the proof', async () => {
    const { ctx } = setup([COMPLETED], {})
    await expect(takeBackup(ctx)).rejects.toThrow(/found no object/)
  })

  it('a file of another cluster fails the proof before S3 is asked', async () => {
    const other = COMPLETED.replace(UID, '11111111-2222-3333-4444-555555555555')
    const { ctx, heads } = setup([other], {})
    await expect(takeBackup(ctx)).rejects.toThrow(/carries kube-system UID 11111111/)
    expect(heads).toEqual([])
  })
})
