/**
 * Reads every input of action.yml, validates it and builds the one typed `Settings` object.
 * Pure: no network, files or processes. All problems are collected and reported at once.
 */
import * as core from '@actions/core'
import { exactVersion } from '../decide/versions.js'
import { quote, unprintableIn } from '../report/escape.js'
import { toolVersionRule } from '../tools/tool-urls.js'
import { parseCertificates } from './certificates.js'
import { parseImageReference } from './image-reference.js'
import { checkKubeconfig, kubeconfigCredentials } from './kubeconfig.js'
import {
  backupFilenameProblem,
  bucketProblem,
  folderProblem,
  isEncryptedBackupName
} from './s3-names.js'
import { PLAIN_HTTP, parseBaseUrl, parseS3Endpoint } from './urls.js'
import type { BackupSelector, S3Settings, Settings, TargetVersion } from './settings.js'

/** Thrown by `getSettings`; `problems` lists every bad input, one sentence each. */
export class InputError extends Error {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(problems.join('\n'))
    this.name = 'InputError'
    this.problems = [...problems]
  }
}

export type InputReader = (name: string) => string

/**
 * The defaults of action.yml, applied here too when an input arrives empty (for example a
 * workflow_dispatch field passed through as `${{ inputs.x }}`). test/input-helper.test.ts keeps
 * this table equal to action.yml.
 */
export const INPUT_DEFAULTS: Readonly<Record<string, string>> = {
  'target-version': 'previous',
  'backup-filename': 'latest',
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
  'rancher-chart-repo': 'https://releases.rancher.com/server-charts/stable',
  'backup-chart-repo': 'https://charts.rancher.io',
  'backup-chart-version': '',
  'helm-version': 'v3.17.2',
  'kubectl-version': 'v1.32.3',
  'helm-mirror': '',
  'kubectl-mirror': '',
  'dry-run': 'false',
  'allow-downtime': 'false',
  'allow-other-cluster-backup': 'false',
  'keep-rancher-webhook': 'false',
  prune: 'true',
  timeout: '30m',
  'restore-timeout': '20m',
  'cleanup-image': 'rancher/rancher-cleanup:v1.0.3'
}

/** Longest accepted duration: keeps every timer far below setTimeout's 2^31-1 ms limit. */
const MAX_DURATION_MS = 24 * 3600 * 1000

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/
const BOOLEAN_TRUE = ['true', 'True', 'TRUE']
const BOOLEAN_FALSE = ['false', 'False', 'FALSE']

/** Inputs whose value spans lines by nature; every other input is one line of printable text. */
const MULTI_LINE = new Set(['kubeconfig', 's3-endpoint-ca'])
/** Inputs whose value is never shown. */
const SECRET = new Set(['kubeconfig', 's3-access-key', 's3-secret-key'])

/** What each single-line input accepts, in a few words (the control-character problem says it). */
const ACCEPTS: Readonly<Record<string, string>> = {
  'target-version': "'previous' or a version such as 2.8.4",
  'backup-filename': "'latest' or a backup file name such as rancher-backup-….tar.gz",
  's3-bucket-name': 'an S3 bucket name',
  's3-folder': 'a folder path inside the bucket such as rancher/prod',
  's3-region': 'a region such as us-east-1',
  's3-endpoint': 'host[:port] or https://host[:port]',
  's3-insecure-tls-skip-verify': 'true or false',
  's3-credential-secret-name': 'a Kubernetes Secret name',
  's3-credential-secret-namespace': 'a namespace name',
  's3-access-key': 'a single-line key',
  's3-secret-key': 'a single-line key',
  'encryption-config-secret-name': 'a Kubernetes Secret name',
  context: 'the name of a context of the kubeconfig',
  namespace: 'a namespace name',
  'release-name': 'a Helm release name',
  'rancher-chart-repo': 'a Helm repository URL',
  'backup-chart-repo': 'a Helm repository URL',
  'backup-chart-version': 'a chart version such as 103.0.2+up4.0.2',
  'helm-version': "'latest' or a Helm version such as v3.17.2",
  'kubectl-version': "'latest' or a kubectl version such as v1.32.3",
  'helm-mirror': 'a base URL',
  'kubectl-mirror': 'a base URL',
  'dry-run': 'true or false',
  'allow-downtime': 'true or false',
  'allow-other-cluster-backup': 'true or false',
  'keep-rancher-webhook': 'true or false',
  prune: 'true or false',
  timeout: 'a duration such as 30m',
  'restore-timeout': 'a duration such as 20m',
  'cleanup-image': 'an image reference such as rancher/rancher-cleanup:v1.0.3',
  // The backup companion's own inputs (src/backup/settings.ts).
  'resource-set-name': 'a ResourceSet name such as rancher-resource-set-basic',
  'backup-name-prefix': 'a name prefix such as pre-upgrade'
}

/**
 * Parses a Go-style duration (`90s`, `30m`, `1h30m`, `1.5h`, `500ms`; units h, m, s, ms) or a bare
 * integer number of seconds. Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim()
  if (/^\d+$/.test(value)) return Number(value) * 1000
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(value)) return undefined
  const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }
  let total = 0
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    total += Number(match[1]) * (unitMs[match[2] ?? ''] ?? Number.NaN)
  }
  return Number.isFinite(total) ? Math.round(total) : undefined
}

/** Values to register with core.setSecret before anything is logged. */
export function secretValues(settings: Settings): string[] {
  return secrets(settings.kubeconfig, settings.s3.accessKey, settings.s3.secretKey)
}

/**
 * The secret inputs as given, valid or not, to mask before validation says anything: the S3 keys,
 * the kubeconfig and the credentials inside it.
 */
export function secretInputValues(read: InputReader = name => core.getInput(name)): string[] {
  const value = (name: string) => (read(name) ?? '').trim()
  return secrets(read('kubeconfig') ?? '', value('s3-access-key'), value('s3-secret-key'))
}

function secrets(kubeconfig: string, accessKey: string, secretKey: string): string[] {
  const values = [kubeconfig, accessKey, secretKey]
  // A multi-line value is only masked where it appears whole, so also mask the credentials inside
  // the kubeconfig one by one.
  values.push(...kubeconfigCredentials(kubeconfig))
  return [...new Set(values.filter(value => value.trim() !== ''))]
}

/** Reads and validates every input; throws InputError naming every bad input at once. */
export function getSettings(read: InputReader = name => core.getInput(name)): Settings {
  const problems: string[] = []
  const inputs = new Inputs(read, problems)
  for (const name of Object.keys(INPUT_DEFAULTS)) inputs.checkCharacters(name)

  const targetVersion = parseTargetVersion(inputs)
  const encryptionConfigSecretName = inputs.optional('encryption-config-secret-name', value =>
    subdomainProblem(value)
  )
  const backup = parseBackupSelector(inputs, encryptionConfigSecretName)
  const s3 = parseS3(inputs)
  const { context, kubeconfig } = parseCluster(inputs)
  const { namespace, releaseName } = parseRelease(inputs)
  const rancherChartRepo = inputs.url('rancher-chart-repo', 'a Helm repository URL')
  const backupChartRepo = inputs.url('backup-chart-repo', 'a Helm repository URL')
  const backupChartVersion = parseChartVersion(inputs)
  const { helmVersion, kubectlVersion, helmMirror, kubectlMirror } = parseTools(inputs)
  const dryRun = inputs.boolean('dry-run')
  const allowDowntime = inputs.boolean('allow-downtime')
  const allowOtherClusterBackup = inputs.boolean('allow-other-cluster-backup')
  const keepRancherWebhook = inputs.boolean('keep-rancher-webhook')
  const prune = inputs.boolean('prune')
  const timeoutMs = inputs.duration('timeout')
  const restoreTimeoutMs = inputs.duration('restore-timeout')
  if (timeoutMs !== undefined && restoreTimeoutMs !== undefined && restoreTimeoutMs > timeoutMs) {
    inputs.fail(
      'restore-timeout',
      `Input 'restore-timeout' is ${show(inputs.value('restore-timeout'))}, longer than input ` +
        `'timeout' (${show(inputs.value('timeout'))}): 'restore-timeout' must not exceed 'timeout'.`
    )
  }
  const cleanupImage = inputs.text('cleanup-image', imageProblem)

  if (problems.length > 0) throw new InputError(problems)
  return {
    targetVersion,
    backup,
    s3,
    encryptionConfigSecretName,
    kubeconfig,
    context,
    namespace,
    releaseName,
    rancherChartRepo,
    backupChartRepo,
    backupChartVersion,
    helmVersion,
    kubectlVersion,
    helmMirror,
    kubectlMirror,
    dryRun,
    allowDowntime,
    allowOtherClusterBackup,
    keepRancherWebhook,
    prune,
    timeoutMs: timeoutMs ?? 0,
    restoreTimeoutMs: restoreTimeoutMs ?? 0,
    cleanupImage
  }
}

/** `context` and `kubeconfig` (which must hold that context). */
export function parseCluster(inputs: Inputs): { context: string; kubeconfig: string } {
  const context = inputs.optional('context', () => undefined)
  return { context, kubeconfig: parseKubeconfig(inputs, context) }
}

/** Where the Rancher Helm release is: `namespace` and `release-name`. */
export function parseRelease(inputs: Inputs): { namespace: string; releaseName: string } {
  return {
    namespace: inputs.text('namespace', value => labelProblem(value, 63)),
    releaseName: inputs.text('release-name', value => labelProblem(value, 53))
  }
}

/** The tool versions and mirrors (the tool installer's rules). */
export function parseTools(inputs: Inputs): {
  helmVersion: string
  kubectlVersion: string
  helmMirror: string
  kubectlMirror: string
} {
  return {
    helmVersion: parseToolVersion(inputs, 'helm-version', 'helm'),
    kubectlVersion: parseToolVersion(inputs, 'kubectl-version', 'kubectl'),
    helmMirror: inputs.url('helm-mirror', 'a base URL serving the Helm release archives', true),
    kubectlMirror: inputs.url(
      'kubectl-mirror',
      'a base URL serving the kubectl release binaries',
      true
    )
  }
}

/** Shows a value in a problem message: quoted, control characters escaped (report/escape.ts). */
export const show = quote

/** `Input 'x' is "v": [why; ]expected …` */
export function problem(name: string, value: string, expected: string, why?: string): string {
  return `Input '${name}' is ${show(value)}: ${why === undefined ? '' : `${why}; `}expected ${expected}.`
}

/**
 * Reads each input once, applies the default when it arrives empty, and records problems. The
 * backup companion (src/backup/settings.ts) reads its inputs through it too, with its own defaults.
 */
export class Inputs {
  private readonly values = new Map<string, string>()
  /** Inputs already found bad: one problem each. */
  private readonly refused = new Set<string>()

  constructor(
    private readonly read: InputReader,
    readonly problems: string[],
    private readonly defaults: Readonly<Record<string, string>> = INPUT_DEFAULTS
  ) {}

  /** Records the problem of an input, unless it already has one. */
  fail(name: string, message: string): void {
    if (this.refused.has(name)) return
    this.refused.add(name)
    this.problems.push(message)
  }

  isRefused(name: string): boolean {
    return this.refused.has(name)
  }

  /** The input as given (untrimmed; '' when unset), read only once. */
  raw(name: string): string {
    let value = this.values.get(name)
    if (value === undefined) {
      value = this.read(name) ?? ''
      this.values.set(name, value)
    }
    return value
  }

  /**
   * Control characters (C0 with newline, CR and tab, DEL, C1, line separators, bidi controls) are
   * in no accepted value of a single-line input; multi-line inputs may hold only line breaks and
   * tabs. The value is shown escaped, a secret one not at all.
   */
  checkCharacters(name: string): void {
    const value = MULTI_LINE.has(name) ? this.raw(name) : this.raw(name).trim()
    const allowed = MULTI_LINE.has(name) ? ['\\n', '\\r', '\\t'] : []
    const found = unprintableIn(value).filter(c => !allowed.includes(c))
    if (found.length === 0) return
    const chars = `control character${found.length === 1 ? '' : 's'} ${found.join(', ')}`
    if (MULTI_LINE.has(name) || SECRET.has(name)) {
      this.fail(
        name,
        `Input '${name}' contains the ${chars} (value not shown${SECRET.has(name) ? ': it is secret' : ''}): ` +
          `expected ${MULTI_LINE.has(name) ? 'text with no control characters but line breaks and tabs' : (ACCEPTS[name] ?? 'a single line')}.`
      )
      return
    }
    this.fail(
      name,
      problem(
        name,
        value,
        `${ACCEPTS[name] ?? 'a value'}, on one line of printable characters`,
        `it contains the ${chars}`
      )
    )
  }

  /** Trimmed value, or the default when the trimmed value is empty. */
  value(name: string): string {
    const value = this.raw(name).trim()
    return value === '' ? (this.defaults[name] ?? '') : value
  }

  /** A value that must satisfy `check` (returns what is expected, or undefined when fine). */
  text(name: string, check: (value: string) => string | undefined): string {
    if (this.refused.has(name)) return ''
    const value = this.value(name)
    const expected = check(value)
    if (expected !== undefined) {
      this.fail(name, problem(name, value, expected))
      return ''
    }
    return value
  }

  /** Like `text`, but '' is accepted (and returned) without a check. */
  optional(name: string, check: (value: string) => string | undefined): string {
    if (this.refused.has(name)) return ''
    const value = this.value(name)
    return value === '' ? '' : this.text(name, check)
  }

  boolean(name: string): boolean {
    if (this.refused.has(name)) return false
    const value = this.value(name)
    if (BOOLEAN_TRUE.includes(value)) return true
    if (BOOLEAN_FALSE.includes(value)) return false
    this.fail(name, problem(name, value, 'true or false'))
    return false
  }

  duration(name: string): number | undefined {
    if (this.refused.has(name)) return undefined
    const value = this.value(name)
    const ms = parseDuration(value)
    if (ms === undefined || ms <= 0 || ms > MAX_DURATION_MS) {
      this.fail(
        name,
        problem(
          name,
          value,
          'a duration greater than 0 and at most 24h, such as 90s, 30m, 1h30m or 1.5h ' +
            '(units h, m, s, ms; a bare number means seconds)'
        )
      )
      return undefined
    }
    return ms
  }

  /**
   * An http(s) base URL without credentials, query or fragment (urls.ts), in the URL parser's form
   * without a trailing slash.
   */
  url(name: string, what: string, optional = false): string {
    if (this.refused.has(name)) return ''
    const value = this.value(name)
    if (value === '' && optional) return ''
    const parsed = parseBaseUrl(value)
    if ('value' in parsed) return parsed.value
    this.fail(
      name,
      problem(
        name,
        parsed.redacted ?? value,
        `${what}: https:// or http://, a host and an optional path, without credentials, query or fragment`,
        parsed.problem
      )
    )
    return ''
  }
}

export function labelProblem(value: string, max: number): string | undefined {
  if (value.length <= max && DNS1123_LABEL.test(value)) return undefined
  return (
    `a DNS-1123 label: at most ${max} lowercase letters, digits and hyphens, ` +
    'starting and ending with a letter or digit'
  )
}

export function subdomainProblem(value: string): string | undefined {
  if (value.length <= 253 && DNS1123_SUBDOMAIN.test(value)) return undefined
  return (
    'a Kubernetes object name (DNS-1123 subdomain): at most 253 lowercase letters, digits, ' +
    "hyphens and dots, starting and ending with a letter or digit, or '' for none"
  )
}

function parseTargetVersion(inputs: Inputs): TargetVersion {
  const name = 'target-version'
  if (inputs.isRefused(name)) return { kind: 'previous' }
  const value = inputs.value(name)
  if (value === 'previous') return { kind: 'previous' }
  const expected = "'previous' or a version such as 2.8.4 or v2.8.4"
  const version = exactVersion(value)
  if (version === undefined) {
    inputs.fail(name, problem(name, value, expected))
    return { kind: 'previous' }
  }
  if (version.includes('+')) {
    // Rancher versions carry none, and an image tag cannot hold a '+'.
    inputs.fail(
      name,
      problem(
        name,
        value,
        `${expected}, without build metadata`,
        'Rancher versions have no build metadata (+…)'
      )
    )
    return { kind: 'previous' }
  }
  return { kind: 'explicit', version }
}

function parseBackupSelector(inputs: Inputs, encryptionConfigSecretName: string): BackupSelector {
  const name = 'backup-filename'
  if (inputs.isRefused(name)) return { kind: 'latest' }
  const raw = inputs.raw(name)
  const value = raw.trim()
  const expected =
    "'latest' or the file name of a backup in the bucket folder, such as rancher-backup-<uid>-<time>.tar.gz"
  if (value === '') {
    inputs.fail(name, problem(name, raw, expected))
    return { kind: 'latest' }
  }
  if (value === 'latest') return { kind: 'latest' }
  const why = backupFilenameProblem(value)
  if (why !== undefined) {
    inputs.fail(name, problem(name, value, expected, why))
    return { kind: 'latest' }
  }
  if (
    isEncryptedBackupName(value) &&
    encryptionConfigSecretName === '' &&
    !inputs.isRefused('encryption-config-secret-name')
  ) {
    inputs.fail(
      name,
      problem(
        name,
        value,
        "input 'encryption-config-secret-name' set to the Secret holding the EncryptionConfiguration it was encrypted with",
        'it names an encrypted backup (.enc) and encryption-config-secret-name is empty'
      )
    )
    return { kind: 'latest' }
  }
  return { kind: 'file', filename: value }
}

export function parseS3(inputs: Inputs): S3Settings {
  const bucketName = parseBucketName(inputs)
  const folder = parseFolder(inputs)
  const region = inputs.optional('s3-region', value =>
    REGION.test(value)
      ? undefined
      : 'a region such as us-east-1 (lowercase letters, digits, hyphens)'
  )
  const endpoint = parseEndpoint(inputs, region)
  const endpointCA = parseEndpointCA(inputs)
  const insecureTLSSkipVerify = inputs.boolean('s3-insecure-tls-skip-verify')
  const credentialSecretName = inputs.optional('s3-credential-secret-name', subdomainProblem)
  const credentialSecretNamespace = inputs.text('s3-credential-secret-namespace', value =>
    labelProblem(value, 63)
  )
  const { accessKey, secretKey } = parseKeys(inputs)
  return {
    bucketName,
    folder,
    region,
    endpoint,
    endpointCA,
    insecureTLSSkipVerify,
    credentialSecretName,
    credentialSecretNamespace,
    accessKey,
    secretKey
  }
}

function parseBucketName(inputs: Inputs): string {
  const name = 's3-bucket-name'
  if (inputs.isRefused(name)) return ''
  const value = inputs.value(name)
  if (value === '') {
    inputs.fail(
      name,
      `Input '${name}' is required: expected the name of the S3 bucket that holds the ` +
        'rancher-backup files.'
    )
    return ''
  }
  const why = bucketProblem(value)
  if (why !== undefined) {
    inputs.fail(
      name,
      problem(
        name,
        value,
        'an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ' +
          'ending with a letter or digit, no two dots or a dot and a hyphen side by side, not an ' +
          'IP address (Amazon S3 bucket naming rules)',
        why
      )
    )
    return ''
  }
  return value
}

function parseFolder(inputs: Inputs): string {
  const name = 's3-folder'
  if (inputs.isRefused(name)) return ''
  const value = inputs.value(name)
  const folder = value.replace(/^\/+|\/+$/g, '')
  const why = folderProblem(folder)
  if (why !== undefined) {
    inputs.fail(
      name,
      problem(
        name,
        value,
        "a folder path inside the bucket such as rancher/prod: segments separated by /, none empty, '.' or '..'",
        why
      )
    )
    return ''
  }
  return folder
}

/**
 * The operator speaks only TLS to S3 (backup-restore-operator pkg/objectstore/s3minio.go
 * GetS3Client: v1.0.0-v6.x pass `useSSL` `true`, v7.0.0 on pass `!devMode`, which only
 * `CATTLE_DEV_MODE` sets and the chart never does), so `http://` is refused here: a Restore from a
 * plain-HTTP endpoint would retry forever, on the cleanup path after Rancher is gone.
 */
function parseEndpoint(inputs: Inputs, region: string): string {
  const name = 's3-endpoint'
  if (inputs.isRefused(name)) return ''
  const value = inputs.value(name)
  if (value === '') return region === '' ? 's3.amazonaws.com' : `s3.${region}.amazonaws.com`
  const expected =
    'host[:port] or https://host[:port] (an IPv6 address in brackets), without credentials, path, query or fragment'
  const parsed = parseS3Endpoint(value)
  if ('value' in parsed) return parsed.value
  if (parsed.problem === PLAIN_HTTP) {
    inputs.fail(
      name,
      problem(
        name,
        value,
        `an HTTPS endpoint: the rancher-backup operator talks to S3 only over TLS, so a Restore from a plain-HTTP endpoint retries forever. Give host[:port] or https://host[:port] of a TLS listener (s3-endpoint-ca for a private CA)`
      )
    )
    return ''
  }
  inputs.fail(name, problem(name, parsed.redacted ?? value, expected, parsed.problem))
  return ''
}

function parseEndpointCA(inputs: Inputs): string {
  const name = 's3-endpoint-ca'
  if (inputs.isRefused(name)) return ''
  const value = inputs.raw(name).trim()
  if (value === '') return ''
  const parsed = parseCertificates(value)
  if ('pem' in parsed) return parsed.pem
  // Not shown: what was pasted here may be a private key.
  inputs.fail(
    name,
    `Input '${name}' is refused (value not shown: it may hold key material): ${parsed.problem}; ` +
      'expected one or more CA certificates as PEM text (-----BEGIN CERTIFICATE----- …) or that PEM text base64-encoded.'
  )
  return ''
}

function parseKeys(inputs: Inputs): { accessKey: string; secretKey: string } {
  // Secrets: their values never appear in a problem.
  const accessKey = inputs.raw('s3-access-key').trim()
  const secretKey = inputs.raw('s3-secret-key').trim()
  if (inputs.isRefused('s3-access-key') || inputs.isRefused('s3-secret-key')) {
    return { accessKey: '', secretKey: '' }
  }
  if ((accessKey === '') !== (secretKey === '')) {
    const missing = accessKey === '' ? 's3-access-key' : 's3-secret-key'
    inputs.fail(
      missing,
      `Inputs 's3-access-key' and 's3-secret-key' must be given together (values not shown: ` +
        `they are secret): '${missing}' is empty.`
    )
    return { accessKey: '', secretKey: '' }
  }
  return { accessKey, secretKey }
}

function parseKubeconfig(inputs: Inputs, context: string): string {
  const name = 'kubeconfig'
  if (inputs.isRefused(name)) return ''
  const value = inputs.raw(name)
  if (value.trim() === '') return ''
  const found = checkKubeconfig(value, context)
  if (found.kubeconfig !== undefined) {
    inputs.fail(
      name,
      `Input '${name}' ${found.kubeconfig} (value not shown: it is secret): expected the content ` +
        "of a kubeconfig file (YAML or JSON with 'clusters', 'users' and 'contexts' lists and a " +
        "current-context or the 'context' input), not a path."
    )
    return ''
  }
  if (found.context !== undefined && !inputs.isRefused('context')) {
    inputs.fail(
      'context',
      problem(
        'context',
        context,
        "the name of a context of the given kubeconfig, or '' for its current-context",
        found.context
      )
    )
  }
  return value
}

function parseChartVersion(inputs: Inputs): string {
  return inputs.optional('backup-chart-version', value =>
    exactVersion(value) === undefined
      ? "a chart version such as 103.0.2+up4.0.2, or '' for the line matching the target version"
      : undefined
  )
}

/** The rule is the tool installer's (tools/tool-urls.ts); here it only names the input. */
function parseToolVersion(inputs: Inputs, name: string, tool: 'helm' | 'kubectl'): string {
  if (inputs.isRefused(name)) return ''
  const value = inputs.value(name)
  const rule = toolVersionRule(tool, value)
  if ('version' in rule) return rule.version
  inputs.fail(name, problem(name, value, rule.expected))
  return ''
}

/**
 * The image reference grammar (image-reference.ts), pinned: a digest, or a tag other than
 * `latest`. Returns what is expected, or undefined when fine.
 */
function imageProblem(value: string): string | undefined {
  const expected =
    'an image reference pinned to a tag or digest, such as rancher/rancher-cleanup:v1.0.3'
  const parsed = parseImageReference(value)
  if ('problem' in parsed) return `${expected} (${parsed.problem})`
  if (parsed.digest !== undefined) return undefined
  if (parsed.tag === undefined || parsed.tag === 'latest')
    return `${expected} (pin a tag: latest and no tag are refused)`
  return undefined
}
