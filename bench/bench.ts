/**
 * npm run bench [-- pairs]: the action against bench/minimal.sh, the same in-place rollback
 * 2.8.5 → 2.8.4 typed by hand, each on a fresh testbed world, alternating which goes first in a
 * pair, the tool cache warm. Prints every run, the medians, their ratio and the action's phases
 * (from the time each of its log lines arrived). A benchmark, not a test: nothing fails on numbers.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { prepare } from '../testbed/prepare.js'
import { paths } from '../testbed/paths.js'
import { REPO_ROOT, runAction, type ActionRun } from '../testbed/run-action.js'
import { startWorld, type World } from '../testbed/scenario.js'
import { image } from '../test/e2e/support.js'

const pairs = Math.max(1, Number(process.argv[2] ?? 3))
const toolCache = mkdtempSync(join(tmpdir(), 'rr-bench-tools-'))
process.on('exit', () => rmSync(toolCache, { recursive: true, force: true }))
const say = (line: string) => process.stderr.write(`${line}\n`)

const fresh = () => startWorld({ install: '2.8.4', upgradeTo: ['2.8.5'] })

async function expectRolledBack(w: World, what: string): Promise<void> {
  const now = await image(w)
  if (now !== 'rancher/rancher:v2.8.4') throw new Error(`${what} left Rancher at ${now}`)
}

/**
 * When the Restore became Ready=True (epoch ms), as a watch beside the action's own sees it: a
 * `kubectl get -w` started before the action, one line per change of the Restore.
 */
function watchRestoreReady(w: World): { readyAt: () => number | undefined; stop: () => void } {
  let readyAt: number | undefined
  const child = spawn(
    paths.kubectl,
    [
      'get',
      'restores.resources.cattle.io',
      '--watch',
      '-o',
      'jsonpath={.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}'
    ],
    { env: { ...process.env, KUBECONFIG: w.cluster.kubeconfigPath } }
  )
  let partial = ''
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + String(d)).split('\n')
    partial = lines.pop() ?? ''
    if (readyAt === undefined && lines.some(l => / True$/.test(l))) readyAt = Date.now()
  })
  return { readyAt: () => readyAt, stop: () => child.kill() }
}

async function runAct(w: World): Promise<{ run: ActionRun; restoreToNextMs?: number }> {
  const watch = watchRestoreReady(w)
  try {
    const r = await runAction({
      toolCache,
      inputs: { ...w.inputs, 'backup-filename': w.backupFilename }
    })
    if (r.exitCode !== 0) throw new Error(`the action failed:\n${r.log.slice(-3000)}`)
    await expectRolledBack(w, 'the action')
    // From the Restore's completion to the first command the action starts after it.
    const ready = watch.readyAt()
    const next =
      ready === undefined
        ? undefined
        : r.timeline.find(
            l => r.startedAtMs + l.atMs >= ready && l.line.startsWith('[command] helm rollback')
          )
    return {
      run: r,
      restoreToNextMs:
        ready === undefined || next === undefined ? undefined : r.startedAtMs + next.atMs - ready
    }
  } finally {
    watch.stop()
  }
}

async function runScript(w: World): Promise<number> {
  const env = {
    ...process.env,
    KUBECONFIG: w.cluster.kubeconfigPath,
    HELM: w.helmPath,
    KUBECTL: paths.kubectl,
    BACKUP: w.backupFilename,
    BUCKET: w.inputs['s3-bucket-name'] ?? '',
    ENDPOINT: new URL(w.inputs['s3-endpoint'] ?? '').host,
    REGION: w.inputs['s3-region'] ?? '',
    CA_B64: Buffer.from(w.inputs['s3-endpoint-ca'] ?? '').toString('base64'),
    CRED_NAME: w.inputs['s3-credential-secret-name'] ?? '',
    CRED_NAMESPACE: w.inputs['s3-credential-secret-namespace'] ?? ''
  }
  const started = Date.now()
  const { code, out } = await new Promise<{ code: number | null; out: string }>(done => {
    const child = spawn('bash', [join(REPO_ROOT, 'bench', 'minimal.sh')], { env })
    let out = ''
    child.stdout.on('data', d => (out += String(d)))
    child.stderr.on('data', d => (out += String(d)))
    child.on('close', c => done({ code: c, out }))
  })
  const ms = Date.now() - started
  if (code !== 0) throw new Error(`bench/minimal.sh failed (${code}):\n${out}`)
  await expectRolledBack(w, 'bench/minimal.sh')
  return ms
}

/** The action's phases, from when its log lines arrived: start-up, tools, reads, each step, report. */
function phases(r: ActionRun): [string, number][] {
  const at = (test: (line: string) => boolean, from = 0): number | undefined =>
    r.timeline.slice(from).find(l => test(l.line))?.atMs
  const marks: [string, number | undefined][] = [
    ['start-up', at(l => l.startsWith('::group::Install helm and kubectl'))],
    ['tools', at(l => l.startsWith('::group::Read the cluster'))],
    ['reading the cluster', at(l => l.startsWith('Decision:'))],
    ['planning', at(l => l.startsWith('▶ '))]
  ]
  const steps = r.timeline.filter(l => l.line.startsWith('▶ '))
  for (const [i, s] of steps.entries()) {
    const next = steps[i + 1]?.atMs
    const lastDone = r.timeline.filter(l => l.line.startsWith('✔ ')).at(-1)?.atMs
    // By position: a title may hold names that differ per world (the Restore's backup file).
    marks.push([`step ${i + 1}: ${s.line.slice(2, 40)}`, next ?? lastDone])
  }
  marks.push(['report and exit', r.durationMs])
  const out: [string, number][] = []
  let prev = 0
  for (const [name, end] of marks) {
    if (end === undefined) continue
    out.push([name, end - prev])
    prev = end
  }
  return out
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`

say('preparing the testbed binaries')
await prepare({ log: () => undefined })
say('warming the tool cache (a dry run on a first world)')
{
  const w = await fresh()
  try {
    await runAction({
      toolCache,
      inputs: { ...w.inputs, 'backup-filename': w.backupFilename, 'dry-run': 'true' }
    })
  } finally {
    await w.stop()
  }
}

const actionMs: number[] = []
const scriptMs: number[] = []
const phaseRuns: [string, number][][] = []
const restoreToNext: number[] = []
for (let i = 0; i < pairs; i++) {
  const order = i % 2 === 0 ? (['action', 'script'] as const) : (['script', 'action'] as const)
  for (const kind of order) {
    const w = await fresh()
    try {
      if (kind === 'action') {
        const { run: r, restoreToNextMs } = await runAct(w)
        actionMs.push(r.durationMs)
        phaseRuns.push(phases(r))
        if (restoreToNextMs !== undefined) restoreToNext.push(restoreToNextMs)
        say(
          `pair ${i + 1}: action ${secs(r.durationMs)}, Restore completion → helm rollback ${restoreToNextMs ?? '?'} ms`
        )
      } else {
        const ms = await runScript(w)
        scriptMs.push(ms)
        say(`pair ${i + 1}: minimal script ${secs(ms)}`)
      }
    } finally {
      await w.stop()
    }
  }
}

const a = median(actionMs)
const m = median(scriptMs)
console.log(`\nin place 2.8.5 → 2.8.4, ${pairs} alternating pairs, fresh world each, tools cached`)
console.log(`action          median ${secs(a)}  (${actionMs.map(secs).join(', ')})`)
console.log(`minimal script  median ${secs(m)}  (${scriptMs.map(secs).join(', ')})`)
console.log(`ratio of medians: ${(a / m).toFixed(3)}`)
if (restoreToNext.length > 0)
  console.log(
    `Restore completion → the next command (helm rollback): median ${median(restoreToNext)} ms (${restoreToNext.map(ms => `${ms} ms`).join(', ')})`
  )
console.log('\naction phases (median of each):')
for (const [name] of phaseRuns[0] ?? []) {
  const key = name.split(':')[0] ?? name
  const values = phaseRuns.map(p => p.find(([n]) => (n.split(':')[0] ?? n) === key)?.[1] ?? 0)
  console.log(`  ${name.padEnd(50)} ${secs(median(values))}`)
}
