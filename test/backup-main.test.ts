/**
 * The companion's shell (src/backup/main.ts) with a scripted cluster and S3: inputs from INPUT_*,
 * outputs and summary written in `finally`, whatever the end (succeeded, refused, cancelled).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { runBackup, type BackupEnvironment } from '../src/backup/main.js'
import { Cancellation } from '../src/run/cancellation.js'
import { parseFileCommands } from '../testbed/run-action.js'
import { ScriptedRunner } from './support/scripted-runner.js'

const UID = '6984797d-f889-4a6d-90a0-07ce08946501'
let dir: string
let files: { output: string; summary: string; state: string }

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rr-backup-main-'))
  files = {
    output: join(dir, 'output'),
    summary: join(dir, 'summary'),
    state: join(dir, 'state')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  vi.stubEnv('GITHUB_OUTPUT', files.output)
  vi.stubEnv('GITHUB_STEP_SUMMARY', files.summary)
  vi.stubEnv('GITHUB_STATE', files.state)
  vi.stubEnv('RUNNER_TEMP', dir)
  vi.stubEnv('INPUT_S3-BUCKET-NAME', 'rancher-backups')
  vi.stubEnv('INPUT_S3-CREDENTIAL-SECRET-NAME', 's3-creds')
  vi.stubEnv('INPUT_S3-ACCESS-KEY', 'AKIAEXAMPLE')
  vi.stubEnv('INPUT_S3-SECRET-KEY', 'secret-example-key')
  vi.stubEnv('INPUT_TIMEOUT', '10m')
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterEach(() => {
  vi.unstubAllEnvs()
  rmSync(dir, { recursive: true, force: true })
})

const names = (...n: string[]) => JSON.stringify({ items: n.map(name => ({ metadata: { name } })) })

function cluster(backupStatus: () => Record<string, unknown>): ScriptedRunner {
  const deployment = (replicas: number) =>
    JSON.stringify({
      metadata: { name: 'x' },
      spec: { replicas, template: { spec: { containers: [{ image: 'rancher/rancher:v2.8.4' }] } } },
      status: { readyReplicas: replicas, updatedReplicas: replicas }
    })
  return new ScriptedRunner()
    .on(/^GET \/api\/v1\/namespaces\/kube-system/, {
      stdout: JSON.stringify({ metadata: { name: 'kube-system', uid: UID } })
    })
    .on(/^helm history rancher/, {
      stdout: JSON.stringify([
        { revision: 1, status: 'deployed', chart: 'rancher-2.8.4', app_version: 'v2.8.4' }
      ])
    })
    .on(/^helm list -A/, {
      stdout: JSON.stringify([
        {
          name: 'rancher-backup',
          namespace: 'cattle-resources-system',
          status: 'deployed',
          chart: 'rancher-backup-103.0.2+up4.0.2',
          app_version: '4.0.2'
        }
      ])
    })
    .on(/\/deployments\//, { stdout: deployment(1) })
    .on(/customresourcedefinitions\/backups\.resources\.cattle\.io/, {
      stdout: '{"metadata":{"name":"backups.resources.cattle.io"}}'
    })
    .on(/^GET \S*\/resourcesets/, { stdout: names('rancher-resource-set') })
    .on(/^GET \S*\/backups\?/, { stdout: '{"items":[]}' })
    .on(/\/secrets\/s3-creds/, { stdout: '{"metadata":{"name":"s3-creds"}}' })
    .on(/^POST \S*\/backups\?/, {})
    .on(/^kubectl wait /, {})
    .on(/^GET \S*\/backups\/pre-upgrade-9-1\?/, () => ({
      stdout: JSON.stringify({ metadata: { name: 'pre-upgrade-9-1' }, status: backupStatus() })
    }))
}

function env(runner: ScriptedRunner, more: Partial<BackupEnvironment> = {}): BackupEnvironment {
  return {
    install: async () => ({ helmPath: '/bin/helm', kubectlPath: '/bin/kubectl' }),
    runner: () => runner,
    s3: {
      headObject: async (_t, key) => ({ key, size: 10, lastModified: '2026-12-02T06:00:01Z' })
    },
    now: () => new Date('2026-12-02T06:00:00Z'),
    env: { GITHUB_RUN_ID: '9', GITHUB_RUN_ATTEMPT: '1' },
    cancellation: new Cancellation(),
    ...more
  }
}

const outputs = () => parseFileCommands(readFileSync(files.output, 'utf8'))
const summary = () => readFileSync(files.summary, 'utf8')
const FILE = `pre-upgrade-9-1-${UID}-2026-12-02T06-00-00Z.tar.gz`
const completed = () => ({
  conditions: [{ type: 'Ready', status: 'True', message: 'Completed' }],
  filename: FILE
})

describe('runBackup', () => {
  it('takes the backup and writes the outputs and the summary', async () => {
    const runner = cluster(completed)
    const report = await runBackup(env(runner))
    expect(report.status).toBe('succeeded')
    expect(outputs()).toEqual({
      'backup-filename': FILE,
      'backup-name': 'pre-upgrade-9-1',
      'rancher-version': '2.8.4',
      status: 'succeeded'
    })
    expect(summary()).toContain(`<code>${FILE}</code>`)
    expect(runner.mutating()).toEqual(['POST /apis/resources.cattle.io/v1/backups?timeout=30s'])
    // The keys never reach argv, the summary or outputs.
    for (const line of [...runner.lines(), summary(), readFileSync(files.output, 'utf8')]) {
      expect(line).not.toContain('secret-example-key')
    }
  })

  it('a dry run runs no mutating command and says what it would create', async () => {
    vi.stubEnv('INPUT_DRY-RUN', 'true')
    const runner = cluster(completed)
    const report = await runBackup(env(runner))
    expect(report.status).toBe('planned')
    expect(runner.mutating()).toEqual([])
    expect(outputs()).toMatchObject({ status: 'planned', 'backup-filename': '' })
    expect(summary()).toContain('Plan: 3 steps, 1 changing the cluster')
  })

  it('refused: says why and what to do, nothing created', async () => {
    const runner = cluster(completed).on(/^GET \S*\/resourcesets/, { stdout: names() })
    const report = await runBackup(env(runner))
    expect(report.status).toBe('refused')
    expect(runner.mutating()).toEqual([])
    expect(outputs()).toMatchObject({ status: 'refused', 'rancher-version': '' })
    expect(summary()).toContain('**Refused:** ResourceSet rancher-resource-set')
  })

  it('cancelled in the wait: the Backup is left to the operator, a re-run adopts it', async () => {
    const cancellation = new Cancellation()
    const runner = cluster(() => ({})).on(/^kubectl wait /, () => {
      cancellation.cancel('SIGINT')
      return { exitCode: 1 }
    })
    const report = await runBackup(env(runner, { cancellation }))
    expect(report.status).toBe('cancelled')
    expect(report.error).toMatch(/Backup pre-upgrade-9-1 is left to the operator/)
    expect(outputs()).toMatchObject({ status: 'cancelled', 'backup-filename': '' })
    expect(summary()).toContain('**Re-run:**')
  })
})
