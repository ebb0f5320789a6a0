/** Named scenarios for `npm run testbed` and `npm run demo`: the stories the e2e tests tell. */
import type { ScenarioOptions } from './scenario.js'

export const SCENARIOS: Record<
  string,
  { describe: string; options: ScenarioOptions; inputs: Record<string, string> }
> = {
  'in-place': {
    describe: 'Rancher 2.8.4 installed, backed up, upgraded to 2.8.5: roll back in place',
    options: { install: '2.8.4', upgradeTo: ['2.8.5'] },
    inputs: {}
  },
  'in-place-helm4': {
    describe: 'as in-place, with Helm 4',
    options: { install: '2.8.4', upgradeTo: ['2.8.5'], helm: 4 },
    inputs: {}
  },
  'failed-upgrade': {
    describe: 'Rancher 2.8.4 backed up, then an upgrade to 2.8.6 that never becomes ready',
    options: { install: '2.8.4', upgradeTo: ['2.8.6'] },
    inputs: {}
  },
  'cleanup-2.6': {
    describe: 'Rancher 2.6.3 backed up, upgraded to 2.6.5 (CAPI CRDs now stored at v1beta1)',
    options: { install: '2.6.3', upgradeTo: ['2.6.5'] },
    inputs: { 'allow-downtime': 'true' }
  },
  'cleanup-2.7': {
    describe: 'Rancher 2.7.6 backed up, upgraded to 2.7.9 (rancher-provisioning-capi installed)',
    options: { install: '2.7.6', upgradeTo: ['2.7.9'] },
    inputs: { 'allow-downtime': 'true' }
  },
  encrypted: {
    describe: 'as in-place, with an encrypted backup',
    options: { install: '2.8.4', upgradeTo: ['2.8.5'], encrypted: true },
    inputs: {}
  }
}

export function scenarioUsage(): string {
  return Object.entries(SCENARIOS)
    .map(([name, s]) => `  ${name.padEnd(16)} ${s.describe}`)
    .join('\n')
}
