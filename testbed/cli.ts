/**
 * npm run testbed -- [scenario] [--install V] [--upgrade-to V[,V]] [--helm 3|4] [--encrypted] [--no-backup]
 * Brings a simulated Rancher world up on a real local control plane, prints how to reach it and
 * the action inputs that point at it, and tears it down on Ctrl-C.
 */
import { parseArgs } from 'node:util'
import { prepare } from './prepare.js'
import { startWorld, type ScenarioOptions } from './scenario.js'
import { SCENARIOS, scenarioUsage } from './scenarios.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    install: { type: 'string' },
    'upgrade-to': { type: 'string' },
    helm: { type: 'string' },
    encrypted: { type: 'boolean' },
    'no-backup': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  }
})

if (values.help) {
  console.log(
    `usage: npm run testbed -- [scenario] [--install 2.8.4] [--upgrade-to 2.8.5] [--helm 3|4] [--encrypted] [--no-backup]\n\nscenarios:\n${scenarioUsage()}`
  )
  process.exit(0)
}
const name = positionals[0] ?? (values.install ? '' : 'in-place')
const named = name ? SCENARIOS[name] : undefined
if (name && !named) {
  console.error(`unknown scenario '${name}'; choose one of:\n${scenarioUsage()}`)
  process.exit(1)
}
const options: ScenarioOptions = {
  ...(named?.options ?? { install: values.install! }),
  ...(values.install ? { install: values.install } : {}),
  ...(values['upgrade-to'] ? { upgradeTo: values['upgrade-to'].split(',') } : {}),
  ...(values.helm ? { helm: values.helm === '4' ? 4 : 3 } : {}),
  ...(values.encrypted ? { encrypted: true } : {}),
  ...(values['no-backup'] ? { backup: false } : {}),
  log: line => console.log(`• ${line}`)
}

await prepare({ log: line => console.log(`• ${line}`) })
const world = await startWorld(options)
const { kubeconfig: _kubeconfig, ...shown } = world.inputs
console.log(`
Ready. Rancher world: ${JSON.stringify({ install: options.install, upgradeTo: options.upgradeTo ?? [] })}
  export KUBECONFIG=${world.cluster.kubeconfigPath}
  S3:       ${world.s3.url} bucket ${world.s3.bucket} (access key ${world.s3.accessKey}, secret key ${world.s3.secretKey}; its CA: s3-endpoint-ca below)
  backup:   ${world.backupFilename || '(none taken)'}
  charts:   ${world.charts.url}

Action inputs for this world (kubeconfig: the file above):
${Object.entries({ ...shown, ...(named?.inputs ?? {}) })
  .map(([k, v]) =>
    v.includes('\n') ? `  ${k}: |\n${v.trimEnd().replace(/^/gm, '    ')}` : `  ${k}: ${v}`
  )
  .join('\n')}

Press Ctrl-C to tear it down.`)

const shutdown = async () => {
  console.log('\nTearing down…')
  await world.stop()
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
setInterval(() => {}, 1 << 30)
