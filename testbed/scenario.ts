/**
 * A whole simulated Rancher world on the real local control plane: cluster, S3, chart repository,
 * tool mirror and the simulated Rancher, backup operator and cleanup image; then the story a test
 * needs (install a version, take a backup, upgrade, perhaps to a version that fails).
 */
import { readFileSync } from 'node:fs'
import {
  compareVersions,
  rancherBackupChartVersionFor,
  startChartRepo,
  type ChartRepo
} from './services/chart-repo.js'
import { startCluster, type Cluster } from './cluster/cluster.js'
import { execOk } from './exec.js'
import { paths, versions } from './paths.js'
import { startS3, type S3Server } from './services/s3.js'
import { simulatedCleanup } from './sim/cleanup/cleanup.js'
import { simulatedOperator } from './sim/operator/operator.js'
import { capiControllersOf, GLOBAL_ROLE_CLUSTER_ROLE, simulatedRancher } from './sim/rancher.js'
import {
  GR_OWNER_LABEL,
  simulatedWebhook,
  startWebhookServer,
  type WebhookServer
} from './sim/webhook.js'
import { startToolMirror, type ToolMirror } from './services/tool-mirror.js'

export const S3_SECRET = { name: 's3-creds', namespace: 'default' }
export const ENCRYPTION_SECRET = 'encryptionconfig'
const BACKUP_NS = 'cattle-resources-system'

export interface ScenarioOptions {
  /** Rancher version installed first, e.g. `2.8.4`. */
  install: string
  /** Take a backup after installing (default true). */
  backup?: boolean
  /** Versions upgraded to afterwards, in order; an upgrade that fails (2.8.6) is kept failed. */
  upgradeTo?: string[]
  /** Helm major used to build the world and offered to the action (default 3). */
  helm?: 3 | 4
  /**
   * Install with `bootstrapPassword` set (default true). Without it, Rancher 2.6.3+ creates
   * bootstrap-secret itself, with no Helm ownership metadata.
   */
  bootstrapPassword?: boolean
  /** The rancher-backup chart installed before the backup (default: the line's newest that fits). */
  backupChart?: string
  /** The ResourceSet the backup is taken with (default `rancher-resource-set-basic`). */
  resourceSet?: string
  /** Encrypt the backup with an encryption config Secret. */
  encrypted?: boolean
  /** Progress lines (default: none). */
  log?: (line: string) => void
}

export interface World {
  cluster: Cluster
  s3: S3Server
  charts: ChartRepo
  mirror: ToolMirror
  /** The admission server rancher-webhook's pods answer through (sim/webhook.ts). */
  webhook: WebhookServer
  helmPath: string
  /** The backup file the scenario took ('' when none). */
  backupFilename: string
  /** Inputs that point the action at this world (merge with the test's own). */
  inputs: Record<string, string>
  helm(args: string[]): Promise<string>
  kubectl(args: string[], stdin?: string): Promise<string>
  /** Waits until Rancher `version` has finished starting (what a world waits for when built). */
  settled(version: string): Promise<void>
  stop(): Promise<void>
}

export const ENCRYPTION_CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: ["secrets"]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= # 32 bytes: AES-256
`

export async function startWorld(opts: ScenarioOptions): Promise<World> {
  const log = opts.log ?? (() => {})
  const helmPath = opts.helm === 4 ? paths.helm4 : paths.helm3
  const stops: (() => Promise<void>)[] = []
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {})
  }
  try {
    const started = Date.now()
    const [cluster, charts, mirror] = await Promise.all([
      startCluster({ log }),
      startChartRepo({ helmPath: paths.helm3 }),
      startToolMirror({
        helm: [
          { version: `v${versions.helm3}`, path: paths.helm3 },
          { version: `v${versions.helm4}`, path: paths.helm4 }
        ],
        kubectl: [{ version: `v${versions.kubectl}`, path: paths.kubectl }]
      })
    ])
    stops.push(
      () => cluster.stop(),
      () => charts.stop(),
      () => mirror.stop()
    )
    const s3 = await startS3({ tls: cluster.tls })
    stops.push(() => s3.stop())
    const webhook = await startWebhookServer(cluster.tls)
    stops.push(() => webhook.stop())
    log(`cluster, S3, charts and tool mirror up in ${Date.now() - started} ms`)

    const helm = (args: string[]) =>
      execOk(helmPath, args, { env: cluster.env, timeoutMs: 300_000 })
    const kubectl = (args: string[], stdin?: string) =>
      execOk(paths.kubectl, args, { env: cluster.env, stdin, timeoutMs: 300_000 })
    cluster.kubelet.registerBehaviour(
      simulatedRancher({
        api: cluster.api,
        helmPath,
        kubeconfigPath: cluster.kubeconfigPath,
        chartRepoUrl: charts.url
      })
    )
    cluster.kubelet.registerBehaviour(simulatedWebhook({ api: cluster.api, server: webhook }))
    cluster.kubelet.registerBehaviour(simulatedOperator({ api: cluster.api }))
    cluster.kubelet.registerBehaviour(simulatedCleanup({ api: cluster.api }))

    await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: S3_SECRET,
        stringData: { accessKey: s3.accessKey, secretKey: s3.secretKey }
      })
    )

    log(`installing rancher ${opts.install}`)
    await installRancher(helm, charts.url, opts.install, opts.bootstrapPassword !== false)
    await settled(kubectl, opts.install)
    const backupVersion = opts.backupChart ?? rancherBackupChartVersionFor(opts.install)
    for (const chart of ['rancher-backup-crd', 'rancher-backup']) {
      await helm([
        'upgrade',
        '--install',
        chart,
        chart,
        '--repo',
        charts.url,
        '--version',
        backupVersion,
        '-n',
        BACKUP_NS,
        '--create-namespace',
        '--wait',
        '--timeout',
        '120s'
      ])
    }

    let backupFilename = ''
    if (opts.backup !== false) {
      if (opts.encrypted) {
        await kubectl(
          ['apply', '-f', '-'],
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: ENCRYPTION_SECRET, namespace: BACKUP_NS },
            stringData: { 'encryption-provider-config.yaml': ENCRYPTION_CONFIG }
          })
        )
      }
      backupFilename = await takeBackup(
        kubectl,
        s3,
        !!opts.encrypted,
        opts.resourceSet ?? 'rancher-resource-set-basic'
      )
      log(`backup ${backupFilename}`)
    }

    for (const version of opts.upgradeTo ?? []) {
      log(`upgrading to ${version}`)
      const upgraded = await helm([
        'upgrade',
        'rancher',
        'rancher',
        '--repo',
        charts.url,
        '--version',
        version,
        '-n',
        'cattle-system',
        '--reuse-values',
        '--wait',
        '--timeout',
        '45s'
      ]).then(
        () => true,
        (e: Error) => {
          log(
            `upgrade to ${version} failed (as a broken upgrade does): ${e.message.split('\n')[0]}`
          )
          return false
        }
      )
      if (upgraded) await settled(kubectl, version)
    }

    const inputs: Record<string, string> = {
      kubeconfig: readFileSync(cluster.kubeconfigPath, 'utf8'),
      's3-bucket-name': s3.bucket,
      's3-endpoint': s3.url,
      's3-endpoint-ca': s3.ca,
      's3-region': s3.region,
      's3-credential-secret-name': S3_SECRET.name,
      's3-credential-secret-namespace': S3_SECRET.namespace,
      's3-access-key': s3.accessKey,
      's3-secret-key': s3.secretKey,
      'rancher-chart-repo': charts.url,
      'backup-chart-repo': charts.url,
      'helm-version': opts.helm === 4 ? `v${versions.helm4}` : `v${versions.helm3}`,
      'kubectl-version': `v${versions.kubectl}`,
      'helm-mirror': mirror.helmUrl,
      'kubectl-mirror': mirror.kubectlUrl,
      timeout: '10m',
      'restore-timeout': '3m',
      ...(opts.encrypted ? { 'encryption-config-secret-name': ENCRYPTION_SECRET } : {})
    }
    return {
      cluster,
      s3,
      charts,
      mirror,
      webhook,
      helmPath,
      backupFilename,
      inputs,
      helm,
      kubectl,
      settled: (version: string) => settled(kubectl, version),
      stop
    }
  } catch (e) {
    await stop()
    throw e
  }
}

async function installRancher(
  helm: (a: string[]) => Promise<string>,
  repo: string,
  version: string,
  bootstrapPassword: boolean
) {
  await helm([
    'install',
    'rancher',
    'rancher',
    '--repo',
    repo,
    '--version',
    version,
    '-n',
    'cattle-system',
    '--create-namespace',
    '--set',
    'hostname=rancher.testbed.local',
    '--set',
    'replicas=1',
    ...(bootstrapPassword ? ['--set', 'bootstrapPassword=testbed-bootstrap-secret'] : []),
    '--wait',
    '--timeout',
    '120s'
  ])
}

/**
 * Rancher has finished starting a version once it has written its server-version setting (the
 * simulated Rancher does so after installing rancher-webhook and its CAPI chart), so the world
 * is quiet before a test looks at it.
 */
async function settled(kubectl: (a: string[]) => Promise<string>, version: string): Promise<void> {
  const setting = 'settings.management.cattle.io/server-version'
  await kubectl(['wait', '--for=create', setting, '--timeout=120s'])
  await kubectl(['wait', `--for=jsonpath={.value}=v${version}`, setting, '--timeout=120s'])
  // rancher-webhook is installed without waiting either, and 2.13+ labels the GlobalRole
  // ClusterRole only once the webhook admits the update.
  await kubectl([
    'rollout',
    'status',
    'deploy/rancher-webhook',
    '-n',
    'cattle-system',
    '--timeout=120s'
  ])
  if (compareVersions(version, '2.13.0') >= 0) {
    const label = GR_OWNER_LABEL.replace(/\./g, '\\.')
    await kubectl([
      'wait',
      `clusterrole/${GLOBAL_ROLE_CLUSTER_ROLE}`,
      `--for=jsonpath={.metadata.labels.${label}}=user`,
      '--timeout=120s'
    ])
  }
  // The CAPI releases are installed without waiting (2.13 installs Turtles only once
  // provisioning-capi's namespace is gone): their controllers may not even exist yet when
  // server-version is written.
  for (const { namespace, name } of capiControllersOf(version)) {
    await kubectl(['wait', '--for=create', `deploy/${name}`, '-n', namespace, '--timeout=120s'])
    await kubectl(['rollout', 'status', `deploy/${name}`, '-n', namespace, '--timeout=120s'])
  }
}

/** A Backup CR, waited for by watch (`kubectl wait`), then its file name from status. */
async function takeBackup(
  kubectl: (a: string[], stdin?: string) => Promise<string>,
  s3: S3Server,
  encrypted: boolean,
  resourceSetName: string
): Promise<string> {
  const name = `testbed-${Date.now()}`
  await kubectl(
    ['create', '-f', '-'],
    JSON.stringify({
      apiVersion: 'resources.cattle.io/v1',
      kind: 'Backup',
      metadata: { name },
      spec: {
        resourceSetName,
        ...(encrypted ? { encryptionConfigSecretName: ENCRYPTION_SECRET } : {}),
        storageLocation: {
          s3: {
            bucketName: s3.bucket,
            endpoint: s3.endpoint,
            endpointCA: Buffer.from(s3.ca).toString('base64'),
            region: s3.region,
            credentialSecretName: S3_SECRET.name,
            credentialSecretNamespace: S3_SECRET.namespace
          }
        }
      }
    })
  )
  const backup = `backups.resources.cattle.io/${name}`
  await kubectl(['wait', backup, '--for=condition=Ready=True', '--timeout=120s']).catch(
    async (e: Error) => {
      const status = await kubectl(['get', backup, '-o', 'jsonpath={.status}'])
      throw new Error(`Backup ${name} did not become Ready: ${status}`, { cause: e })
    }
  )
  return (
    await kubectl([
      'get',
      `backups.resources.cattle.io/${name}`,
      '-o',
      'jsonpath={.status.filename}'
    ])
  ).trim()
}
