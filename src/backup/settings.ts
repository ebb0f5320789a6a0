/**
 * The backup companion's inputs (backup/action.yml), read and validated into one typed object.
 * Every rule is the main action's (inputs/input-helper.ts): the same reader, the same validators
 * and messages, only the set of inputs and their defaults differ. Pure: no network, files or
 * processes; all problems are collected and reported at once.
 */
import * as core from '@actions/core'
import {
  InputError,
  Inputs,
  labelProblem,
  parseKubeconfig,
  parseS3,
  parseToolVersion,
  subdomainProblem,
  type InputReader
} from '../inputs/input-helper.js'
import type { S3Settings } from '../inputs/settings.js'

export interface BackupSettings {
  s3: S3Settings
  /** '' when the backup is not encrypted; a Secret in cattle-resources-system otherwise. */
  encryptionConfigSecretName: string
  /** kubeconfig file content; '' means the runner's KUBECONFIG. Secret. */
  kubeconfig: string
  context: string
  /** Where the Rancher Helm release lives: the version the backup is taken from. */
  namespace: string
  releaseName: string
  /** '' means the default ResourceSet of the installed rancher-backup chart line. */
  resourceSetName: string
  /** The Backup's name starts with it (backup/names.ts). */
  namePrefix: string
  helmVersion: string
  kubectlVersion: string
  helmMirror: string
  kubectlMirror: string
  dryRun: boolean
  timeoutMs: number
}

/**
 * The defaults of backup/action.yml, applied when an input arrives empty;
 * test/backup-settings.test.ts keeps this table equal to backup/action.yml. Shared inputs have the
 * main action's defaults.
 */
export const BACKUP_INPUT_DEFAULTS: Readonly<Record<string, string>> = {
  's3-bucket-name': '',
  's3-folder': '',
  's3-region': '',
  's3-endpoint': '',
  's3-endpoint-ca': '',
  's3-insecure-tls-skip-verify': 'false',
  's3-credential-secret-name': '',
  's3-credential-secret-namespace': 'default',
  's3-access-key': '',
  's3-secret-key': '',
  'encryption-config-secret-name': '',
  kubeconfig: '',
  context: '',
  namespace: 'cattle-system',
  'release-name': 'rancher',
  'resource-set-name': '',
  'backup-name-prefix': 'pre-upgrade',
  'helm-version': 'v3.17.2',
  'kubectl-version': 'v1.32.3',
  'helm-mirror': '',
  'kubectl-mirror': '',
  timeout: '15m',
  'dry-run': 'false'
}

/**
 * Longest prefix: `<prefix>-<run id>-<attempt>-<kube-system UID>-<time>.tar.gz.enc` stays a short
 * S3 key, and the Backup's name stays far below the 253 of a DNS-1123 subdomain.
 */
export const MAX_PREFIX = 40

export function getBackupSettings(read: InputReader = name => core.getInput(name)): BackupSettings {
  const problems: string[] = []
  const inputs = new Inputs(read, problems, BACKUP_INPUT_DEFAULTS)
  for (const name of Object.keys(BACKUP_INPUT_DEFAULTS)) inputs.checkCharacters(name)

  const s3 = parseS3(inputs)
  const encryptionConfigSecretName = inputs.optional('encryption-config-secret-name', value =>
    subdomainProblem(value)
  )
  const context = inputs.optional('context', () => undefined)
  const kubeconfig = parseKubeconfig(inputs, context)
  const namespace = inputs.text('namespace', value => labelProblem(value, 63))
  const releaseName = inputs.text('release-name', value => labelProblem(value, 53))
  const resourceSetName = inputs.optional('resource-set-name', value => subdomainProblem(value))
  const namePrefix = inputs.text('backup-name-prefix', value => labelProblem(value, MAX_PREFIX))
  const helmVersion = parseToolVersion(inputs, 'helm-version', 'helm')
  const kubectlVersion = parseToolVersion(inputs, 'kubectl-version', 'kubectl')
  const helmMirror = inputs.url('helm-mirror', 'a base URL serving the Helm release archives', true)
  const kubectlMirror = inputs.url(
    'kubectl-mirror',
    'a base URL serving the kubectl release binaries',
    true
  )
  const dryRun = inputs.boolean('dry-run')
  const timeoutMs = inputs.duration('timeout')

  if (problems.length > 0) throw new InputError(problems)
  return {
    s3,
    encryptionConfigSecretName,
    kubeconfig,
    context,
    namespace,
    releaseName,
    resourceSetName,
    namePrefix,
    helmVersion,
    kubectlVersion,
    helmMirror,
    kubectlMirror,
    dryRun,
    timeoutMs: timeoutMs ?? 0
  }
}
