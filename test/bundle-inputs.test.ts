/**
 * Issue 9: hostile and mistaken inputs, through the committed bundle. Every class of bad value is
 * refused at validation: exit 1, one error naming the input, the value shown escaped (or not at
 * all when secret or possibly key material), nothing started, downloaded, cached or contacted
 * (mirrors, the kubeconfig's API server and the S3 endpoint all point at a recording server),
 * and no output line the runner would take as a workflow command but the one error and the
 * masks. The legitimate unusual values of the issue pass validation: the run gets as far as
 * asking the (recording) mirror for helm and kubectl.
 */
import { readFileSync } from 'node:fs'
import { load } from 'js-yaml'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import {
  BACKUP_BUNDLE,
  BundleHarness,
  commandLines,
  type BundleRun
} from './support/bundle-harness.js'
import { CA_A, CA_B, KEY_A } from './support/certs.js'

const harness = new BundleHarness()
beforeAll(() => harness.start())
afterAll(() => harness.stop())
beforeEach(() => harness.reset())

const action = load(readFileSync(new URL('../action.yml', import.meta.url), 'utf8')) as {
  inputs: Record<string, unknown>
}
const MULTI_LINE = ['kubeconfig', 's3-endpoint-ca']
const SECRET_INPUTS = ['s3-access-key', 's3-secret-key']
const SINGLE_LINE = Object.keys(action.inputs).filter(name => !MULTI_LINE.includes(name))

const b64 = (s: string) => Buffer.from(s).toString('base64')
const DIGEST = 'sha256:' + 'a'.repeat(64)

/** Raw control characters, ESC and C1 above all (CR and LF are escaped by the toolkit's commands). */
// eslint-disable-next-line no-control-regex -- looking for them is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/u

/** What every refused run shows (of the main action, or of the companion with its harness). */
function expectRefused(run: BundleRun, input: string, h: BundleHarness = harness): string {
  expect(run.code).toBe(1)
  const commands = commandLines(run.out)
  const errors = commands.filter(line => line.startsWith('::error::'))
  // Only the masks and the one error: no ::warning::, no ##[…], no stop-commands.
  expect(commands.filter(line => !line.startsWith('::add-mask::'))).toEqual(errors)
  expect(errors).toHaveLength(1)
  // The error as the runner shows it (its data unescaped as ActionCommand.UnescapeData does).
  const error = (errors[0] ?? '').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
  expect(error).toContain(`'${input}'`)
  expect(error).toMatch(/expected /)
  expect(error).toContain('Fix the inputs named above; nothing was run.')
  // Masks are consumed by the runner; everything else must be free of raw control characters.
  const shown = run.out
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  expect(shown).not.toMatch(RAW_CONTROL)
  expect(shown).not.toContain('\r')
  expect(run.summary).not.toMatch(RAW_CONTROL)
  expect(run.summary).not.toContain('\r')
  expect(h.untouched()).toEqual({ started: false, connections: 0, cached: [] })
  return error
}

// ---- control characters in every single-line input ------------------------------------------

/** [value, how the message shows it] */
const CONTROL_VALUES: [string, string][] = [
  ['a\n::warning::x', '"a\\n::warning::x"'],
  ['a\r::warning::x', '"a\\r::warning::x"'],
  ['a\r\n::error::x', '"a\\r\\n::error::x"'],
  ['a\x1b[31mred', '"a\\x1b[31mred"'],
  ['a\u0085::warning::x', '"a\\x85::warning::x"'],
  ['a\u2028::warning::x', '"a\\u2028::warning::x"'],
  ['a\x7fb', '"a\\x7fb"'],
  ['a\tb', '"a\\tb"'],
  ['a\u202eb', '"a\\u202eb"']
]

/** Every single-line input with a few of them, and a few inputs with all of them. */
const controlCases: [string, string, string][] = [
  ...SINGLE_LINE.flatMap(name =>
    CONTROL_VALUES.slice(0, 4).map(([v, s]) => [name, v, s] as [string, string, string])
  ),
  ...['backup-filename', 's3-folder', 'context', 'helm-mirror'].flatMap(name =>
    CONTROL_VALUES.slice(4).map(([v, s]) => [name, v, s] as [string, string, string])
  )
]

describe('control characters', () => {
  test.each(controlCases)('%s = %j is refused, shown escaped', async (name, value, shown) => {
    const run = await harness.run({ [name]: value })
    const error = expectRefused(run, name)
    expect(error).toMatch(/control character/)
    if (SECRET_INPUTS.includes(name)) {
      expect(error).not.toContain(shown)
      expect(error).toContain('not shown')
    } else {
      expect(error).toContain(shown)
    }
  })

  test.each([
    ['kubeconfig', 'apiVersion: v1\nkind: Config\x1b[2J\n'],
    ['s3-endpoint-ca', `${CA_A}\x1b]0;title\x07`]
  ])('%s: control characters other than line breaks are refused unseen', async (name, value) => {
    const run = await harness.run({ [name]: value })
    const error = expectRefused(run, name)
    expect(error).toContain('not shown')
  })

  test('a hostile value in several inputs at once: one error, every input named', async () => {
    const run = await harness.run({
      'backup-filename': 'x\n::warning::a',
      's3-folder': 'y\r::warning::b',
      context: 'z\n##[warning]c',
      'helm-mirror': 'https://m.local/\n::stop-commands::t'
    })
    const error = expectRefused(run, 'backup-filename')
    for (const name of ['s3-folder', 'context', 'helm-mirror']) expect(error).toContain(`'${name}'`)
    expect(error).toContain('\\x5b')
  })
})

// ---- every other class -------------------------------------------------------------------------

/** [class, inputs, the input named, text the message shows (undefined: the value is not shown)] */
type Case = [string, Record<string, string>, string, string | undefined]

const classes: Case[] = [
  // URLs where a base URL is expected
  ...['helm-mirror', 'kubectl-mirror', 'rancher-chart-repo', 'backup-chart-repo'].flatMap(
    (name): Case[] => [
      [
        'url: user info',
        { [name]: 'https://user:pw-s3cret@mirror.local/x' },
        name,
        '"https://***@mirror.local/x"'
      ],
      [
        'url: query',
        { [name]: 'https://mirror.local/x?token=1' },
        name,
        '"https://mirror.local/x?token=1"'
      ],
      ['url: fragment', { [name]: 'https://mirror.local/x#f' }, name, '"https://mirror.local/x#f"'],
      [
        'url: white space',
        { [name]: 'https://mirror .local/x' },
        name,
        '"https://mirror .local/x"'
      ],
      ['url: IPv6 unclosed', { [name]: 'http://[::1/x' }, name, '"http://[::1/x"'],
      ['url: IPv6 malformed', { [name]: 'http://[1::2::3]/' }, name, '"http://[1::2::3]/"'],
      [
        'url: IPv6 zone',
        { [name]: 'http://[fe80::1%25eth0]/' },
        name,
        '"http://[fe80::1%25eth0]/"'
      ],
      ['url: empty label', { [name]: 'https://mirror..local/' }, name, '"https://mirror..local/"'],
      ['url: leading dot', { [name]: 'https://.mirror.local/' }, name, '"https://.mirror.local/"'],
      ['url: scheme ftp', { [name]: 'ftp://mirror.local/' }, name, '"ftp://mirror.local/"'],
      ['url: scheme file', { [name]: 'file:///etc/passwd' }, name, '"file:///etc/passwd"'],
      ['url: no scheme', { [name]: 'mirror.local/helm' }, name, '"mirror.local/helm"'],
      ['url: no slashes', { [name]: 'https:mirror.local' }, name, '"https:mirror.local"'],
      ['url: port 0', { [name]: 'https://mirror.local:0/' }, name, '"https://mirror.local:0/"']
    ]
  ),
  [
    'endpoint: user info',
    { 's3-endpoint': 'https://ak:sk-s3cret@minio.local' },
    's3-endpoint',
    '"https://***@minio.local"'
  ],
  [
    'endpoint: empty label',
    { 's3-endpoint': 'minio..local:9000' },
    's3-endpoint',
    '"minio..local:9000"'
  ],
  [
    'endpoint: trailing dot',
    { 's3-endpoint': 'minio.local.:9000' },
    's3-endpoint',
    '"minio.local.:9000"'
  ],
  [
    'endpoint: IPv6 unbracketed',
    { 's3-endpoint': 'fd00::5:9000' },
    's3-endpoint',
    '"fd00::5:9000"'
  ],
  ['endpoint: IPv6 unclosed', { 's3-endpoint': '[fd00::5:9000' }, 's3-endpoint', '"[fd00::5:9000"'],
  ['endpoint: not IPv6', { 's3-endpoint': '[fd00::zz]:9000' }, 's3-endpoint', '"[fd00::zz]:9000"'],
  [
    'endpoint: path',
    { 's3-endpoint': 'https://minio.local/bucket' },
    's3-endpoint',
    '"https://minio.local/bucket"'
  ],
  ['endpoint: query', { 's3-endpoint': 'minio.local?x=1' }, 's3-endpoint', '"minio.local?x=1"'],
  ['endpoint: port 0', { 's3-endpoint': 'minio.local:0' }, 's3-endpoint', '"minio.local:0"'],
  ['endpoint: white space', { 's3-endpoint': 'minio local' }, 's3-endpoint', '"minio local"'],
  [
    'endpoint: plain http',
    { 's3-endpoint': 'http://minio.local:9000' },
    's3-endpoint',
    '"http://minio.local:9000"'
  ],
  [
    'endpoint: scheme s3',
    { 's3-endpoint': 's3://minio.local' },
    's3-endpoint',
    '"s3://minio.local"'
  ],
  // s3-endpoint-ca: certificates only, parsed as X.509; never echoed
  ['ca: a private key', { 's3-endpoint-ca': KEY_A }, 's3-endpoint-ca', undefined],
  ['ca: a bundle with a key', { 's3-endpoint-ca': `${CA_A}${KEY_A}` }, 's3-endpoint-ca', undefined],
  ['ca: base64 of a key', { 's3-endpoint-ca': b64(KEY_A) }, 's3-endpoint-ca', undefined],
  [
    'ca: not X.509',
    { 's3-endpoint-ca': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
    's3-endpoint-ca',
    undefined
  ],
  ['ca: corrupted', { 's3-endpoint-ca': CA_A.replace(/M/g, 'N') }, 's3-endpoint-ca', undefined],
  [
    'ca: no END',
    { 's3-endpoint-ca': CA_A.replace('-----END CERTIFICATE-----', '') },
    's3-endpoint-ca',
    undefined
  ],
  ['ca: garbage', { 's3-endpoint-ca': 'not a certificate' }, 's3-endpoint-ca', undefined],
  ['ca: base64 garbage', { 's3-endpoint-ca': b64('hello world') }, 's3-endpoint-ca', undefined],
  // bucket naming rules, folder segments
  ...[
    '192.168.5.4',
    'my..bucket',
    '.bucket',
    'bucket.',
    '-bucket',
    'bucket-',
    'my.-bucket',
    'my-.bucket',
    'xn--bucket',
    'sthree-bucket',
    'bucket-s3alias',
    'bucket--ol-s3',
    'ab',
    'My_Bucket',
    'b'.repeat(64)
  ].map((v): Case => ['bucket', { 's3-bucket-name': v }, 's3-bucket-name', JSON.stringify(v)]),
  ...['..', '.', 'a/../b', 'a/./b', 'a//b', 'rancher/..', 'a\\b'].map((v): Case => [
    'folder',
    { 's3-folder': v },
    's3-folder',
    JSON.stringify(v)
  ]),
  // backup-filename
  ...[
    '.',
    '..',
    '...',
    '....',
    'backup.zip',
    'backup.tar',
    '.tar.gz',
    'a/b.tar.gz',
    'a\\b.tar.gz',
    'Latest'
  ].map((v): Case => [
    'backup name',
    { 'backup-filename': v },
    'backup-filename',
    JSON.stringify(v)
  ]),
  [
    'backup name: .enc without encryption config',
    { 'backup-filename': 'rancher-backup-2026-01-01T00-00-00Z.tar.gz.enc' },
    'backup-filename',
    '"rancher-backup-2026-01-01T00-00-00Z.tar.gz.enc"'
  ],
  // cleanup-image: the reference grammar
  ...[
    'Rancher/Rancher-Cleanup:v1.0.3',
    'rancher/rancher-cleanup:',
    'rancher/rancher-cleanup:-v1',
    'rancher//rancher-cleanup:v1',
    'rancher/rancher-cleanup@sha256:abc',
    'rancher/rancher-cleanup@md5:' + 'a'.repeat(32),
    'rancher/rancher-cleanup@sha256:' + 'A'.repeat(64),
    '[zz::1]:5000/rancher/rancher-cleanup:v1',
    'registry.local:5000/:v1',
    'rancher/rancher-cleanup:v1.0.3 --privileged',
    'rancher/rancher-cleanup:latest',
    'rancher/rancher-cleanup',
    'rancher/rancher-cleanup:' + 'v'.repeat(129)
  ].map((v): Case => ['image', { 'cleanup-image': v }, 'cleanup-image', JSON.stringify(v)]),
  // kubeconfig that is not one, and a context it does not have
  ...[
    'apiVersion: v1\nkind: Config\nclusters: []\n',
    '/home/runner/.kube/config',
    '- a\n- list\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n',
    '{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://10.0.0.1"}}],"contexts":[]}',
    'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://10.0.0.1}\n',
    'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://10.0.0.1}\ncontexts:\n- name: x\n  context: {cluster: other}\ncurrent-context: x\n',
    'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {}\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n',
    'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://10.0.0.1}\ncontexts:\n- name: x\n  context: {cluster: c}\n',
    'clusters: [ : bad'
  ].map((v): Case => ['kubeconfig', { kubeconfig: v }, 'kubeconfig', undefined]),
  ['context: not in the kubeconfig', { context: 'production' }, 'context', '"production"'],
  ['context: a hostile name not in it', { context: '::warning::x' }, 'context', '"::warning::x"'],
  // tool versions
  ...['v2.17.0', '2.16.1', 'v3.17.2+build.1', 'v5.0.0', 'v03.17.2', 'v3.17'].map((v): Case => [
    'helm version',
    { 'helm-version': v },
    'helm-version',
    JSON.stringify(v)
  ]),
  ...['v1.32.3+k3s1', 'v2.0.0', '0.1.0', 'v1.32'].map((v): Case => [
    'kubectl version',
    { 'kubectl-version': v },
    'kubectl-version',
    JSON.stringify(v)
  ]),
  [
    'target version with build metadata',
    { 'target-version': '2.8.4+abc' },
    'target-version',
    '"2.8.4+abc"'
  ]
]

describe('refused at validation', () => {
  test.each(classes)('%s: %j', async (_class, inputs, input, shown) => {
    const run = await harness.run(inputs)
    const error = expectRefused(run, input)
    if (shown !== undefined) expect(error).toContain(shown)
    else expect(error).toContain('not shown')
    // Credentials and key material never appear outside the masks.
    const visible = run.out
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    for (const secret of ['pw-s3cret', 'sk-s3cret', ...KEY_A.split('\n').slice(1, -2)]) {
      expect(visible).not.toContain(secret)
      expect(run.summary).not.toContain(secret)
    }
  })

  test('Helm 2 is refused by name, before the cluster is read', async () => {
    const error = expectRefused(await harness.run({ 'helm-version': 'v2.17.0' }), 'helm-version')
    expect(error).toMatch(/Helm 2 is not supported/)
  })

  test('an encrypted backup name names encryption-config-secret-name', async () => {
    const error = expectRefused(
      await harness.run({ 'backup-filename': 'b-2026-01-01T00-00-00Z.tar.gz.enc' }),
      'backup-filename'
    )
    expect(error).toContain('encryption-config-secret-name')
  })

  test('secrets are masked as given, before validation speaks', async () => {
    const kubeconfig = `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster: { server: 'https://127.0.0.1:${harness.port}' }
contexts:
  - name: c
    context: { cluster: c, user: u }
current-context: c
users:
  - name: u
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: aws
        env:
          - { name: AWS_SECRET_ACCESS_KEY, value: exec-env-s3cret-value }
          - { name: AWS_PROFILE, value: prod }
`
    const run = await harness.run({
      kubeconfig,
      's3-access-key': 'AKIAHARNESS',
      's3-secret-key': 'harness-secret-key-value',
      namespace: 'Not_A_Namespace'
    })
    expectRefused(run, 'namespace')
    const lines = run.out.split('\n')
    const errorAt = lines.findIndex(line => line.startsWith('::error::'))
    for (const secret of ['exec-env-s3cret-value', 'AKIAHARNESS', 'harness-secret-key-value']) {
      const maskAt = lines.indexOf(`::add-mask::${secret}`)
      expect(maskAt).toBeGreaterThanOrEqual(0)
      expect(maskAt).toBeLessThan(errorAt)
    }
    // a short value under a plain name is not a credential
    expect(lines).not.toContain('::add-mask::prod')
  })
})

// ---- legitimate unusual values -----------------------------------------------------------------

const EXEC_KUBECONFIG = () => `apiVersion: v1
kind: Config
clusters:
  - name: eks
    cluster:
      server: https://127.0.0.1:${harness.port}
      certificate-authority-data: ${b64(CA_A)}
contexts:
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
    context: { cluster: eks, user: eks-user }
current-context: arn:aws:eks:eu-west-1:123456789012:cluster/prod
users:
  - name: eks-user
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args: [eks, get-token, --cluster-name, prod]
        env:
          - name: AWS_PROFILE
            value: prod
`

const JSON_KUBECONFIG = () =>
  JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${harness.port}` } }],
      users: [{ name: 'u', user: { token: 'json-token-0123456789' } }],
      contexts: [
        { name: 'a', context: { cluster: 'c', user: 'u' } },
        { name: 'b', context: { cluster: 'c', user: 'u', namespace: 'x' } }
      ],
      'current-context': 'a'
    },
    null,
    '\t'
  )

const legitimate: [string, Record<string, string>][] = [
  ['v-prefixed target', { 'target-version': 'v2.8.4' }],
  ['pre-release target', { 'target-version': '2.9.0-rc1' }],
  ['pre-release target with dots', { 'target-version': 'v2.9.0-alpha.2' }],
  ['duration 1h30m', { timeout: '1h30m' }],
  ['duration 90s', { timeout: '90s', 'restore-timeout': '90s' }],
  ['duration 1.5h', { timeout: '1.5h', 'restore-timeout': '1h' }],
  ['endpoint host:port', { 's3-endpoint': 'minio.local:9000' }],
  ['endpoint https://host:port/', { 's3-endpoint': 'https://minio.local:9000/' }],
  ['endpoint IPv6', { 's3-endpoint': '[fd00::5]:9000' }],
  ['endpoint https IPv6', { 's3-endpoint': 'https://[::1]:9443' }],
  ['endpoint IPv4', { 's3-endpoint': '10.0.0.5:9000' }],
  ['bucket with dots', { 's3-bucket-name': 'backups.rancher.example.com' }],
  ['nested folder', { 's3-folder': '/rancher/prod/eu-west-1/' }],
  ['CA as PEM', { 's3-endpoint-ca': CA_A }],
  ['CA as base64 PEM', { 's3-endpoint-ca': b64(CA_A) }],
  ['CA bundle', { 's3-endpoint-ca': `${CA_A}\n${CA_B}` }],
  [
    'CA bundle with CRLF and explanatory text',
    { 's3-endpoint-ca': `# corp CA\r\n${CA_A}\r\nsecond:\r\n${CA_B}`.replace(/\n/g, '\r\n') }
  ],
  [
    'CA bundle as wrapped base64',
    { 's3-endpoint-ca': b64(CA_A + CA_B).replace(/(.{76})/g, '$1\n') }
  ],
  ['image by digest', { 'cleanup-image': `rancher/rancher-cleanup@${DIGEST}` }],
  [
    'image with registry, tag and digest',
    { 'cleanup-image': `registry.local:5000/rancher/rancher-cleanup:v1.0.3@${DIGEST}` }
  ],
  [
    'image on an IPv6 registry',
    { 'cleanup-image': '[fd00::5]:5000/rancher/rancher-cleanup:v1.0.3' }
  ],
  ['image on localhost', { 'cleanup-image': 'localhost:5000/rancher_x/rancher__cleanup-x:V1_0.3' }],
  [
    'image latest pinned by digest',
    { 'cleanup-image': `rancher/rancher-cleanup:latest@${DIGEST}` }
  ],
  ['image sha512', { 'cleanup-image': `rancher/rancher-cleanup@sha512:${'b'.repeat(128)}` }],
  ['kubeconfig as JSON, context chosen', { kubeconfig: JSON_KUBECONFIG(), context: 'b' }],
  ['kubeconfig with exec auth', { kubeconfig: EXEC_KUBECONFIG() }],
  ['helm 4', { 'helm-version': 'v4.1.4' }],
  ['helm pre-release', { 'helm-version': '3.18.0-rc.1' }],
  ['kubectl pre-release', { 'kubectl-version': 'v1.34.0-rc.1' }],
  ['chart version with build metadata', { 'backup-chart-version': '103.0.2+up4.0.2' }],
  [
    'encrypted backup with its config',
    {
      'backup-filename': 'rancher-backup-2026-01-01T00-00-00Z.tar.gz.enc',
      'encryption-config-secret-name': 'encryptionconfig'
    }
  ],
  ['mirror with a path and port', { 'helm-mirror': `${'http://127.0.0.1'}:PORT/helm/` }],
  ['chart repo on IPv6', { 'rancher-chart-repo': 'https://[fd00::5]:8443/charts/' }],
  [
    'a context name with colons and slashes',
    { kubeconfig: EXEC_KUBECONFIG(), context: 'arn:aws:eks:eu-west-1:123456789012:cluster/prod' }
  ]
]

describe('legitimate unusual values pass validation', () => {
  test.each(legitimate)('%s', async (_name, given) => {
    const inputs = Object.fromEntries(
      Object.entries(given).map(([k, v]) => [k, v.replace('PORT', String(harness.port))])
    )
    const run = await harness.run(inputs)
    expect(run.out).not.toMatch(/Input '[^']+' /)
    // Past validation: it asked the mirror for the tools (which answers 404).
    expect(harness.requests.length).toBeGreaterThan(0)
    expect(run.out).toMatch(/Download of .* failed|Could not resolve/)
    expect(
      commandLines(run.out).filter(
        l => !/^::(add-mask|error|group|endgroup|debug|save-state)[ :]/.test(l)
      )
    ).toEqual([])
  })
})

// ---- the backup companion (dist/backup/index.js): the same rules, through the same reader ------

describe('the backup companion refuses bad inputs the same way', () => {
  const companion = new BundleHarness(BACKUP_BUNDLE)
  beforeAll(() => companion.start())
  afterAll(() => companion.stop())
  beforeEach(() => companion.reset())

  test.each<[string, Record<string, string>, string, string | undefined]>([
    [
      'a prefix with a workflow command',
      { 'backup-name-prefix': 'a\n::warning::x' },
      'backup-name-prefix',
      '"a\\n::warning::x"'
    ],
    [
      'a prefix that is no DNS label',
      { 'backup-name-prefix': 'Pre_Upgrade' },
      'backup-name-prefix',
      '"Pre_Upgrade"'
    ],
    [
      'a ResourceSet name with ESC',
      { 'resource-set-name': 'rs\x1b[31m' },
      'resource-set-name',
      '"rs\\x1b[31m"'
    ],
    [
      'a plain-HTTP S3 endpoint',
      { 's3-endpoint': 'http://minio.local:9000' },
      's3-endpoint',
      'only over TLS'
    ],
    [
      'a secret key with a control character',
      { 's3-access-key': 'ak', 's3-secret-key': 'sk-s3cret\x1b' },
      's3-secret-key',
      undefined
    ],
    ['no duration', { timeout: 'soon' }, 'timeout', '"soon"'],
    ['Helm 2', { 'helm-version': 'v2.17.0' }, 'helm-version', 'Helm 2 is not supported']
  ])('%s', async (_what, inputs, input, shown) => {
    const run = await companion.run(inputs)
    const error = expectRefused(run, input, companion)
    if (shown !== undefined) expect(error).toContain(shown)
    else {
      expect(error).toContain('not shown')
      const visible = run.out.split('\n').filter(line => !line.startsWith('::add-mask::'))
      expect(visible.join('\n')).not.toContain('sk-s3cret')
    }
    expect(run.outputs).toMatch(/status<<ghadelimiter_[\w-]+\nfailed\n/)
    expect(run.outputs).toMatch(/backup-filename<<ghadelimiter_[\w-]+\n\n/)
  })

  test('valid inputs pass validation: it asks the mirror for the tools', async () => {
    const run = await companion.run({ 'resource-set-name': 'rancher-resource-set-full' })
    expect(run.out).not.toMatch(/Input '[^']+' /)
    expect(companion.requests.length).toBeGreaterThan(0)
  })
})
