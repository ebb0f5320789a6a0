/**
 * npm run demo [-- scenario]: the README's "try it". Prepares the testbed if needed, brings up a
 * simulated Rancher world on a real local control plane, runs the bundled action to roll Rancher
 * back (as a post-failure job would: previous + latest), prints the outputs and the job summary,
 * writes the summary as GitHub would render it to an HTML file, and tears everything down.
 */
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { marked } from 'marked'
import { prepare } from '../testbed/prepare.js'
import { runAction } from '../testbed/run-action.js'
import { startWorld } from '../testbed/scenario.js'
import { SCENARIOS, scenarioUsage } from '../testbed/scenarios.js'

const name = process.argv[2] ?? 'failed-upgrade'
const scenario = SCENARIOS[name]
if (!scenario) {
  console.error(`unknown scenario '${name}'; choose one of:\n${scenarioUsage()}`)
  process.exit(1)
}
const say = (line: string) => console.log(`\x1b[36m▶\x1b[0m ${line}`)
const t0 = Date.now()
const seconds = () => `${Math.round((Date.now() - t0) / 1000)}s`

/** The summary is markdown with HTML in it: good enough as plain text for a terminal. */
export function summaryAsText(summary: string): string {
  return summary
    .replace(/<br\s*\/?>/g, '\n  ')
    .replace(/<\/?(details|summary|pre|code|sub|sup|b|strong|em|i)[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

say(`preparing testbed binaries (first time: several minutes) [${seconds()}]`)
await prepare({ log: line => console.log(`  ${line}`) })
say(`bringing up scenario '${name}': ${scenario.describe} [${seconds()}]`)
const world = await startWorld({ ...scenario.options, log: line => console.log(`  ${line}`) })
try {
  say(`running the action: target-version previous, backup-filename latest [${seconds()}]`)
  const run = await runAction({
    inputs: {
      ...world.inputs,
      ...scenario.inputs,
      'target-version': 'previous',
      'backup-filename': 'latest'
    }
  })
  say(
    `action finished with exit code ${run.exitCode} in ${Math.round(run.durationMs / 1000)}s [${seconds()}]`
  )
  console.log('\nOutputs:')
  for (const [k, v] of Object.entries(run.outputs)) {
    console.log(`  ${k.padEnd(14)} ${k === 'plan' ? `${JSON.parse(v).length} steps` : v}`)
  }
  console.log('\nJob summary:\n')
  console.log(summaryAsText(run.summary))
  const html = join(tmpdir(), `rancher-rollback-demo-${name}.html`)
  writeFileSync(
    html,
    `<!doctype html><meta charset="utf-8"><title>rancher-rollback demo: ${name}</title>
<style>body{font:14px -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1012px;margin:2em auto;color:#1f2328}
table{border-collapse:collapse}td,th{border:1px solid #d1d9e0;padding:6px 13px}pre{background:#f6f8fa;padding:16px;overflow:auto}
code{background:#eff1f3;padding:.2em .4em;border-radius:6px}pre code{background:none;padding:0}</style>
${await marked.parse(run.summary)}`
  )
  say(`job summary rendered as GitHub shows it: ${html}`)
  process.exitCode = run.exitCode
} finally {
  say(`tearing down [${seconds()}]`)
  await world.stop()
  say(`done in ${seconds()}`)
}
