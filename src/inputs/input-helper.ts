/**
 * Reads every input of action.yml, validates it and builds the one typed `Settings` object.
 * Pure: no network, files or processes. All problems are collected and reported at once.
 */
import * as core from '@actions/core'
import { load } from 'js-yaml'
import { exactVersion } from '../decide/versions.js'
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
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
const REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/
const BOOLEAN_TRUE = ['true', 'True', 'TRUE']
const BOOLEAN_FALSE = ['false', 'False', 'FALSE']
const PEM_BEGIN = '-----BEGIN CERTIFICATE-----'
const PEM_END = '-----END CERTIFICATE-----'

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
  const values = [settings.kubeconfig, settings.s3.accessKey, settings.s3.secretKey]
  // A multi-line value is only masked where it appears whole, so also mask the credentials inside
  // the kubeconfig one by one.
  values.push(...kubeconfigCredentials(settings.kubeconfig))
  return [...new Set(values.filter(value => value.trim() !== ''))]
}

/** Reads and validates every input; throws InputError naming every bad input at once. */
export function getSettings(read: InputReader = name => core.getInput(name)): Settings {
  const problems: string[] = []
  const inputs = new Inputs(read, problems)

  const targetVersion = parseTargetVersion(inputs)
  const backup = parseBackupSelector(inputs)
  const s3 = parseS3(inputs)
  const encryptionConfigSecretName = inputs.optional('encryption-config-secret-name', value =>
    subdomainProblem(value)
  )
  const kubeconfig = parseKubeconfig(inputs)
  const context = inputs.optional('context', value =>
    /[\r\n\0]/.test(value) ? 'a kubeconfig context name on one line' : undefined
  )
  const namespace = inputs.text('namespace', value => labelProblem(value, 63))
  const releaseName = inputs.text('release-name', value => labelProblem(value, 53))
  const rancherChartRepo = inputs.url('rancher-chart-repo', 'a Helm repository URL')
  const backupChartRepo = inputs.url('backup-chart-repo', 'a Helm repository URL')
  const backupChartVersion = parseChartVersion(inputs)
  const helmVersion = parseToolVersion(inputs, 'helm-version', 'v3.17.2')
  const kubectlVersion = parseToolVersion(inputs, 'kubectl-version', 'v1.32.3')
  const helmMirror = inputs.url('helm-mirror', 'a base URL serving the Helm release archives', true)
  const kubectlMirror = inputs.url(
    'kubectl-mirror',
    'a base URL serving the kubectl release binaries',
    true
  )
  const dryRun = inputs.boolean('dry-run')
  const allowDowntime = inputs.boolean('allow-downtime')
  const allowOtherClusterBackup = inputs.boolean('allow-other-cluster-backup')
  const keepRancherWebhook = inputs.boolean('keep-rancher-webhook')
  const prune = inputs.boolean('prune')
  const timeoutMs = inputs.duration('timeout')
  const restoreTimeoutMs = inputs.duration('restore-timeout')
  if (timeoutMs !== undefined && restoreTimeoutMs !== undefined && restoreTimeoutMs > timeoutMs) {
    problems.push(
      `Input 'restore-timeout' is ${show(inputs.raw('restore-timeout'))}, longer than input ` +
        `'timeout' (${show(inputs.raw('timeout'))}): 'restore-timeout' must not exceed 'timeout'.`
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

/** Shows a value in a problem message: quoted, with control characters escaped. */
function show(value: string): string {
  return JSON.stringify(value)
}

function problem(name: string, value: string, expected: string): string {
  return `Input '${name}' is ${show(value)}: expected ${expected}.`
}

/** Reads each input once, applies the default when it arrives empty, and records problems. */
class Inputs {
  private readonly values = new Map<string, string>()

  constructor(
    private readonly read: InputReader,
    readonly problems: string[]
  ) {}

  /** The input as given (untrimmed; '' when unset), read only once. */
  raw(name: string): string {
    let value = this.values.get(name)
    if (value === undefined) {
      value = this.read(name) ?? ''
      this.values.set(name, value)
    }
    return value
  }

  /** Trimmed value, or the default when the trimmed value is empty. */
  value(name: string): string {
    const value = this.raw(name).trim()
    return value === '' ? (INPUT_DEFAULTS[name] ?? '') : value
  }

  /** A value that must satisfy `check` (returns what is expected, or undefined when fine). */
  text(name: string, check: (value: string) => string | undefined): string {
    const value = this.value(name)
    const expected = check(value)
    if (expected !== undefined) {
      this.problems.push(problem(name, value, expected))
      return ''
    }
    return value
  }

  /** Like `text`, but '' is accepted (and returned) without a check. */
  optional(name: string, check: (value: string) => string | undefined): string {
    const value = this.value(name)
    return value === '' ? '' : this.text(name, check)
  }

  boolean(name: string): boolean {
    const value = this.value(name)
    if (BOOLEAN_TRUE.includes(value)) return true
    if (BOOLEAN_FALSE.includes(value)) return false
    this.problems.push(problem(name, value, 'true or false'))
    return false
  }

  duration(name: string): number | undefined {
    const value = this.value(name)
    const ms = parseDuration(value)
    if (ms === undefined || ms <= 0 || ms > MAX_DURATION_MS) {
      this.problems.push(
        problem(
          name,
          value,
          'a duration greater than 0 and at most 24h, such as 90s, 30m or 1h30m ' +
            '(units h, m, s, ms; a bare number means seconds)'
        )
      )
      return undefined
    }
    return ms
  }

  /** An http(s) URL without credentials; the trailing slash is removed. */
  url(name: string, what: string, optional = false): string {
    const value = this.value(name)
    if (value === '' && optional) return ''
    let parsed: URL | undefined
    try {
      parsed = new URL(value)
    } catch {
      parsed = undefined
    }
    if (parsed !== undefined && (parsed.username !== '' || parsed.password !== '')) {
      // The value is not shown: it holds credentials.
      this.problems.push(
        `Input '${name}' contains credentials (user:password@): expected ${what} without ` +
          `credentials, which would otherwise appear in logs.`
      )
      return ''
    }
    if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      this.problems.push(problem(name, value, `${what} starting with https:// or http://`))
      return ''
    }
    return value.replace(/\/+$/, '')
  }
}

function labelProblem(value: string, max: number): string | undefined {
  if (value.length <= max && DNS1123_LABEL.test(value)) return undefined
  return (
    `a DNS-1123 label: at most ${max} lowercase letters, digits and hyphens, ` +
    'starting and ending with a letter or digit'
  )
}

function subdomainProblem(value: string): string | undefined {
  if (value.length <= 253 && DNS1123_SUBDOMAIN.test(value)) return undefined
  return (
    'a Kubernetes object name (DNS-1123 subdomain): at most 253 lowercase letters, digits, ' +
    "hyphens and dots, starting and ending with a letter or digit, or '' for none"
  )
}

function parseTargetVersion(inputs: Inputs): TargetVersion {
  const name = 'target-version'
  const value = inputs.value(name)
  if (value === 'previous') return { kind: 'previous' }
  const version = exactVersion(value)
  if (version === undefined) {
    inputs.problems.push(problem(name, value, "'previous' or a version such as 2.8.4 or v2.8.4"))
    return { kind: 'previous' }
  }
  return { kind: 'explicit', version }
}

function parseBackupSelector(inputs: Inputs): BackupSelector {
  const name = 'backup-filename'
  const raw = inputs.raw(name)
  const value = raw.trim()
  const expected = "'latest' or the file name of a backup in the bucket folder"
  if (value === '') {
    inputs.problems.push(problem(name, raw, expected))
    return { kind: 'latest' }
  }
  if (value === 'latest') return { kind: 'latest' }
  if (/[/\\\r\n\0]/.test(value) || value.includes('..')) {
    inputs.problems.push(problem(name, value, `${expected} (a name only: no /, \\ or ..)`))
    return { kind: 'latest' }
  }
  return { kind: 'file', filename: value }
}

function parseS3(inputs: Inputs): S3Settings {
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
  const value = inputs.value(name)
  if (value === '') {
    inputs.problems.push(
      `Input '${name}' is required: expected the name of the S3 bucket that holds the ` +
        'rancher-backup files.'
    )
    return ''
  }
  if (!S3_BUCKET.test(value)) {
    inputs.problems.push(
      problem(
        name,
        value,
        'an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ' +
          'ending with a letter or digit'
      )
    )
    return ''
  }
  return value
}

function parseFolder(inputs: Inputs): string {
  const name = 's3-folder'
  const value = inputs.value(name)
  if (value.includes('..') || /[\\\r\n\0]/.test(value)) {
    inputs.problems.push(
      problem(name, value, "a folder path inside the bucket such as rancher/prod (no '..' or \\)")
    )
    return ''
  }
  return value.replace(/^\/+|\/+$/g, '')
}

/**
 * The operator speaks only TLS to S3 (backup-restore-operator pkg/objectstore/s3minio.go
 * GetS3Client: v1.0.0-v6.x pass `useSSL` `true`, v7.0.0 on pass `!devMode`, which only
 * `CATTLE_DEV_MODE` sets and the chart never does), so `http://` is refused here: a Restore from a
 * plain-HTTP endpoint would retry forever, on the cleanup path after Rancher is gone.
 */
function parseEndpoint(inputs: Inputs, region: string): string {
  const name = 's3-endpoint'
  const value = inputs.value(name)
  if (value === '') return region === '' ? 's3.amazonaws.com' : `s3.${region}.amazonaws.com`
  const expected = 'host[:port] or https://host[:port], without a path, query or credentials'
  if (value.includes('@')) {
    // Not shown: it holds credentials.
    inputs.problems.push(`Input '${name}' contains credentials: expected ${expected}.`)
    return ''
  }
  let rest = value
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(value)
  if (scheme !== null) {
    const given = (scheme[1] ?? '').toLowerCase()
    if (given === 'http') {
      inputs.problems.push(
        problem(
          name,
          value,
          `an HTTPS endpoint: the rancher-backup operator talks to S3 only over TLS, so a Restore from a plain-HTTP endpoint retries forever. Give host[:port] or https://host[:port] of a TLS listener (s3-endpoint-ca for a private CA)`
        )
      )
      return ''
    }
    if (given !== 'https') {
      inputs.problems.push(problem(name, value, `${expected} (scheme ${given} is not supported)`))
      return ''
    }
    rest = value.slice(scheme[0].length)
  }
  rest = rest.replace(/\/$/, '')
  const hostPort =
    /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?)(:(\d{1,5}))?$/.exec(rest)
  const port = hostPort?.[4]
  if (hostPort === null || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    inputs.problems.push(problem(name, value, expected))
    return ''
  }
  return rest
}

function parseEndpointCA(inputs: Inputs): string {
  const name = 's3-endpoint-ca'
  const value = inputs.raw(name).trim()
  if (value === '') return ''
  const pem = value.includes(PEM_BEGIN) ? value : decodeBase64(value)
  if (pem !== undefined && isPem(pem)) return `${pem.replace(/\r\n/g, '\n').trim()}\n`
  const preview = value.length > 40 ? `${value.slice(0, 40)}...` : value
  inputs.problems.push(
    `Input '${name}' is ${show(preview)}: it is neither PEM text (${PEM_BEGIN} ... ${PEM_END}) ` +
      'nor base64-encoded PEM; expected one of those.'
  )
  return ''
}

function isPem(text: string): boolean {
  const begin = text.indexOf(PEM_BEGIN)
  return begin !== -1 && text.indexOf(PEM_END, begin) !== -1
}

function decodeBase64(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined
  return Buffer.from(compact, 'base64').toString('utf8')
}

function parseKeys(inputs: Inputs): { accessKey: string; secretKey: string } {
  // Secrets: their values never appear in a problem.
  const accessKey = inputs.raw('s3-access-key').trim()
  const secretKey = inputs.raw('s3-secret-key').trim()
  let ok = true
  for (const [name, value] of [
    ['s3-access-key', accessKey],
    ['s3-secret-key', secretKey]
  ] as const) {
    if (/[\r\n\0]/.test(value)) {
      inputs.problems.push(
        `Input '${name}' spans several lines (value not shown: it is secret): expected a single-line key.`
      )
      ok = false
    }
  }
  if ((accessKey === '') !== (secretKey === '')) {
    const missing = accessKey === '' ? 's3-access-key' : 's3-secret-key'
    inputs.problems.push(
      `Inputs 's3-access-key' and 's3-secret-key' must be given together (values not shown: ` +
        `they are secret): '${missing}' is empty.`
    )
    ok = false
  }
  return ok ? { accessKey, secretKey } : { accessKey: '', secretKey: '' }
}

function parseKubeconfig(inputs: Inputs): string {
  const name = 'kubeconfig'
  const value = inputs.raw(name)
  if (value.trim() === '') return ''
  const expected =
    "expected the content of a kubeconfig file (YAML with a non-empty 'clusters' list), not a path"
  let document: unknown
  try {
    document = load(value)
  } catch (error) {
    // The exception's message quotes the source: report only where it failed.
    const line = (error as { mark?: { line?: number } }).mark?.line
    const where = typeof line === 'number' ? ` (line ${line + 1})` : ''
    inputs.problems.push(
      `Input '${name}' is not valid YAML${where} (value not shown: it is secret): ${expected}.`
    )
    return ''
  }
  const clusters = isMapping(document) ? document['clusters'] : undefined
  if (!Array.isArray(clusters) || clusters.length === 0) {
    const found = !isMapping(document)
      ? 'is not a YAML mapping'
      : clusters === undefined
        ? "has no 'clusters' list"
        : "has an empty or invalid 'clusters' list"
    inputs.problems.push(`Input '${name}' ${found} (value not shown: it is secret): ${expected}.`)
    return ''
  }
  return value
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Credential strings inside a kubeconfig: tokens, passwords, client keys, auth-provider secrets. */
function kubeconfigCredentials(kubeconfig: string): string[] {
  if (kubeconfig.trim() === '') return []
  let document: unknown
  try {
    document = load(kubeconfig)
  } catch {
    return []
  }
  const found: string[] = []
  const users = isMapping(document) ? document['users'] : undefined
  if (!Array.isArray(users)) return found
  for (const entry of users) {
    const user = isMapping(entry) ? entry['user'] : undefined
    if (!isMapping(user)) continue
    for (const key of ['token', 'password', 'client-key-data']) {
      const value = user[key]
      if (typeof value === 'string') found.push(value)
    }
    const provider = user['auth-provider']
    const config = isMapping(provider) ? provider['config'] : undefined
    if (isMapping(config)) {
      for (const [key, value] of Object.entries(config)) {
        if (/token|secret/i.test(key) && typeof value === 'string') found.push(value)
      }
    }
  }
  return found
}

function parseChartVersion(inputs: Inputs): string {
  return inputs.optional('backup-chart-version', value =>
    exactVersion(value) === undefined
      ? "a chart version such as 103.0.2+up4.0.2, or '' for the line matching the target version"
      : undefined
  )
}

function parseToolVersion(inputs: Inputs, name: string, example: string): string {
  const value = inputs.value(name)
  if (value === 'latest') return 'latest'
  const version = exactVersion(value)
  if (version === undefined) {
    inputs.problems.push(problem(name, value, `'latest' or a version such as ${example}`))
    return ''
  }
  return `v${version}`
}

/** Image reference (registry/path:tag or @sha256:digest); undefined when pinned. */
function imageProblem(value: string): string | undefined {
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
  const reference = new RegExp(
    `^((?:[a-zA-Z0-9.-]+(?::\\d+)?/)?${component}(?:/${component})*)` +
      '(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$'
  )
  const match = reference.exec(value)
  const expected =
    'an image reference pinned to a tag or digest, such as rancher/rancher-cleanup:v1.0.3'
  if (match === null) return expected
  const tag = match[2]
  const digest = match[3]
  if (digest !== undefined) return undefined
  if (tag === undefined || tag === 'latest')
    return `${expected} (pin a tag: latest and no tag are refused)`
  return undefined
}
