import { describe, expect, it } from 'vitest'
import type { ClusterFacts, HelmRevision } from '../src/facts/cluster-facts.js'
import type { ProceedDecision, RefuseDecision } from '../src/decide/decide.js'
import { s3CredentialSecretManifest } from '../src/kube/manifests.js'
import { buildOutputs } from '../src/report/outputs.js'
import type { RunReport } from '../src/report/run-report.js'
import {
  capSummary,
  escapeHtml,
  formatDuration,
  renderSummary,
  ROLLBACK_DOCS_URL,
  SUMMARY_MAX_BYTES
} from '../src/report/summary.js'

const proceed: ProceedDecision = {
  kind: 'proceed',
  procedure: 'in-place',
  from: '2.8.5',
  to: '2.8.4',
  rule: 'otherwise, T >= 2.5.0: in-place',
  reasons: [
    'Helm history has revision 7 with app version 2.8.4.',
    'No CAPI evidence forces cleanup.'
  ],
  rollbackRevision: 7
}

const refuse: RefuseDecision = {
  kind: 'refuse',
  from: '2.8.5',
  to: '2.9.0',
  rule: 'T > C',
  reason: 'Target 2.9.0 is newer than the running 2.8.5: that is an upgrade, not a rollback.',
  instead:
    'Upgrade with helm upgrade rancher rancher-latest/rancher --version 2.9.0 -n cattle-system.'
}

const history = (n: number, appVersion = '2.8.5'): HelmRevision[] =>
  Array.from({ length: n }, (_, i) => ({
    revision: i + 1,
    updated: '2026-11-24 08:00:00.000000 +0000 UTC',
    status: i === n - 1 ? 'deployed' : 'superseded',
    chart: `rancher-${appVersion}`,
    appVersion,
    description: i === 0 ? 'Install complete' : 'Upgrade complete'
  }))

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    status: 'succeeded',
    decision: proceed,
    facts: undefined,
    plan: [
      {
        id: 'lock',
        title: 'Take the cluster lock',
        commands: ['kubectl get deploy rancher -n cattle-system'],
        mutating: false
      },
      {
        id: 'restore',
        title: 'Create Restore',
        commands: ['kubectl create -f - < (stdin)'],
        mutating: true
      },
      {
        id: 'helm-rollback',
        title: 'helm rollback',
        commands: ['helm rollback rancher 7 -n cattle-system --wait --timeout 600s'],
        mutating: true
      }
    ],
    steps: [
      {
        id: 'preflight',
        title: 'Preflight checks',
        status: 'succeeded',
        durationMs: 1234,
        detail: 'all checks passed',
        commands: []
      },
      {
        id: 'restore',
        title: 'Create Restore',
        status: 'succeeded',
        durationMs: 95_000,
        detail: 'Completed',
        commands: []
      },
      {
        id: 'helm-rollback',
        title: 'helm rollback',
        status: 'succeeded',
        durationMs: 61_500,
        detail: 'revision 9',
        commands: []
      }
    ],
    restoreName: 'rollback-2-8-5-to-2-8-4-20261124t080000',
    interruptions: [],
    restoreConditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: '',
        message: 'Completed',
        lastUpdateTime: '2026-11-24T08:03:00Z'
      }
    ],
    operatorLog: [],
    historyBefore: history(8),
    historyAfter: history(9),
    helmRevision: 9,
    valuesFile: '',
    followUps: [
      'Fleet agents may need a restart. See [rancher/rancher#49428](https://github.com/rancher/rancher/issues/49428).'
    ],
    error: '',
    nextStep: '',
    dryRun: false,
    startedAt: new Date('2026-11-24T08:00:00Z'),
    finishedAt: new Date('2026-11-24T08:04:12Z'),
    ...overrides
  }
}

describe('escapeHtml', () => {
  it('escapes & < > " and \'', () => {
    expect(escapeHtml(`<none> & "x" 'y'`)).toBe('&lt;none&gt; &amp; &quot;x&quot; &#39;y&#39;')
  })
  it('leaves other text alone', () => {
    expect(escapeHtml('rancher-2.8.4 → ok')).toBe('rancher-2.8.4 → ok')
  })
})

describe('formatDuration', () => {
  it.each([
    [850, '850 ms'],
    [1234, '1.2 s'],
    [61_500, '1m 02s'],
    [3_723_000, '1h 02m 03s'],
    [-1, '—']
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

describe('renderSummary headings', () => {
  it('succeeded', () => {
    const out = renderSummary(report())
    expect(out.split('\n')[0]).toBe('## ✅ Rancher rollback succeeded: 2.8.5 → 2.8.4')
  })

  it('failed, with the error and the next step', () => {
    const out = renderSummary(
      report({
        status: 'failed',
        error:
          'Restore did not complete within 900s: error restoring CRDs, check logs for exact error.',
        nextStep: 'Read the operator log, fix the cause, delete the Restore and re-run.'
      })
    )
    expect(out.split('\n')[0]).toBe('## ❌ Rancher rollback failed: 2.8.5 → 2.8.4')
    expect(out).toContain('**Error:** Restore did not complete within 900s: error restoring CRDs')
    expect(out).toContain('**Next step:** Read the operator log')
  })

  it('failed before any decision (bad inputs)', () => {
    const out = renderSummary(
      report({
        status: 'failed',
        decision: undefined,
        error: "input 'target-version' is not semver"
      })
    )
    expect(out.split('\n')[0]).toBe('## ❌ Rancher rollback failed')
    expect(out).toContain('**Error:** input &#39;target-version&#39; is not semver')
  })

  it('refused, with the reason and what to do instead', () => {
    const out = renderSummary(report({ status: 'refused', decision: refuse, steps: [], plan: [] }))
    expect(out.split('\n')[0]).toBe('## ⛔ Rancher rollback refused: 2.8.5 → 2.9.0')
    expect(out).toContain('**Refused:** Target 2.9.0 is newer than the running 2.8.5')
    expect(out).toContain(
      '**Do this instead:** Upgrade with helm upgrade rancher rancher-latest/rancher --version 2.9.0'
    )
    expect(out).toContain('**Rule:** T &gt; C')
  })

  it('refused by a preflight check after a proceed decision uses error and nextStep', () => {
    const out = renderSummary(
      report({
        status: 'refused',
        error: 'allow-downtime is required for cleanup-and-reinstall',
        nextStep: 'Set allow-downtime: true'
      })
    )
    expect(out).toContain('**Refused:** allow-downtime is required for cleanup-and-reinstall')
    expect(out).toContain('**Do this instead:** Set allow-downtime: true')
  })

  it('planned (dry run): plan open, dry-run note', () => {
    const out = renderSummary(
      report({
        status: 'planned',
        dryRun: true,
        steps: [],
        restoreName: '',
        restoreConditions: [],
        historyAfter: []
      })
    )
    expect(out.split('\n')[0]).toBe('## 📝 Rancher rollback planned (dry run): 2.8.5 → 2.8.4')
    expect(out).toContain('<details open><summary>Plan: 3 steps, 2 changing the cluster</summary>')
    expect(out).toContain('nothing in the cluster was changed')
  })

  it('unknown from version reads "unknown"', () => {
    const out = renderSummary(report({ status: 'refused', decision: { ...refuse, from: '' } }))
    expect(out.split('\n')[0]).toBe('## ⛔ Rancher rollback refused: unknown → 2.9.0')
  })
})

describe('renderSummary content', () => {
  it('shows the procedure, the rule and every reason', () => {
    const out = renderSummary(report())
    expect(out).toContain('**Procedure:** <code>in-place</code>')
    expect(out).toContain('(revision 7)')
    expect(out).toContain('**Why:** otherwise, T &gt;= 2.5.0: in-place')
    expect(out).toContain('- Helm history has revision 7 with app version 2.8.4.')
    expect(out).toContain('- No CAPI evidence forces cleanup.')
  })

  it('has a steps table with status and duration', () => {
    const out = renderSummary(report())
    expect(out).toContain('| Step | Status | Duration | Detail |')
    expect(out).toContain('| Create Restore | ✅ succeeded | 1m 35s | Completed |')
    expect(out).toContain('| Preflight checks | ✅ succeeded | 1.2 s | all checks passed |')
  })

  it('the plan is collapsed (not open) on a real run and lists commands in <pre>', () => {
    const out = renderSummary(report())
    expect(out).toContain('<details><summary>Plan: 3 steps, 2 changing the cluster</summary>')
    expect(out).toContain(
      '# 3. helm rollback (changes the cluster)\nhelm rollback rancher 7 -n cattle-system --wait --timeout 600s'
    )
    expect(out).toContain('kubectl create -f - &lt; (stdin)')
  })

  it('shows the Restore name and its conditions', () => {
    const out = renderSummary(report())
    expect(out).toContain('### Restore <code>rollback-2-8-5-to-2-8-4-20261124t080000</code>')
    expect(out).toContain('| Ready | True | — | Completed | 2026-11-24T08:03:00Z |')
  })

  it('records API server interruptions: where, which command, how it ended', () => {
    expect(renderSummary(report())).not.toContain('API server interruptions')
    const out = renderSummary(
      report({
        interruptions: [
          {
            during: 'Create Restore',
            command:
              'kubectl wait restores.resources.cattle.io/r --for=condition=Ready=True --timeout=600s',
            error:
              'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?',
            retries: 3,
            outageMs: 8_400,
            recovered: true
          },
          {
            during: 'reading the cluster',
            command: 'kubectl get <b>',
            error: 'connection refused',
            retries: 9,
            outageMs: 121_000,
            recovered: false
          },
          {
            during: 'Create Restore',
            command: 'kubectl get lease rancher-rollback',
            error: 'connection refused',
            retries: 0,
            outageMs: 1,
            recovered: false
          }
        ]
      })
    )
    expect(out).toContain('### API server interruptions')
    expect(out).toContain(
      '| Create Restore | <code>kubectl wait restores.resources.cattle.io/r --for=condition=Ready=True --timeout=600s</code> | The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port? | 3 | ✅ answered after 8.4 s |'
    )
    expect(out).toContain(
      '| reading the cluster | <code>kubectl get &lt;b&gt;</code> | connection refused | 9 | ❌ gave up after 2m 01s |'
    )
    expect(out).toContain(
      '| Create Restore | <code>kubectl get lease rancher-rollback</code> | connection refused | 0 | ⚠️ failed; not retried (lock renewals and helm upgrades never are) |'
    )
  })

  it('shows helm history before and after as tables', () => {
    const out = renderSummary(report())
    expect(out).toContain('Helm history before (8 revisions)')
    expect(out).toContain('Helm history after (9 revisions)')
    expect(out).toContain('| Revision | Status | Chart | App version | Updated | Description |')
    expect(out).toContain('| 9 | deployed | rancher-2.8.5 | 2.8.5 |')
  })

  it('lists follow-ups with their links intact and links the rollback docs', () => {
    const out = renderSummary(report())
    expect(out).toContain('### Follow-ups')
    expect(out).toContain(
      '[rancher/rancher#49428](https://github.com/rancher/rancher/issues/49428)'
    )
    expect(out).toContain(ROLLBACK_DOCS_URL)
  })

  it('puts the operator log in a details block with a code block', () => {
    const out = renderSummary(
      report({
        status: 'failed',
        operatorLog: ['ERRO[2026/11/24 08:01:00] error restoring CRDs <nil>', 'INFO retrying']
      })
    )
    expect(out).toContain('<details><summary>Backup operator log (last 2 lines)</summary>')
    expect(out).toContain(
      '<pre><code>ERRO[2026/11/24 08:01:00] error restoring CRDs &lt;nil&gt;\nINFO retrying</code></pre>'
    )
  })

  it('omits empty sections', () => {
    const out = renderSummary(
      report({
        steps: [],
        plan: [],
        restoreName: '',
        restoreConditions: [],
        historyBefore: [],
        historyAfter: [],
        followUps: []
      })
    )
    expect(out).not.toContain('### Steps')
    expect(out).not.toContain('### Restore')
    expect(out).not.toContain('Plan:')
    expect(out).not.toContain('### Helm history')
    expect(out).not.toContain('### Follow-ups')
  })

  it('shows the chosen backup and the saved values file', () => {
    const facts = {
      kubernetesVersion: 'v1.20.2',
      deployment: {
        exists: true,
        image: 'rancher/rancher:v2.8.5',
        imageVersion: '2.8.5',
        replicas: 3,
        readyReplicas: 0
      },
      backup: {
        checked: true,
        filename: 'nightly-<x>.tar.gz',
        exists: true,
        note: 'newest before the upgrade'
      }
    } as unknown as ClusterFacts
    const out = renderSummary(report({ facts, valuesFile: '/runner/temp/rancher-values.yaml' }))
    expect(out).toContain(
      '**Backup:** <code>nightly-&lt;x&gt;.tar.gz</code> (newest before the upgrade)'
    )
    expect(out).toContain(
      '**Before:** Kubernetes v1.20.2; deployment runs <code>rancher/rancher:v2.8.5</code> (0/3 ready)'
    )
    expect(out).toContain('**Saved Helm values:** <code>/runner/temp/rancher-values.yaml</code>')
  })
})

describe('renderSummary escaping', () => {
  it('escapes kubectl <none> in table cells and | in cells', () => {
    const out = renderSummary(
      report({
        restoreConditions: [
          {
            type: 'Reconciling',
            status: 'False',
            reason: '<none>',
            message: 'a | b & c',
            lastUpdateTime: ''
          }
        ],
        steps: [
          {
            id: 's',
            title: 'Step <x>',
            status: 'failed',
            durationMs: 10,
            detail: 'exit 1 | stderr: <none>',
            commands: []
          }
        ]
      })
    )
    expect(out).toContain('| Reconciling | False | &lt;none&gt; | a &#124; b &amp; c | — |')
    expect(out).toContain(
      '| Step &lt;x&gt; | ❌ failed | 10 ms | exit 1 &#124; stderr: &lt;none&gt; |'
    )
    expect(out).not.toContain('<none>')
    expect(out).not.toContain('<x>')
  })

  it('never lets a dynamic string open HTML or break out of a table row', () => {
    const evil = '<script>alert(1)</script>\n| injected | row |'
    const out = renderSummary(
      report({
        status: 'failed',
        error: evil,
        nextStep: evil,
        followUps: [evil],
        historyBefore: [
          {
            revision: 1,
            updated: evil,
            status: evil,
            chart: evil,
            appVersion: evil,
            description: evil
          }
        ],
        operatorLog: [evil],
        plan: [{ id: 'restore', title: evil, commands: [evil], mutating: true }]
      })
    )
    expect(out).not.toContain('<script>')
    expect(out).not.toMatch(/^\| injected/m)
  })

  it('turns `code spans` into <code> so escaped quotes inside them render', () => {
    const out = renderSummary(
      report({ followUps: ["check `kubectl get deploy -o jsonpath='{.spec}'` now"], error: 'x' })
    )
    expect(out).toContain(
      '- check <code>kubectl get deploy -o jsonpath=&#39;{.spec}&#39;</code> now'
    )
    expect(out).not.toMatch(/`[^`]*&#39;[^`]*`/)
  })

  it('escapes versions in the heading', () => {
    const out = renderSummary(report({ decision: { ...proceed, to: '2.8.4<b>' } }))
    expect(out.split('\n')[0]).toContain('2.8.4&lt;b&gt;')
  })
})

describe('renderSummary size', () => {
  it('truncates a huge log, keeping the last lines, and stays under 1 MiB', () => {
    const log = Array.from({ length: 200_000 }, (_, i) => `line ${i} <none> ${'x'.repeat(100)}`)
    const out = renderSummary(report({ status: 'failed', error: 'boom', operatorLog: log }))
    expect(Buffer.byteLength(out)).toBeLessThan(SUMMARY_MAX_BYTES)
    expect(Buffer.byteLength(out)).toBeLessThan(1024 * 1024)
    expect(out).toMatch(/… \d+ more lines omitted \(earlier lines\)/)
    expect(out).toContain('line 199999 &lt;none&gt;')
    expect(out).not.toContain('line 0 ')
  })

  it('truncates long plans and histories with a note', () => {
    const plan = [
      {
        id: 'verify' as const,
        title: 'many',
        commands: Array.from({ length: 5000 }, (_, i) => `kubectl get cm c${i}`),
        mutating: false
      }
    ]
    const out = renderSummary(report({ plan, historyBefore: history(500) }))
    expect(out).toMatch(/… \d+ more lines omitted/)
    expect(out).toMatch(/_… 450 more rows omitted \(oldest first\)_/)
    expect(out).toContain('| 500 | deployed |')
  })

  it('stays under the cap even when every field is enormous', () => {
    const big = `"<'&>|`.repeat(50_000)
    const many = Array.from({ length: 500 }, () => big)
    const out = renderSummary(
      report({
        status: 'failed',
        error: big,
        nextStep: big,
        decision: { ...proceed, rule: big, reasons: many },
        followUps: many,
        steps: many.map((s, i) => ({
          id: `s${i}`,
          title: s,
          status: 'failed' as const,
          durationMs: 1,
          detail: s,
          commands: []
        })),
        restoreConditions: many.map(s => ({
          type: s,
          status: s,
          reason: s,
          message: s,
          lastUpdateTime: s
        })),
        operatorLog: many,
        plan: many.map(s => ({
          id: 'restore' as const,
          title: s,
          commands: many,
          mutating: true
        })),
        historyBefore: many.map((s, i) => ({
          revision: i,
          updated: s,
          status: s,
          chart: s,
          appVersion: s,
          description: s
        })),
        historyAfter: many.map((s, i) => ({
          revision: i,
          updated: s,
          status: s,
          chart: s,
          appVersion: s,
          description: s
        }))
      })
    )
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES)
    expect(out.startsWith('## ❌ Rancher rollback failed')).toBe(true)
  })

  it('capSummary cuts at a line, closes open blocks and adds a note', () => {
    const text = `## heading\n\n<details><summary>log</summary>\n\n<pre><code>${'a line\n'.repeat(100_000)}</code></pre>\n\n</details>\n`
    const out = capSummary(text, 50_000)
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(50_000)
    expect(out).toContain('</code></pre>')
    expect(out).toContain('</details>')
    expect(out).toContain('summary truncated')
    expect(capSummary('short', 50_000)).toBe('short')
  })
})

describe('secrets', () => {
  it('neither the summary nor the outputs carry S3 keys, even with the Secret manifest built in the same run', () => {
    const accessKey = 'AKIAEXAMPLEACCESSKEY'
    const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    const secret = s3CredentialSecretManifest('rancher-backup-s3', 'default', accessKey, secretKey)
    expect(secret.stringData).toEqual({ accessKey, secretKey })
    const r = report({
      plan: [
        {
          id: 'create-s3-secret',
          title: 'Create the S3 credential Secret',
          commands: ['kubectl apply -f - < (stdin)'],
          mutating: true
        }
      ]
    })
    const everything = renderSummary(r) + JSON.stringify(buildOutputs(r))
    expect(everything).not.toContain(accessKey)
    expect(everything).not.toContain(secretKey)
    expect(everything).not.toContain('stringData')
  })
})
