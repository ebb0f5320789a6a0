import { readFileSync } from 'node:fs'
import { load } from 'js-yaml'
import { describe, expect, it } from 'vitest'
import {
  INPUT_DEFAULTS,
  InputError,
  getSettings,
  parseDuration,
  secretValues
} from '../src/inputs/input-helper.js'
import type { Settings } from '../src/inputs/settings.js'
import { CA_A } from './support/certs.js'

interface ActionInput {
  description?: string
  default?: string
  required?: boolean
}

const action = load(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, ActionInput>
  outputs: Record<string, { description?: string }>
  runs: Record<string, string>
}

/** What the runner passes for each input when the workflow sets nothing. */
const actionDefaults: Record<string, string> = Object.fromEntries(
  Object.entries(action.inputs).map(([name, input]) => [name, String(input.default ?? '')])
)

const BASE = { 's3-bucket-name': 'rancher-backups' }

/** A reader that behaves like the runner: action.yml defaults, overridden by `given`. */
function reader(given: Record<string, string> = {}): (name: string) => string {
  const values: Record<string, string> = { ...actionDefaults, ...BASE, ...given }
  return name => values[name] ?? ''
}

function settingsFor(given: Record<string, string> = {}): Settings {
  return getSettings(reader(given))
}

function problemsFor(given: Record<string, string>): string[] {
  try {
    getSettings(reader(given))
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    const inputError = error as InputError
    expect(inputError.message).toBe(inputError.problems.join('\n'))
    return inputError.problems
  }
  throw new Error(`expected a problem for ${JSON.stringify(given)}`)
}

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: Q0FEQVRB
users:
  - name: admin
    user:
      token: kubeconfig-token-1234567890
      client-key-data: S0VZREFUQV9TRUNSRVQ=
contexts:
  - name: local
    context: { cluster: local, user: admin }
current-context: local
`

const PEM = CA_A

describe('action.yml', () => {
  it('runs on node24 with a post step, and documents every input and output', () => {
    expect(action.runs).toMatchObject({
      using: 'node24',
      main: 'dist/index.js',
      post: 'dist/post.js'
    })
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.description?.trim(), name).toBeTruthy()
      expect(typeof input.default, name).toBe('string')
    }
    expect(Object.keys(action.outputs).sort()).toEqual(
      [
        'from-version',
        'helm-revision',
        'plan',
        'procedure',
        'restore-name',
        'status',
        'to-version',
        'values-file'
      ].sort()
    )
    for (const [name, output] of Object.entries(action.outputs)) {
      expect(output.description?.trim(), name).toBeTruthy()
    }
  })

  it('has the same inputs getSettings reads, with the same defaults', () => {
    const read = new Set<string>()
    getSettings(name => {
      read.add(name)
      return reader()(name)
    })
    expect([...read].sort()).toEqual(Object.keys(action.inputs).sort())
    expect(INPUT_DEFAULTS).toEqual(actionDefaults)
  })

  it('reads every input even when all of them are bad', () => {
    const read = new Set<string>()
    expect(() =>
      getSettings(name => {
        read.add(name)
        return 'bad value!'
      })
    ).toThrow(InputError)
    expect([...read].sort()).toEqual(Object.keys(action.inputs).sort())
  })
})

describe('getSettings', () => {
  it('builds a complete Settings from the defaults', () => {
    expect(settingsFor()).toEqual<Settings>({
      targetVersion: { kind: 'previous' },
      backup: { kind: 'latest' },
      s3: {
        bucketName: 'rancher-backups',
        folder: '',
        region: '',
        endpoint: 's3.amazonaws.com',
        endpointCA: '',
        insecureTLSSkipVerify: false,
        credentialSecretName: '',
        credentialSecretNamespace: 'default',
        accessKey: '',
        secretKey: ''
      },
      encryptionConfigSecretName: '',
      kubeconfig: '',
      context: '',
      namespace: 'cattle-system',
      releaseName: 'rancher',
      rancherChartRepo: 'https://releases.rancher.com/server-charts/stable',
      backupChartRepo: 'https://charts.rancher.io',
      backupChartVersion: '',
      helmVersion: 'v3.17.2',
      kubectlVersion: 'v1.32.3',
      helmMirror: '',
      kubectlMirror: '',
      dryRun: false,
      allowDowntime: false,
      allowOtherClusterBackup: false,
      keepRancherWebhook: false,
      prune: true,
      timeoutMs: 30 * 60_000,
      restoreTimeoutMs: 20 * 60_000,
      cleanupImage: 'rancher/rancher-cleanup:v1.0.3'
    })
  })

  it('applies the defaults when an input arrives empty (except the required ones)', () => {
    const blank = (name: string) => (name === 's3-bucket-name' ? 'b1-x' : '')
    const settings = getSettings(name => (name === 'backup-filename' ? 'latest' : blank(name)))
    expect(settings).toEqual(settingsFor({ 's3-bucket-name': 'b1-x' }))
  })

  it('parses every good value', () => {
    const settings = settingsFor({
      'target-version': ' v2.8.4 ',
      'backup-filename': 'rancher-backup-2024-05-01T00-00-00Z.tar.gz',
      's3-folder': '/rancher/prod/',
      's3-region': 'eu-west-3',
      's3-insecure-tls-skip-verify': 'TRUE',
      's3-credential-secret-name': 's3-creds.backup',
      's3-credential-secret-namespace': 'backup-creds',
      's3-access-key': ' AKIAEXAMPLE ',
      's3-secret-key': 'wJalrXUtnFEMI/K7MDENG',
      'encryption-config-secret-name': 'encryptionconfig',
      kubeconfig: KUBECONFIG,
      context: ' local ',
      namespace: 'rancher-ns',
      'release-name': 'rancher-main',
      'rancher-chart-repo': 'https://charts.example.com/rancher/',
      'backup-chart-repo': 'http://mirror.local:8080/charts//',
      'backup-chart-version': '103.0.2+up4.0.2',
      'helm-version': '3.16.0',
      'kubectl-version': 'latest',
      'helm-mirror': 'https://mirror.local/helm/',
      'kubectl-mirror': 'https://mirror.local/k8s',
      'dry-run': 'True',
      'allow-downtime': 'true',
      prune: 'False',
      timeout: '1h30m',
      'restore-timeout': '2700',
      'cleanup-image': 'registry.local:5000/rancher/rancher-cleanup@sha256:' + 'a'.repeat(64)
    })
    expect(settings).toMatchObject({
      targetVersion: { kind: 'explicit', version: '2.8.4' },
      backup: { kind: 'file', filename: 'rancher-backup-2024-05-01T00-00-00Z.tar.gz' },
      s3: {
        folder: 'rancher/prod',
        region: 'eu-west-3',
        endpoint: 's3.eu-west-3.amazonaws.com',
        insecureTLSSkipVerify: true,
        credentialSecretName: 's3-creds.backup',
        credentialSecretNamespace: 'backup-creds',
        accessKey: 'AKIAEXAMPLE',
        secretKey: 'wJalrXUtnFEMI/K7MDENG'
      },
      encryptionConfigSecretName: 'encryptionconfig',
      kubeconfig: KUBECONFIG,
      context: 'local',
      namespace: 'rancher-ns',
      releaseName: 'rancher-main',
      rancherChartRepo: 'https://charts.example.com/rancher',
      backupChartRepo: 'http://mirror.local:8080/charts',
      backupChartVersion: '103.0.2+up4.0.2',
      helmVersion: 'v3.16.0',
      kubectlVersion: 'latest',
      helmMirror: 'https://mirror.local/helm',
      kubectlMirror: 'https://mirror.local/k8s',
      dryRun: true,
      allowDowntime: true,
      prune: false,
      timeoutMs: 90 * 60_000,
      restoreTimeoutMs: 45 * 60_000
    })
  })

  it.each([
    ['2.8.4', '2.8.4'],
    ['v2.8.4', '2.8.4'],
    ['2.8.0-rc1', '2.8.0-rc1'],
    ['v2.9.0-alpha.2', '2.9.0-alpha.2']
  ])('accepts target-version %j', (given, version) => {
    expect(settingsFor({ 'target-version': given }).targetVersion).toEqual({
      kind: 'explicit',
      version
    })
  })

  it('accepts keys without a credential Secret (they only read S3)', () => {
    const settings = settingsFor({ 's3-access-key': 'AK', 's3-secret-key': 'SK' })
    expect(settings.s3).toMatchObject({
      accessKey: 'AK',
      secretKey: 'SK',
      credentialSecretName: ''
    })
  })

  it('collects several problems at once', () => {
    const problems = problemsFor({
      'target-version': '2.8',
      namespace: 'Cattle_System',
      'dry-run': 'yes',
      timeout: 'forever'
    })
    expect(problems).toHaveLength(4)
    expect(problems.join('\n')).toMatch(/'target-version'[\s\S]*'namespace'[\s\S]*'dry-run'/)
  })

  it('names a missing bucket', () => {
    expect(problemsFor({ 's3-bucket-name': '' })).toEqual([
      "Input 's3-bucket-name' is required: expected the name of the S3 bucket that holds the rancher-backup files."
    ])
  })

  it('reports target-version like the example', () => {
    expect(problemsFor({ 'target-version': '2.8' })).toEqual([
      `Input 'target-version' is "2.8": expected 'previous' or a version such as 2.8.4 or v2.8.4.`
    ])
  })
})

/** [input, bad value, text the problem must show (defaults to the value, JSON-quoted)] */
const badValues: [string, string, string?][] = [
  ['target-version', '2.8'],
  ['target-version', 'latest'],
  ['target-version', '=2.8.4'],
  ['target-version', 'v2.8.4.1'],
  ['backup-filename', 'folder/backup.tar.gz'],
  ['backup-filename', '/backup.tar.gz'],
  ['backup-filename', 'folder\\backup.tar.gz'],
  ['backup-filename', '..'],
  ['backup-filename', 'a..b.tar.gz'],
  ['backup-filename', 'backup\n.tar.gz', '"backup\\n.tar.gz"'],
  ['backup-filename', 'backup\r.tar.gz', '"backup\\r.tar.gz"'],
  ['backup-filename', 'backup\0.tar.gz', '"backup\\0.tar.gz"'],
  ['backup-filename', '   ', '"   "'],
  ['backup-filename', '', '""'],
  ['s3-bucket-name', 'ab'],
  ['s3-bucket-name', 'a'.repeat(64)],
  ['s3-bucket-name', 'My_Bucket'],
  ['s3-bucket-name', '-bucket'],
  ['s3-bucket-name', 'bucket.'],
  ['s3-folder', 'rancher/../etc'],
  ['s3-folder', 'rancher\\prod'],
  ['s3-folder', 'rancher\nprod', '"rancher\\nprod"'],
  ['s3-region', 'US_EAST_1'],
  ['s3-region', 'us east'],
  ['s3-endpoint', 'ftp://minio.local'],
  ['s3-endpoint', 'https://minio.local/bucket'],
  ['s3-endpoint', 'https://minio.local/?x=1'],
  ['s3-endpoint', 'minio.local:99999'],
  ['s3-endpoint', 'minio.local:port'],
  ['s3-endpoint', 'minio local'],
  ['s3-insecure-tls-skip-verify', 'yes'],
  ['s3-credential-secret-name', 'S3_Creds'],
  ['s3-credential-secret-name', 'a'.repeat(254)],
  ['s3-credential-secret-namespace', 'a.b'],
  ['s3-credential-secret-namespace', 'a'.repeat(64)],
  ['encryption-config-secret-name', 'Encryption Config'],
  ['context', 'a\nb', '"a\\nb"'],
  ['namespace', 'Cattle-System'],
  ['namespace', 'cattle.system'],
  ['namespace', 'n'.repeat(64)],
  ['release-name', 'r'.repeat(54)],
  ['release-name', 'rancher_'],
  ['rancher-chart-repo', 'releases.rancher.com/server-charts/stable'],
  ['rancher-chart-repo', 'oci://registry.local/charts'],
  ['backup-chart-repo', 'file:///charts'],
  ['helm-mirror', 'not a url'],
  ['kubectl-mirror', 'ftp://mirror.local'],
  ['backup-chart-version', '103'],
  ['backup-chart-version', 'stable'],
  ['helm-version', '3.17'],
  ['helm-version', 'stable'],
  ['kubectl-version', 'v1.32'],
  ['dry-run', 'yes'],
  ['dry-run', 'on'],
  ['allow-downtime', '1'],
  ['prune', 'tRuE'],
  ['timeout', 'forever'],
  ['timeout', '0'],
  ['timeout', '0s'],
  ['timeout', '-5m'],
  ['timeout', '30 m'],
  ['timeout', '25h'],
  ['restore-timeout', '5d'],
  ['cleanup-image', 'rancher/rancher-cleanup'],
  ['cleanup-image', 'rancher/rancher-cleanup:latest'],
  ['cleanup-image', 'Rancher/Rancher-Cleanup:v1'],
  ['cleanup-image', 'rancher/rancher-cleanup:v1.0.3 --privileged']
]

describe.each(badValues)('bad %s %j', (name, value, shown) => {
  it('names the input, shows the value and says what is accepted', () => {
    const problems = problemsFor({ [name]: value })
    expect(problems).toHaveLength(1)
    const [message] = problems as [string]
    expect(message).toContain(`'${name}'`)
    expect(message).toContain(shown ?? JSON.stringify(value.trim()))
    expect(message).toMatch(/expected/)
  })
})

describe('secret inputs', () => {
  const SECRET = 'Sup3r-S3cret-Value'

  it.each([
    ['s3-access-key', { 's3-access-key': SECRET }],
    ['s3-secret-key', { 's3-secret-key': SECRET }]
  ])('names both keys when only %s is given, without the value', (_name, given) => {
    const problems = problemsFor(given)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain("'s3-access-key'")
    expect(problems[0]).toContain("'s3-secret-key'")
    expect(problems[0]).not.toContain(SECRET)
  })

  it('refuses a multi-line key without showing it', () => {
    const problems = problemsFor({ 's3-access-key': 'AK', 's3-secret-key': `${SECRET}\nmore` })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain("'s3-secret-key'")
    expect(problems[0]).not.toContain(SECRET)
  })

  it.each([
    ['invalid YAML', `clusters: [${SECRET}\n  bad: : :`],
    ['a path', `/home/runner/${SECRET}/kubeconfig`],
    ['a YAML list', `- ${SECRET}`],
    ['no clusters', `apiVersion: v1\nusers:\n- name: ${SECRET}\n`],
    ['empty clusters', `apiVersion: v1\nclusters: []\nusers:\n- name: ${SECRET}\n`],
    ['clusters not a list', `clusters: ${SECRET}\n`]
  ])('refuses a kubeconfig that is %s without showing it', (_case, kubeconfig) => {
    const problems = problemsFor({ kubeconfig })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain("'kubeconfig'")
    expect(problems[0]).toContain('clusters')
    expect(problems[0]).not.toContain(SECRET)
  })

  it('refuses URL credentials without showing them', () => {
    const problems = problemsFor({
      'helm-mirror': `https://user:${SECRET}@mirror.local/helm`,
      's3-endpoint': `https://user:${SECRET}@minio.local`
    })
    expect(problems).toHaveLength(2)
    for (const message of problems) expect(message).not.toContain(SECRET)
  })

  it.each(['http', 'ftp'])('refuses %s:// URL credentials without showing them', scheme => {
    const problems = problemsFor({ 's3-endpoint': `${scheme}://user:${SECRET}@minio.local` })
    expect(problems).toHaveLength(1)
    for (const message of problems) expect(message).not.toContain(SECRET)
  })

  it('lists the secrets to mask, including the credentials inside the kubeconfig', () => {
    expect(secretValues(settingsFor())).toEqual([])
    const settings = settingsFor({
      kubeconfig: KUBECONFIG,
      's3-access-key': 'AKIAEXAMPLE',
      's3-secret-key': SECRET
    })
    expect(secretValues(settings)).toEqual([
      KUBECONFIG,
      'AKIAEXAMPLE',
      SECRET,
      'kubeconfig-token-1234567890',
      'S0VZREFUQV9TRUNSRVQ='
    ])
  })
})

describe('timeouts', () => {
  it('refuses a restore-timeout longer than the timeout, naming both', () => {
    const problems = problemsFor({ timeout: '10m', 'restore-timeout': '15m' })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain("'restore-timeout'")
    expect(problems[0]).toContain("'timeout'")
    expect(problems[0]).toContain('"15m"')
    expect(problems[0]).toContain('"10m"')
  })

  it('accepts a restore-timeout equal to the timeout', () => {
    expect(settingsFor({ timeout: '20m' }).restoreTimeoutMs).toBe(20 * 60_000)
  })

  it.each<[string, number | undefined]>([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2m30s', 150_000],
    ['1h2m3s', 3_723_000],
    ['500ms', 500],
    ['1s500ms', 1500],
    ['1.5h', 5_400_000],
    ['90', 90_000],
    [' 45 ', 45_000],
    ['0', 0],
    ['0s', 0],
    ['', undefined],
    ['m', undefined],
    ['5', 5000],
    ['5d', undefined],
    ['-1m', undefined],
    ['1h 30m', undefined],
    ['1.5', undefined],
    ['30M', undefined],
    ['h1', undefined]
  ])('parseDuration(%j) = %j', (text, expected) => {
    expect(parseDuration(text)).toBe(expected)
  })
})

describe('s3-endpoint', () => {
  it.each([
    { given: '', region: 'us-east-2', endpoint: 's3.us-east-2.amazonaws.com' },
    { given: 'minio.local:9000', region: 'us-east-1', endpoint: 'minio.local:9000' },
    ...[
      ['', 's3.amazonaws.com'],
      ['minio.local', 'minio.local'],
      ['https://s3.example.com/', 's3.example.com'],
      ['HTTPS://s3.example.com:443', 's3.example.com:443'],
      ['10.0.0.5:9000', '10.0.0.5:9000'],
      ['https://[fd00::5]:9000', '[fd00::5]:9000']
    ].map(([given = '', endpoint = '']) => ({ given, region: '', endpoint }))
  ])('$given with region $region is $endpoint', ({ given, region, endpoint }) => {
    const { s3 } = settingsFor({ 's3-endpoint': given, 's3-region': region })
    expect(s3.endpoint).toBe(endpoint)
  })

  it.each(['http://minio.local:9000', 'HTTP://minio.local:9000/', 'http://[fd00::5]:9000'])(
    'refuses %j: the operator talks to S3 only over TLS',
    given => {
      expect(() => settingsFor({ 's3-endpoint': given })).toThrow(
        /Input 's3-endpoint' is .*: expected an HTTPS endpoint: the rancher-backup operator talks to S3 only over TLS/
      )
    }
  )
})

describe('s3-endpoint-ca', () => {
  it('accepts PEM text and keeps its lines', () => {
    expect(settingsFor({ 's3-endpoint-ca': PEM }).s3.endpointCA).toBe(PEM)
  })

  it('accepts PEM text with CRLF line endings and surrounding blank lines', () => {
    const crlf = `\n\n${PEM.replace(/\n/g, '\r\n')}\n`
    expect(settingsFor({ 's3-endpoint-ca': crlf }).s3.endpointCA).toBe(PEM)
  })

  it('accepts base64 of PEM and stores the PEM text', () => {
    const encoded = Buffer.from(PEM).toString('base64')
    expect(settingsFor({ 's3-endpoint-ca': encoded }).s3.endpointCA).toBe(PEM)
    const wrapped = encoded.replace(/(.{64})/g, '$1\n')
    expect(settingsFor({ 's3-endpoint-ca': wrapped }).s3.endpointCA).toBe(PEM)
  })

  it('says a bad value is neither form, without showing it', () => {
    const [message] = problemsFor({ 's3-endpoint-ca': 'not a certificate' })
    expect(message).toMatch(/neither PEM .* nor base64/)
    expect(message).not.toContain('not a certificate')
  })

  it.each([
    ['aGVsbG8gd29ybGQ=', /neither PEM/],
    ['-----BEGIN CERTIFICATE-----\nMIIB', /no matching -----END CERTIFICATE-----/]
  ])('refuses %j without showing it', (value, reason) => {
    const [message] = problemsFor({ 's3-endpoint-ca': value })
    expect(message).toContain("'s3-endpoint-ca'")
    expect(message).toMatch(reason)
    expect(message).not.toContain(value)
  })
})

describe('cleanup-image', () => {
  it.each([
    'rancher/rancher-cleanup:v1.0.3',
    'registry.local:5000/rancher/rancher-cleanup:v1.0.3',
    'rancher/rancher-cleanup@sha256:' + 'b'.repeat(64),
    'rancher/rancher-cleanup:latest@sha256:' + 'c'.repeat(64)
  ])('accepts %s', image => {
    expect(settingsFor({ 'cleanup-image': image }).cleanupImage).toBe(image)
  })

  it('asks to pin a tag', () => {
    expect(problemsFor({ 'cleanup-image': 'rancher/rancher-cleanup:latest' })[0]).toMatch(
      /pin a tag/
    )
    expect(problemsFor({ 'cleanup-image': 'rancher/rancher-cleanup' })[0]).toMatch(/pin a tag/)
  })
})
