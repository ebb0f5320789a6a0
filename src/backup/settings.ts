/**
 * The backup companion's inputs (backup/action.yml), read and validated into one typed object.
 * Every rule is the main action's (inputs/input-helper.ts): the same reader, the same validators
 * and messages, only the set of inputs and their defaults differ. Pure: no network, files or
 * processes; all problems are collected and reported at once.
 */
import * as core from '@actions/core'
import {
  INPUT_DEFAULTS,
  InputError,
  Inputs,
  labelProblem,
  parseCluster,
  parseRelease,
  parseS3,
  parseTools,
  subdomainProblem,
  type InputReader
} from '../inputs/input-helper.js'
import type { Settings } from '../inputs/settings.js'

/** The main action's settings it shares (same meaning), and its own two. */
export interface BackupSettings extends Pick<
  Settings,
  | 's3'
  | 'encryptionConfigSecretName'
  | 'kubeconfig'
  | 'context'
  | 'namespace'
  | 'releaseName'
  | 'helmVersion'
  | 'kubectlVersion'
  | 'helmMirror'
  | 'kubectlMirror'
  | 'dryRun'
  | 'timeoutMs'
> {
  /** '' means the default ResourceSet of the installed rancher-backup chart line. */
  resourceSetName: string
  /** The Backup's name starts with it (backup/names.ts). */
  namePrefix: string
}

/**
 * The defaults of backup/action.yml, applied when an input arrives empty;
 * test/backup-settings.test.ts keeps this table equal to backup/action.yml. Shared inputs have the
 * main action's defaults.
 */
export const BACKUP_INPUT_DEFAULTS: Readonly<Record<string, string>> = {
  ...shared(
    's3-bucket-name',
    's3-folder',
    's3-region',
    's3-endpoint',
    's3-endpoint-ca',
    's3-insecure-tls-skip-verify',
    's3-credential-secret-name',
    's3-credential-secret-namespace',
    's3-access-key',
    's3-secret-key',
    'encryption-config-secret-name',
    'kubeconfig',
    'context',
    'namespace',
    'release-name'
  ),
  'resource-set-name': '',
  'backup-name-prefix': 'pre-upgrade',
  ...shared('helm-version', 'kubectl-version', 'helm-mirror', 'kubectl-mirror'),
  // A backup takes a minute or two; the whole rollback's 30m would hide a stuck operator.
  timeout: '15m',
  ...shared('dry-run')
}

function shared(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map(name => [name, INPUT_DEFAULTS[name] ?? '']))
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
  const { context, kubeconfig } = parseCluster(inputs)
  const { namespace, releaseName } = parseRelease(inputs)
  const resourceSetName = inputs.optional('resource-set-name', value => subdomainProblem(value))
  const namePrefix = inputs.text('backup-name-prefix', value => labelProblem(value, MAX_PREFIX))
  const tools = parseTools(inputs)
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
    ...tools,
    dryRun,
    timeoutMs: timeoutMs ?? 0
  }
}
