import { describe, expect, it } from 'vitest'
import { interpretRestore, parseRestoreList } from '../src/facts/restore-status.js'
import { deniedBy } from '../src/run/steps/restore.js'

const completed = {
  apiVersion: 'resources.cattle.io/v1',
  kind: 'Restore',
  metadata: {
    name: 'rollback-2-8-5-to-2-8-4-20261124t080000',
    creationTimestamp: '2026-11-24T08:00:05Z'
  },
  spec: { backupFilename: 'nightly-b8f2c0c4-2026-11-23T02-00-00Z.tar.gz', prune: true },
  status: {
    backupSource: '',
    conditions: [
      {
        lastUpdateTime: '2026-11-24T08:03:10Z',
        message: 'Completed',
        status: 'True',
        type: 'Ready'
      }
    ],
    observedGeneration: 1,
    restoreCompletionTs: '2026-11-24T08:03:10Z',
    summary: ''
  }
}

const failing = {
  apiVersion: 'resources.cattle.io/v1',
  kind: 'Restore',
  metadata: {
    name: 'rollback-2-6-4-to-2-6-3-20261124t080000',
    creationTimestamp: '2026-11-24T08:00:05Z',
    labels: {
      'app.kubernetes.io/managed-by': 'rancher-rollback',
      'rancher-rollback/from-version': '2.6.4',
      'rancher-rollback/to-version': '2.6.3'
    }
  },
  spec: { backupFilename: 'b.tar.gz' },
  status: {
    conditions: [
      {
        lastUpdateTime: '2026-11-24T08:01:00Z',
        message: 'error restoring CRDs, check logs for exact error',
        reason: 'Error',
        status: 'False',
        type: 'Reconciling'
      },
      {
        lastUpdateTime: '2026-11-24T08:01:00Z',
        message: 'Retrying',
        status: 'Unknown',
        type: 'Ready'
      }
    ],
    observedGeneration: 0,
    restoreCompletionTs: ''
  }
}

const fresh = {
  apiVersion: 'resources.cattle.io/v1',
  kind: 'Restore',
  metadata: { name: 'fresh', creationTimestamp: '2026-11-24T08:00:05Z' },
  spec: { backupFilename: 'c.tar.gz' }
}

describe('interpretRestore', () => {
  it('completed: Ready=True "Completed" with restoreCompletionTs', () => {
    const s = interpretRestore(completed)
    expect(s.state).toBe('completed')
    expect(s.message).toBe('Completed at 2026-11-24T08:03:10Z')
    expect(s.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: '',
        message: 'Completed',
        lastUpdateTime: '2026-11-24T08:03:10Z'
      }
    ])
  })

  it('completed when only one of the two signals is present', () => {
    expect(interpretRestore({ status: { conditions: completed.status.conditions } }).state).toBe(
      'completed'
    )
    expect(
      interpretRestore({ status: { restoreCompletionTs: '2026-11-24T08:03:10Z' } }).state
    ).toBe('completed')
  })

  it('error: Reconciling=False reason Error, message taken from it', () => {
    const s = interpretRestore(failing)
    expect(s.state).toBe('error')
    expect(s.message).toBe('error restoring CRDs, check logs for exact error')
    expect(s.conditions).toHaveLength(2)
  })

  it('error: a second Restore while one is in progress', () => {
    const s = interpretRestore({
      status: {
        conditions: [
          {
            type: 'Reconciling',
            status: 'False',
            reason: 'Error',
            message: 'restore rollback-a is in progress'
          }
        ]
      }
    })
    expect(s).toMatchObject({ state: 'error', message: 'restore rollback-a is in progress' })
  })

  it('error: Ready says Retrying', () => {
    expect(
      interpretRestore({
        status: { conditions: [{ type: 'Ready', status: 'False', message: 'Retrying' }] }
      })
    ).toMatchObject({
      state: 'error',
      message: 'the operator is retrying the restore'
    })
  })

  it('pending: no status yet (the operator writes nothing while working)', () => {
    const s = interpretRestore(fresh)
    expect(s.state).toBe('pending')
    expect(s.conditions).toEqual([])
    expect(s.message).toContain('in progress')
  })

  it('pending: Ready=True but not "Completed", or Reconciling without an error', () => {
    expect(
      interpretRestore({ status: { conditions: [{ type: 'Ready', status: 'True', message: '' }] } })
        .state
    ).toBe('pending')
    expect(
      interpretRestore({
        status: {
          conditions: [{ type: 'Reconciling', status: 'True', reason: '', message: 'working' }]
        }
      })
    ).toMatchObject({ state: 'pending', message: 'working' })
  })

  it('tolerates junk', () => {
    for (const junk of [
      undefined,
      null,
      42,
      'x',
      [],
      { status: 'x' },
      { status: { conditions: 'x' } }
    ]) {
      expect(interpretRestore(junk).state).toBe('pending')
    }
  })
})

describe('parseRestoreList', () => {
  it('parses kubectl get -o json List output', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [completed, failing, fresh],
      metadata: {}
    })
    expect(parseRestoreList(json)).toEqual([
      {
        name: 'rollback-2-8-5-to-2-8-4-20261124t080000',
        labels: {},
        backupFilename: 'nightly-b8f2c0c4-2026-11-23T02-00-00Z.tar.gz',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: '',
            message: 'Completed',
            lastUpdateTime: '2026-11-24T08:03:10Z'
          }
        ],
        completed: true,
        inProgress: false
      },
      {
        name: 'rollback-2-6-4-to-2-6-3-20261124t080000',
        labels: {
          'app.kubernetes.io/managed-by': 'rancher-rollback',
          'rancher-rollback/from-version': '2.6.4',
          'rancher-rollback/to-version': '2.6.3'
        },
        backupFilename: 'b.tar.gz',
        conditions: [
          {
            type: 'Reconciling',
            status: 'False',
            reason: 'Error',
            message: 'error restoring CRDs, check logs for exact error',
            lastUpdateTime: '2026-11-24T08:01:00Z'
          },
          {
            type: 'Ready',
            status: 'Unknown',
            reason: '',
            message: 'Retrying',
            lastUpdateTime: '2026-11-24T08:01:00Z'
          }
        ],
        completed: false,
        inProgress: true
      },
      {
        name: 'fresh',
        labels: {},
        backupFilename: 'c.tar.gz',
        conditions: [],
        completed: false,
        inProgress: true
      }
    ])
  })

  it('empty list and empty output mean no Restores', () => {
    expect(parseRestoreList('{"apiVersion":"v1","items":[],"kind":"List"}')).toEqual([])
    expect(parseRestoreList('')).toEqual([])
    expect(parseRestoreList('  \n')).toEqual([])
  })

  it('accepts a single Restore object', () => {
    expect(parseRestoreList(JSON.stringify(completed)).map(r => r.name)).toEqual([
      completed.metadata.name
    ])
  })

  it('throws on output that is not JSON (unknown must not read as "none")', () => {
    expect(() =>
      parseRestoreList('error: the server doesn\'t have a resource type "restores"')
    ).toThrow(/Restore list/)
  })
})

describe('deniedBy: the admission webhook named in an operator error', () => {
  it.each([
    [
      // backup-restore-operator#844's denial (rollback 2.13.0 → 2.12.3) in the operator's error format
      'Error restoring cluster-scoped resources [error restoring cattle-globalrole-user of type rbac.authorization.k8s.io/v1, Resource=clusterroles: restoreResource: err updating resource admission webhook "rancher.cattle.io.clusterroles.rbac.authorization.k8s.io" denied the request: cannot modify or remove label authz.management.cattle.io/gr-owner]',
      'rancher.cattle.io.clusterroles.rbac.authorization.k8s.io'
    ],
    [
      // rancher/rancher#51150, in a logrus field (quotes escaped)
      'err="admission webhook \\"rancher.cattle.io.clusters.management.cattle.io\\" denied the request: metadata.annotations: Invalid value"',
      'rancher.cattle.io.clusters.management.cattle.io'
    ],
    ['error restoring CRDs, check logs for exact error', undefined]
  ])('%s', (line, webhook) => {
    expect(deniedBy(['Retrying', line])).toBe(webhook)
  })
})
