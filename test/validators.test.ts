/** The pure rules behind input validation (issue 9) and the one escape for printed text. */
import { load as loadYaml } from 'js-yaml'
import { describe, expect, test } from 'vitest'
import { parseCertificates } from '../src/inputs/certificates.js'
import { parseImageReference } from '../src/inputs/image-reference.js'
import { checkKubeconfig, kubeconfigCredentials } from '../src/inputs/kubeconfig.js'
import { backupFilenameProblem, bucketProblem, folderProblem } from '../src/inputs/s3-names.js'
import { authorityProblem, parseBaseUrl, parseS3Endpoint } from '../src/inputs/urls.js'
import { maskingRunner, secretsInOutput } from '../src/kube/secret-output.js'
import { escapeControls, logLine, quote } from '../src/report/escape.js'
import { toolVersionRule } from '../src/tools/tool-urls.js'
import { CA_A, CA_B, KEY_A } from './support/certs.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

/** A line the runner would take as a workflow command. */
const isCommand = (line: string) => /^\s*::/u.test(line) || line.includes('##[')

describe('escape', () => {
  test.each([
    ['a\n::warning::x', '"a\\n::warning::x"'],
    ['a\r::warning::x', '"a\\r::warning::x"'],
    ['\x1b[31m', '"\\x1b[31m"'],
    ['a\u0085b\u009bc', '"a\\x85b\\x9bc"'],
    ['a\x7f', '"a\\x7f"'],
    ['a\u2028b', '"a\\u2028b"'],
    ['rtl\u202eoverride', '"rtl\\u202eoverride"'],
    ['back\\slash "quoted"', '"back\\\\slash \\"quoted\\""'],
    ['##[warning]x', '"##\\x5bwarning]x"'],
    ['plain ünïcödé', '"plain ünïcödé"']
  ])('quote(%j) = %s', (value, shown) => {
    expect(quote(value)).toBe(shown)
    expect(isCommand(quote(value))).toBe(false)
  })

  test.each([
    '::warning::x',
    '  ::error::x',
    '\t::add-mask::x',
    'a\n::warning::x',
    'a\r::warning::x',
    'a\r\n::warning::x',
    'x ##[warning]y',
    '\u00a0::warning::x',
    'a\u2028::warning::x',
    '::stop-commands::token'
  ])('logLine(%j) starts no workflow command on any line', text => {
    const out = logLine(text)
    for (const line of out.split(/\r\n|\r|\n/)) expect(isCommand(line)).toBe(false)
    expect(out).not.toContain('\r')
  })

  test('logLine keeps line breaks, tabs and ordinary text, and escapes the rest', () => {
    expect(logLine('a\tb\nc\r\nd\re')).toBe('a\tb\nc\nd\ne')
    expect(logLine('colour \x1b[31mred\x1b[0m')).toBe('colour \\x1b[31mred\\x1b[0m')
    expect(logLine('a: b :: c')).toBe('a: b :: c')
    expect(logLine('::x')).toBe('\\x3a:x')
  })

  test('escapeControls leaves printable text alone', () => {
    expect(escapeControls('https://mirror.local/helm <none> & "x"')).toBe(
      'https://mirror.local/helm <none> & "x"'
    )
  })
})

describe('URLs', () => {
  test.each([
    ['https://charts.example.com/rancher/', 'https://charts.example.com/rancher'],
    ['HTTP://Mirror.Local:8080//', 'http://mirror.local:8080'],
    ['https://[fd00::5]:8443/charts', 'https://[fd00::5]:8443/charts'],
    ['https://bücher.example/helm', 'https://xn--bcher-kva.example/helm'],
    ['http://10.0.0.5/a/b/', 'http://10.0.0.5/a/b']
  ])('parseBaseUrl(%j) = %j', (value, url) => {
    expect(parseBaseUrl(value)).toEqual({ value: url })
  })

  test.each([
    ['https://u:p@host/x', /credentials/, 'https://***@host/x'],
    ['https://u@host/x', /credentials/, 'https://***@host/x'],
    ['https://host/x?y', /query/, undefined],
    ['https://host/x#y', /fragment/, undefined],
    ['https://ho st/', /white space/, undefined],
    ['https://host\\x', /backslash/, undefined],
    ['http://[::1/', /malformed IPv6/, undefined],
    ['http://[1::2::3]/', /not an IPv6 address/, undefined],
    ['http://[fe80::1%25eth0]/', /zone/, undefined],
    ['http://::1/', /in brackets/, undefined],
    ['https://a..b/', /empty label/, undefined],
    ['https://a.b./', /empty label/, undefined],
    ['https://host:/', /port/, undefined],
    ['https://host:65536/', /port/, undefined],
    ['https://-host/', /label/, undefined],
    ['ftp://host/', /scheme ftp/, undefined],
    ['javascript:alert(1)', /https:\/\//, undefined],
    ['https:host', /https:\/\//, undefined],
    ['host/path', /https:\/\//, undefined]
  ])('parseBaseUrl(%j) is refused', (value, reason, redacted) => {
    const parsed = parseBaseUrl(value)
    expect(parsed).toMatchObject({ problem: expect.stringMatching(reason) as unknown })
    if (redacted !== undefined) expect(parsed).toMatchObject({ redacted })
  })

  test.each([
    ['minio.local:9000', 'minio.local:9000'],
    ['https://minio.local:9000/', 'minio.local:9000'],
    ['HTTPS://S3.Example.com:443', 's3.example.com:443'],
    ['[fd00::5]:9000', '[fd00::5]:9000'],
    ['https://[::1]', '[::1]'],
    ['10.0.0.5', '10.0.0.5']
  ])('parseS3Endpoint(%j) = %j', (value, endpoint) => {
    expect(parseS3Endpoint(value)).toEqual({ value: endpoint })
  })

  test.each([
    'fd00::5:9000',
    '[fd00::5',
    'a..b',
    'host:0',
    'host:x',
    'https://h/p',
    'h?x',
    's3://h'
  ])('parseS3Endpoint(%j) is refused', value => {
    expect(parseS3Endpoint(value)).toHaveProperty('problem')
  })

  test('authorityProblem accepts host, host:port and [v6]:port', () => {
    for (const a of ['h', 'h.example:1', '[::1]:65535', '127.0.0.1:80'])
      expect(authorityProblem(a)).toBeUndefined()
  })
})

describe('S3 names', () => {
  test.each(['rancher-backups', 'backups.rancher.example.com', 'a1b', 'x'.repeat(63)])(
    'bucket %j is fine',
    name => expect(bucketProblem(name)).toBeUndefined()
  )
  test.each([
    ['192.168.5.4', /IP address/],
    ['my..bucket', /adjacent dots/],
    ['.bucket', /start and end/],
    ['bucket-', /start and end/],
    ['a.-b', /dot next to a hyphen/],
    ['a-.b', /dot next to a hyphen/],
    ['xn--abc', /prefix xn--/],
    ['amzn-s3-demo-x', /prefix amzn-s3-demo-/],
    ['abc-s3alias', /suffix -s3alias/],
    ['abc.mrap', /suffix .mrap/],
    ['abc--x-s3', /suffix --x-s3/],
    ['Abc', /lowercase/],
    ['a_b', /lowercase/],
    ['ab', /not 3-63/]
  ])('bucket %j is refused: %s', (name, reason) => {
    expect(bucketProblem(name)).toMatch(reason)
  })

  test.each(['', 'rancher', 'rancher/prod/eu-1', 'a.b/c-d'])('folder %j is fine', folder =>
    expect(folderProblem(folder)).toBeUndefined()
  )
  test.each(['..', '.', 'a/../b', 'a/./b', 'a//b', 'a\\b', 'a/...'])(
    'folder %j is refused',
    folder => expect(folderProblem(folder)).toBeDefined()
  )

  test.each([
    'rancher-backup-2026-01-01T00-00-00Z.tar.gz',
    'b-11111111-2222-3333-4444-555555555555-2026-01-01T00-00-00+02-00.tar.gz.enc',
    'my backup.tar.gz'
  ])('backup file %j is fine', name => expect(backupFilenameProblem(name)).toBeUndefined())
  test.each([
    '.',
    '..',
    '...',
    'a/b.tar.gz',
    'a\\b.tar.gz',
    'a..tar.gz',
    'b.zip',
    '.tar.gz',
    'b.enc'
  ])('backup file %j is refused', name => expect(backupFilenameProblem(name)).toBeDefined())
})

describe('image references (distribution/reference)', () => {
  const digest = 'sha256:' + 'a'.repeat(64)
  test.each([
    [
      'rancher/rancher-cleanup:v1.0.3',
      { domain: '', path: 'rancher/rancher-cleanup', tag: 'v1.0.3' }
    ],
    ['busybox', { domain: '', path: 'busybox', tag: undefined }],
    ['localhost:5000/a/b:t', { domain: 'localhost:5000', path: 'a/b', tag: 't' }],
    ['[fd00::5]:5000/a:t', { domain: '[fd00::5]:5000', path: 'a', tag: 't' }],
    [
      'Registry.Example.COM/a__b/c-d.e:T_1',
      { domain: 'Registry.Example.COM', path: 'a__b/c-d.e', tag: 'T_1' }
    ],
    [`a/b@${digest}`, { path: 'a/b', tag: undefined, digest }],
    [`r.io/a/b:v1@${digest}`, { domain: 'r.io', tag: 'v1', digest }],
    [`a@sha512:${'f'.repeat(128)}`, { digest: `sha512:${'f'.repeat(128)}` }]
  ])('parses %j', (value, expected) => {
    expect(parseImageReference(value)).toMatchObject(expected)
  })

  test.each([
    ['', /empty/],
    ['a b', /white space/],
    ['rancher/Cleanup', /grammar/],
    ['a/B', /grammar/],
    ['a//b', /grammar/],
    ['a/b:', /grammar/],
    ['a/b:.x', /grammar/],
    ['a/b:' + 'x'.repeat(129), /grammar/],
    ['a_/b', /grammar/],
    ['-a/b', /grammar/],
    ['a/b@sha256:abc', /grammar/],
    ['a/b@md5:' + 'a'.repeat(32), /not sha256/],
    ['a/b@sha256:' + 'A'.repeat(64), /lowercase hexadecimal/],
    ['a/b@sha256:' + 'a'.repeat(63) + 'aa', /64 lowercase/],
    ['[zz::1]:5000/a:t', /grammar|IPv6/],
    ['[1::2::3]:5000/a:t', /not an IPv6 address/],
    ['r.io/' + 'a'.repeat(260) + ':t', /longer than 255/]
  ])('refuses %j', (value, reason) => {
    const parsed = parseImageReference(value)
    expect(parsed).toHaveProperty('problem')
    expect((parsed as { problem: string }).problem).toMatch(reason)
  })
})

describe('certificates', () => {
  test.each([
    ['PEM', CA_A, 1],
    ['base64 PEM', b64(CA_A), 1],
    ['bundle', CA_A + CA_B, 2],
    [
      'CRLF bundle with text between',
      `comment\r\n${CA_A}text\r\n${CA_B}`.replace(/\n/g, '\r\n'),
      2
    ],
    ['wrapped base64 bundle', b64(CA_A + CA_B).replace(/(.{64})/g, '$1\n'), 2]
  ])('%s is parsed as X.509', (_name, value, count) => {
    const parsed = parseCertificates(value)
    expect(parsed).toMatchObject({ count })
    expect((parsed as { pem: string }).pem).toContain(CA_A.trim())
  })

  test.each([
    ['a private key', KEY_A, /PRIVATE KEY block, a private key/],
    ['a key after a certificate', CA_A + KEY_A, /block 2 is a PRIVATE KEY/],
    [
      'an RSA key',
      '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----',
      /private key/
    ],
    ['base64 of a key', b64(KEY_A), /private key/],
    [
      'a CSR',
      '-----BEGIN CERTIFICATE REQUEST-----\nAA\n-----END CERTIFICATE REQUEST-----',
      /CERTIFICATE REQUEST block/
    ],
    ['not X.509', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', /X\.509/],
    [
      'second not X.509',
      `${CA_A}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----`,
      /certificate 2 of 2/
    ],
    ['unterminated', CA_A.replace('-----END CERTIFICATE-----', ''), /no matching/],
    ['text', 'hello', /neither PEM/],
    ['base64 text', b64('hello'), /neither PEM/]
  ])('%s is refused', (_name, value, reason) => {
    const parsed = parseCertificates(value)
    expect((parsed as { problem: string }).problem).toMatch(reason)
    expect(JSON.stringify(parsed)).not.toContain(KEY_A.split('\n')[1])
  })
})

describe('kubeconfig', () => {
  const good = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: 'https://10.0.0.1:6443' } }]
users: [{ name: u, user: { token: abcdefghijkl } }]
contexts:
  - { name: a, context: { cluster: c, user: u } }
  - { name: 'arn:aws:eks:x:1:cluster/p', context: { cluster: c } }
current-context: a
`
  test('a good one, with or without a context', () => {
    expect(checkKubeconfig(good, '')).toEqual({})
    expect(checkKubeconfig(good, 'arn:aws:eks:x:1:cluster/p')).toEqual({})
    expect(checkKubeconfig(JSON.stringify({ ...{ kind: 'Config' }, ...parse(good) }), 'a')).toEqual(
      {}
    )
  })

  test('a context it does not have is the context input’s problem', () => {
    expect(checkKubeconfig(good, 'prod').context).toMatch(/no context of that name .*2 contexts/)
  })

  test.each([
    ['/home/runner/.kube/config', /path/],
    ['- a', /mapping/],
    ['kind: Pod\nclusters: []', /kind/],
    ['clusters: []', /empty 'clusters'/],
    ['clusters: [{ name: c, cluster: { server: s } }]', /no 'contexts'/],
    ['clusters: [{ name: c, cluster: { server: s } }]\ncontexts: []', /empty 'contexts'/],
    ['clusters: [{ cluster: {} }]', /without a name/],
    [good.replace('current-context: a', ''), /no 'current-context'/],
    [good.replace('current-context: a', 'current-context: z'), /current-context/],
    [good.replace('cluster: c, user: u', 'cluster: x, user: u'), /no cluster entry/],
    [good.replace("{ server: 'https://10.0.0.1:6443' }", '{}'), /no 'server'/],
    [good.replace('cluster: c, user: u', 'cluster: c, user: nobody'), /no user entry/],
    ['clusters: [ : bad', /not valid YAML/]
  ])('refuses %j', (text, reason) => {
    expect(checkKubeconfig(text, '').kubeconfig).toMatch(reason)
  })

  test('credentials: tokens, keys, auth-provider secrets and exec env values', () => {
    const text = `users:
- name: a
  user:
    token: tok-0123456789
    client-key-data: a2V5LWRhdGE=
    auth-provider: { config: { id-token: idtok-0123, client-secret: cs-0123, client-id: public } }
- name: b
  user:
    exec:
      command: aws
      env:
      - { name: AWS_SECRET_ACCESS_KEY, value: short }
      - { name: AWS_PROFILE, value: prod }
      - { name: SOMETHING, value: a-long-opaque-value }
`
    expect(kubeconfigCredentials(text).sort()).toEqual(
      [
        'tok-0123456789',
        'a2V5LWRhdGE=',
        'idtok-0123',
        'cs-0123',
        'short',
        'a-long-opaque-value'
      ].sort()
    )
  })
})

function parse(text: string): Record<string, unknown> {
  return loadYaml(text) as Record<string, unknown>
}

describe('secrets read from the cluster', () => {
  const tlsKey = Buffer.from(KEY_A).toString('base64')
  const secret = JSON.stringify({
    kind: 'Secret',
    metadata: { name: 'tls-rancher-ingress' },
    data: { 'tls.key': tlsKey, 'tls.crt': b64(CA_A) }
  })

  test('a Secret: its data as stored, decoded, and a PEM key line by line', () => {
    const found = secretsInOutput(secret)
    expect(found).toContain(tlsKey)
    expect(found).toContain(KEY_A)
    for (const line of KEY_A.split('\n').slice(1, -2)) expect(found).toContain(line)
    expect(found.some(s => /^-----[A-Z ]+-----$/.test(s))).toBe(false)
  })

  test('helm get values: bootstrapPassword and password-like keys, not names', () => {
    const values = `hostname: rancher.example.com
bootstrapPassword: admin-pw-123
ingress: { tls: { source: secret, secretName: tls-rancher-ingress } }
proxyPassword: pp-0123
replicas: 3
`
    expect(secretsInOutput(values).sort()).toEqual(['admin-pw-123', 'pp-0123'])
  })

  test('helm get manifest: Secret documents, stringData included', () => {
    const manifest = `---
apiVersion: v1
kind: Secret
metadata: { name: bootstrap-secret }
stringData: { bootstrapPassword: manifest-pw-1 }
---
kind: Deployment
metadata: { name: rancher }
`
    expect(secretsInOutput(manifest)).toContain('manifest-pw-1')
  })

  test('the saved state: values and Secrets inside its data', () => {
    const saved = JSON.stringify({
      kind: 'Secret',
      data: {
        'values.yaml': b64('bootstrapPassword: saved-pw-456\nhostname: h\n'),
        'secrets.json': b64(`[${secret}]`)
      }
    })
    const found = secretsInOutput(saved)
    expect(found).toContain('saved-pw-456')
    expect(found).toContain(KEY_A)
  })

  test('garbage and empty output find nothing and never throw', () => {
    expect(secretsInOutput('')).toEqual([])
    expect(secretsInOutput('{not json: [')).toEqual([])
  })

  test('the masking runner masks secret outputs only, before returning them', async () => {
    const masked: string[] = []
    const inner = {
      run: () => Promise.resolve({ exitCode: 0, stdout: secret, stderr: '', durationMs: 1 })
    }
    const runner = maskingRunner(inner, s => masked.push(s))
    const command = { tool: 'kubectl' as const, args: ['get'], timeoutMs: 1, mutating: false }
    await runner.run(command)
    expect(masked).toEqual([])
    await runner.run({ ...command, secretOutput: true })
    expect(masked).toContain(KEY_A)
  })
})

describe('tool versions', () => {
  test.each([
    ['helm', 'v3.17.2', 'v3.17.2'],
    ['helm', '4.1.4', 'v4.1.4'],
    ['helm', 'V3.18.0-rc.1', 'v3.18.0-rc.1'],
    ['helm', 'LATEST', 'latest'],
    ['kubectl', 'v1.34.0-rc.1', 'v1.34.0-rc.1']
  ] as const)('%s %j → %j', (tool, value, version) => {
    expect(toolVersionRule(tool, value)).toEqual({ version })
  })

  test.each([
    ['helm', 'v2.17.0', /Helm 2 is not supported/],
    ['helm', 'v5.0.0', /Helm 5 is not supported/],
    ['helm', 'v3.17.2+build.1', /without build metadata \(\+build\.1\)/],
    ['kubectl', 'v1.32.3+k3s1', /without build metadata/],
    ['kubectl', 'v2.0.0', /kubectl 2\.x does not exist/],
    ['helm', 'v03.1.0', /leading zeros/],
    ['helm', '3.17', /release version/],
    ['helm', 'v3.17.2 ', undefined]
  ] as const)('%s %j is refused', (tool, value, reason) => {
    const rule = toolVersionRule(tool, value)
    if (reason === undefined) return expect(rule).toEqual({ version: 'v3.17.2' })
    expect((rule as { expected: string }).expected).toMatch(reason)
  })
})
