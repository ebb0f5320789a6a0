/** What every end-to-end file needs: a world with its start-up time logged, the action run against it, and a few reads. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction, type ActionRun, type RunActionOptions } from '../../testbed/run-action.js'
import { startWorld, type ScenarioOptions, type World } from '../../testbed/scenario.js'

export const log = (line: string): void => {
  process.stderr.write(`[e2e] ${line}\n`)
}

/** One tool cache per file: the first run downloads, later runs must not. */
const toolCache = mkdtempSync(join(tmpdir(), 'rr-e2e-tools-'))
// Gone with the test process (the bench imports this too, outside vitest).
process.on('exit', () => rmSync(toolCache, { recursive: true, force: true }))

export async function world(opts: ScenarioOptions): Promise<World> {
  const started = Date.now()
  const w = await startWorld({ ...opts, log })
  log(`world ${JSON.stringify(opts)} ready in ${Math.round((Date.now() - started) / 1000)}s`)
  return w
}

/** The bundle as a runner runs it, pointed at `w`, with the test's inputs on top. */
export async function act(
  w: World,
  inputs: Record<string, string>,
  more: Partial<RunActionOptions> = {}
): Promise<ActionRun> {
  const r = await runAction({ toolCache, ...more, inputs: { ...w.inputs, ...inputs } })
  const run =
    (more.action ? ` ${more.action}` : '') +
    (more.env?.GITHUB_RUN_ID ? ` run ${more.env.GITHUB_RUN_ID}` : '') +
    (more.env?.GITHUB_RUN_ATTEMPT ? ` attempt ${more.env.GITHUB_RUN_ATTEMPT}` : '')
  const signals = r.signals.length > 0 ? `, signals ${r.signals.map(s => s.signal).join(' ')}` : ''
  log(
    `action${run} ${JSON.stringify(inputs)} → exit ${r.exitCode}${r.exitSignal ? ` (${r.exitSignal})` : ''}, status ${r.outputs.status ?? '(none)'}${signals}, ${Math.round(r.durationMs / 1000)}s`
  )
  if (process.env.E2E_VERBOSE) log(r.log)
  return r
}

/** The image the rancher Deployment asks for. */
export const image = (w: World): Promise<string> =>
  w.kubectl([
    'get',
    'deploy',
    'rancher',
    '-n',
    'cattle-system',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}'
  ])

export async function history(
  w: World
): Promise<{ revision: number; status: string; app_version: string }[]> {
  return JSON.parse(await w.helm(['history', 'rancher', '-n', 'cattle-system', '-o', 'json']))
}

/** A CRD's status.storedVersions, as kubectl prints it (`["v1beta1"]`). */
export const storedVersions = (w: World, crd: string): Promise<string> =>
  w.kubectl(['get', 'crd', crd, '-o', 'jsonpath={.status.storedVersions}'])

/** `helm upgrade` of the rancher release to `version`, waiting up to `timeout` (e.g. `60s`). */
export function helmUpgrade(w: World, version: string, timeout: string): Promise<string> {
  return w.helm([
    'upgrade',
    'rancher',
    'rancher',
    '--repo',
    w.charts.url,
    '--version',
    version,
    '-n',
    'cattle-system',
    '--reuse-values',
    '--wait',
    '--timeout',
    timeout
  ])
}

/** Upgrades Rancher back to `version` (the world's backup still applies) for another rollback. */
export async function upgradeAgain(w: World, version: string): Promise<void> {
  await helmUpgrade(w, version, '60s')
  await w.settled(version)
}
