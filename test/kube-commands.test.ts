import { describe, expect, it } from 'vitest'
import { describeCommand } from '../src/kube/command-runner.js'
import * as cmd from '../src/kube/commands.js'
import { Budget } from '../src/run/budget.js'

describe('command builders', () => {
  it('lists releases in every status with flags Helm 3 and Helm 4 both accept (Helm 4 has no --all)', () => {
    expect(cmd.helmListAll().args).not.toContain('-a')
    expect(cmd.helmListAll().args).not.toContain('--all')
    expect(cmd.helmListAll().args).toEqual(
      expect.arrayContaining(['--deployed', '--failed', '--pending'])
    )
  })
  it('spells --wait per helm major', () => {
    expect(cmd.helmWaitFlags(3, 90_500)).toEqual(['--wait', '--timeout', '91s'])
    expect(cmd.helmWaitFlags(4, 60_000)).toEqual(['--wait=watcher', '--timeout', '60s'])
  })
  it('never retries a helm upgrade or uninstall, and gives each more time than helm waits', () => {
    const chart: cmd.ChartInstall = {
      release: 'rancher',
      chart: 'rancher',
      namespace: 'cattle-system',
      repo: 'https://r',
      version: '2.8.4'
    }
    for (const c of [
      cmd.helmUninstall(3, 'rancher-webhook', 'cattle-system', 600_000),
      cmd.helmUpgradeInstall(3, chart, 600_000)
    ]) {
      expect(c).toMatchObject({ tool: 'helm', mutating: true, retry: 'never' })
      expect(c.timeoutMs).toBeGreaterThan(600_000)
    }
  })
  it('retries helm rollback only on transient errors (it may be repeated), with more time than helm waits', () => {
    const c = cmd.helmRollback(3, 'rancher', 'cattle-system', 4, 600_000)
    expect(c).toMatchObject({ tool: 'helm', mutating: true, retry: 'transient' })
    expect(c.timeoutMs).toBeGreaterThan(600_000)
    expect(describeCommand(c)).toBe(
      'helm rollback rancher 4 -n cattle-system --wait --timeout 600s'
    )
  })
  it('puts every read under a request timeout and marks it read-only', () => {
    for (const c of [
      cmd.getLease(),
      cmd.getDeployment('a', 'b'),
      cmd.listRestores(),
      cmd.secretExists('n', 's'),
      cmd.listNamespaceNames()
    ]) {
      expect(c.mutating).toBe(false)
      expect(c.args.join(' ')).toMatch(/--request-timeout=30s$|\?timeout=30s$/)
    }
  })
  it('reads secret data only with secretOutput, presence as metadata only', () => {
    expect(cmd.readSecret('n', 's').secretOutput).toBe(true)
    expect(cmd.readSecret('n', 's').metadataOnly).toBeFalsy()
    expect(cmd.secretExists('n', 's').metadataOnly).toBe(true)
  })
  it('sends manifests on stdin, never on argv', () => {
    const c = cmd.createFromStdin('Secret s', '{"kind":"Secret","stringData":{"secretKey":"x"}}')
    expect(c.args.join(' ')).not.toContain('secretKey')
    expect(describeCommand(c)).toBe('kubectl create -f - --request-timeout=30s < (Secret s)')
  })
  it('installs pre-releases with --devel and values from a file', () => {
    const c = cmd.helmUpgradeInstall(
      4,
      {
        release: 'rancher',
        namespace: 'cattle-system',
        chart: 'rancher',
        repo: 'https://r',
        version: '2.9.0-rc1',
        valuesFile: '/tmp/v.yaml',
        devel: true
      },
      60_000
    )
    expect(c.args).toEqual(
      expect.arrayContaining([
        '-f',
        '/tmp/v.yaml',
        '--devel',
        '--wait=watcher',
        '--create-namespace'
      ])
    )
  })
})

describe('Budget', () => {
  it('caps a step at what is left of the run, and stops once it is spent', () => {
    let now = 0
    const b = new Budget(10_000, () => now)
    expect(b.limit(60_000, 'x')).toBe(10_000)
    now = 9_500
    expect(() => b.limit(1000, 'the Restore finished')).toThrow(
      /timeout.*before the Restore finished/
    )
  })
})

describe('operator log lines', () => {
  it('lose the ANSI colour codes the operator writes, and blank lines', async () => {
    const { operatorLogLines } = await import('../src/run/steps/restore.js')
    const text =
      '\x1b[36mINFO\x1b[0m[2026/11/24 09:00:00] Processing Restore CR r1\n\n\x1b[31mERRO\x1b[0m[2026/11/24 09:00:01] Error restoring CRDs\n'
    expect(operatorLogLines(text)).toEqual([
      'INFO[2026/11/24 09:00:00] Processing Restore CR r1',
      'ERRO[2026/11/24 09:00:01] Error restoring CRDs'
    ])
  })
})

describe("API requests (through the run's kubectl proxy)", () => {
  it.each([
    [cmd.kubeServerVersion(), 'GET /version?timeout=30s'],
    [
      cmd.getDeployment('cattle-system', 'rancher'),
      'GET /apis/apps/v1/namespaces/cattle-system/deployments/rancher?timeout=30s'
    ],
    [
      cmd.listCrdStoredVersions(),
      'GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions?timeout=30s'
    ],
    [cmd.clusterUid(), 'GET /api/v1/namespaces/kube-system?timeout=30s (metadata only)'],
    [cmd.listManagementClusters(), 'GET /apis/management.cattle.io/v3/clusters?timeout=30s'],
    [
      cmd.secretExists('default', 's3-creds'),
      'GET /api/v1/namespaces/default/secrets/s3-creds?timeout=30s (metadata only)'
    ],
    [
      cmd.readSaved(),
      'GET /api/v1/namespaces/kube-system/secrets/rancher-rollback-saved?timeout=30s'
    ],
    [cmd.getRestore('r-1'), 'GET /apis/resources.cattle.io/v1/restores/r-1?timeout=30s'],
    [
      cmd.getLeaseForRenewal(),
      'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=10s'
    ],
    [
      cmd.deleteLease(),
      'DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
    ]
  ])('%o is %s', (c, described) => {
    expect(c.tool).toBe('api')
    expect(describeCommand(c)).toBe(described)
    // The request's own limit and the server's (`?timeout=`) agree.
    expect(c.args[1]).toContain(`?timeout=${c.timeoutMs / 1000}s`)
  })

  it('never carries a Secret where it could be printed: reads of one are secret output', () => {
    expect(cmd.secretExists('default', 's3-creds').secretOutput).toBe(true)
    expect(cmd.readSecret('default', 's3-creds').secretOutput).toBe(true)
  })

  it('marks writes as mutating, so a dry run refuses them', () => {
    expect(cmd.createLease('x').mutating).toBe(true)
    expect(cmd.replaceLease('x').mutating).toBe(true)
    expect(cmd.deleteLease().mutating).toBe(true)
    expect(cmd.createRestore('x', '{}').mutating).toBe(true)
    expect(cmd.getLease().mutating).toBe(false)
  })
})

describe('operator log lines of a retrying Restore', () => {
  it('keep the error that explains the retry when a later pass pushed it out of the tail', async () => {
    const { operatorLogLines } = await import('../src/run/steps/restore.js')
    const pod = '[pod/rancher-backup-58c7567b87-kr6pz/rancher-backup] '
    const denial =
      'Error restoring cluster-scoped resources [restoreResource: err updating resource admission webhook "rancher.cattle.io.clusterroles.rbac.authorization.k8s.io" denied the request: cannot modify or remove label authz.management.cattle.io/gr-owner]'
    const pass = (minute: number) => [
      `${pod}INFO[2026/12/01 23:${minute}:05] Processing Restore CR r1`,
      `${pod}ERRO[2026/12/01 23:${minute}:06] ${denial}`,
      ...Array.from({ length: 50 }, (_, i) => `${pod}INFO[2026/12/01 23:${minute}:07] line ${i}`)
    ]
    const lines = operatorLogLines([...pass(36), ...pass(37)].join('\n'))
    // The same error from two passes is shown once, the newest, before the tail.
    expect(lines[0]).toBe(`${pod}ERRO[2026/12/01 23:37:06] ${denial}`)
    expect(lines[1]).toBe('…')
    expect(lines.slice(2)).toHaveLength(40)
    expect(lines.at(-1)).toContain('line 49')
    expect(operatorLogLines(pass(36).slice(0, 10).join('\n'))).toHaveLength(10)
  })
})
