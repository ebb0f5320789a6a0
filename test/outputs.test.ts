import { describe, expect, it } from 'vitest'
import type { ProceedDecision, RefuseDecision } from '../src/decide/decide.js'
import { s3CredentialSecretManifest } from '../src/kube/manifests.js'
import { buildOutputs, OUTPUT_NAMES } from '../src/report/outputs.js'
import type { RunReport } from '../src/report/run-report.js'

const proceed: ProceedDecision = {
  kind: 'proceed',
  procedure: 'cleanup-and-reinstall',
  from: '2.7.7',
  to: '2.7.6',
  rule: 'C >= 2.7.7 and T < 2.7.7',
  reasons: [],
  rollbackRevision: undefined
}

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    status: 'succeeded',
    decision: proceed,
    facts: undefined,
    plan: [
      {
        id: 'cleanup',
        title: 'Run rancher-cleanup',
        commands: ['kubectl apply -f - < (stdin)'],
        mutating: true
      },
      { id: 'verify', title: 'Verify', commands: [], mutating: false }
    ],
    steps: [],
    restoreName: 'rollback-2-7-7-to-2-7-6-20261124t080000',
    interruptions: [],
    restoreConditions: [],
    operatorLog: [],
    historyBefore: [],
    historyAfter: [],
    helmRevision: 1,
    valuesFile: '/runner/temp/rancher-rollback/rancher-values.yaml',
    followUps: [],
    error: '',
    nextStep: '',
    dryRun: false,
    startedAt: new Date('2026-11-24T08:00:00Z'),
    finishedAt: undefined,
    ...overrides
  }
}

describe('buildOutputs', () => {
  it('fills every output of a finished run', () => {
    expect(buildOutputs(report())).toEqual({
      procedure: 'cleanup-and-reinstall',
      'from-version': '2.7.7',
      'to-version': '2.7.6',
      'helm-revision': '1',
      'restore-name': 'rollback-2-7-7-to-2-7-6-20261124t080000',
      status: 'succeeded',
      plan: JSON.stringify([
        {
          id: 'cleanup',
          title: 'Run rancher-cleanup',
          commands: ['kubectl apply -f - < (stdin)'],
          mutating: true
        },
        { id: 'verify', title: 'Verify', commands: [], mutating: false }
      ]),
      'values-file': '/runner/temp/rancher-rollback/rancher-values.yaml'
    })
  })

  it('always has exactly the documented keys', () => {
    expect(Object.keys(buildOutputs(report())).sort()).toEqual([...OUTPUT_NAMES].sort())
  })

  it('uses empty strings for what is unknown (failed on inputs)', () => {
    const out = buildOutputs(
      report({
        status: 'failed',
        decision: undefined,
        plan: [],
        restoreName: '',
        helmRevision: undefined,
        valuesFile: ''
      })
    )
    expect(out).toEqual({
      procedure: '',
      'from-version': '',
      'to-version': '',
      'helm-revision': '',
      'restore-name': '',
      status: 'failed',
      plan: '[]',
      'values-file': ''
    })
  })

  it('a refusal has versions but no procedure', () => {
    const refuse: RefuseDecision = {
      kind: 'refuse',
      from: '2.8.5',
      to: '2.9.0',
      rule: 'T > C',
      reason: 'r',
      instead: 'i'
    }
    const out = buildOutputs(
      report({ status: 'refused', decision: refuse, helmRevision: undefined })
    )
    expect(out.procedure).toBe('')
    expect(out['from-version']).toBe('2.8.5')
    expect(out['to-version']).toBe('2.9.0')
    expect(out.status).toBe('refused')
  })

  it('the plan output is parseable JSON with only id, title, commands, mutating', () => {
    const plan = JSON.parse(buildOutputs(report()).plan) as Array<Record<string, unknown>>
    expect(plan).toHaveLength(2)
    for (const step of plan)
      expect(Object.keys(step).sort()).toEqual(['commands', 'id', 'mutating', 'title'])
  })

  it('never carries the S3 credential Secret', () => {
    const secret = s3CredentialSecretManifest(
      's3-creds',
      'default',
      'AKIAEXAMPLE',
      'very-secret-key'
    )
    const out = JSON.stringify(buildOutputs(report()))
    expect(out).not.toContain(secret.stringData.accessKey)
    expect(out).not.toContain(secret.stringData.secretKey)
    expect(out).not.toContain('stringData')
  })
})
