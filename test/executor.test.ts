/** The executor holds each step to its plan, and runs the steps that always run after a failure. */
import { describe, expect, it } from 'vitest'
import * as cmd from '../src/kube/commands.js'
import { emptyReport } from '../src/report/run-report.js'
import { Budget } from '../src/run/budget.js'
import { executeSteps, pendingRecords } from '../src/run/executor.js'
import { planStep } from '../src/run/plan.js'
import { CONFIGURED_LIMITS, defineStep, type PlanInput, type StepKind } from '../src/run/step.js'
import { ScriptedRunner } from './support/scripted-runner.js'

const input = {} as PlanInput

function context(runner: ScriptedRunner) {
  return {
    ...input,
    runner,
    holder: 'me',
    now: () => new Date(0),
    signal: new AbortController().signal,
    log: () => undefined,
    group: <T>(_: string, fn: () => Promise<T>) => fn(),
    report: emptyReport(new Date(0)),
    writePrivateFile: async () => undefined,
    readPrivateFile: async () => ''
  }
}

async function execute(steps: StepKind[], runner: ScriptedRunner) {
  const records = pendingRecords(
    steps.map(s => planStep(s, input, CONFIGURED_LIMITS).planned),
    'not-run'
  )
  const budget = new Budget(Date.now() + 3_600_000)
  const error = await executeSteps(steps, context(runner), budget, records).then(
    () => undefined,
    (e: Error) => e
  )
  return { records, error }
}

const reads = defineStep({
  id: 'verify',
  title: () => 'reads the lease',
  commands: () => ({ lease: cmd.getLease() }),
  run: async (ctx, c) => {
    await ctx.runner.run(c.lease)
    return 'read'
  }
})

const rogue = defineStep({
  id: 'restore',
  title: () => 'plans a read, runs a delete',
  commands: () => ({ lease: cmd.getLease() }),
  run: async ctx => {
    await ctx.runner.run(cmd.deleteObject('lease', 'rancher-rollback', 'kube-system'))
    return 'deleted'
  }
})

const always = defineStep({ ...reads, id: 'release-lock', always: true } as StepKind)

describe('executeSteps', () => {
  it('refuses a command its step did not plan, naming the step and the command, and runs nothing', async () => {
    const runner = new ScriptedRunner().on(/./, {})
    const { records, error } = await execute([rogue], runner)
    expect(error?.message).toMatch(
      /Step restore tried to run a command its plan does not list: kubectl delete lease rancher-rollback/
    )
    expect(runner.calls).toEqual([])
    expect(records[0]).toMatchObject({ status: 'failed' })
  })

  it('lets a step run what it planned, and records the planned commands', async () => {
    const runner = new ScriptedRunner().on(/./, {})
    const { records, error } = await execute([reads], runner)
    expect(error).toBeUndefined()
    expect(records[0]).toMatchObject({
      status: 'succeeded',
      detail: 'read',
      commands: [
        'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s'
      ]
    })
  })

  it('after a failure skips the rest but still runs the steps that always run, then rethrows', async () => {
    const runner = new ScriptedRunner().on(/./, {})
    const { records, error } = await execute([rogue, reads, always], runner)
    expect(error?.message).toMatch(/Step restore/)
    expect(records.map(r => r.status)).toEqual(['failed', 'not-run', 'succeeded'])
    expect(runner.calls).toHaveLength(1)
  })

  it('a stdin manifest filled in at run time still matches its planned command', async () => {
    const create = defineStep({
      id: 'lock',
      title: () => 'creates',
      commands: () => ({ create: cmd.createFromStdin('a Lease', '') }),
      run: async (ctx, c) => {
        await ctx.runner.run({ ...c.create, stdin: '{"kind":"Lease"}' })
        return 'created'
      }
    })
    const runner = new ScriptedRunner().on(/./, {})
    const { error } = await execute([create], runner)
    expect(error).toBeUndefined()
    expect(runner.calls[0]?.stdin).toBe('{"kind":"Lease"}')
  })
})
