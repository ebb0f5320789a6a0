/**
 * The committed bundle, run as a runner runs it, with each kind of bad input: exit 1, a message
 * naming the input and what is accepted, and nothing downloaded or started.
 */
import { execFile } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const BUNDLE = join(import.meta.dirname, '..', 'dist', 'index.js')
let dir: string
let server: Server
let mirror: string
const requests: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rr-bundle-'))
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  mkdirSync(join(dir, 'tool-cache'))
  // kubectl/helm on PATH that leave a trace if anything starts them
  for (const tool of ['kubectl', 'helm']) {
    writeFileSync(join(bin, tool), `#!/bin/sh\necho "$0" >> ${join(dir, 'started')}\n`)
    chmodSync(join(bin, tool), 0o755)
  }
  server = createServer((req, res) => {
    requests.push(req.url ?? '')
    res.statusCode = 404
    res.end()
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const address = server.address()
  mirror = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})

afterAll(() => {
  server.close()
  rmSync(dir, { recursive: true, force: true })
})

function runBundle(inputs: Record<string, string>): Promise<{ code: number; out: string }> {
  const env: Record<string, string> = {
    PATH: `${join(dir, 'bin')}:/usr/bin:/bin`,
    RUNNER_TEMP: dir,
    RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
    'INPUT_S3-BUCKET-NAME': 'rancher-backups',
    'INPUT_BACKUP-FILENAME': 'latest',
    'INPUT_HELM-MIRROR': mirror,
    'INPUT_KUBECTL-MIRROR': mirror
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  return new Promise(resolve => {
    execFile(process.execPath, [BUNDLE], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        out: stdout + stderr
      })
    })
  })
}

const cases: [string, Record<string, string>, RegExp][] = [
  [
    'a version that is not semver',
    { 'target-version': '2.8' },
    /'target-version' is "2\.8": expected 'previous' or a version/
  ],
  [
    'a backup file name with a path',
    { 'backup-filename': 'prod/b.tar.gz' },
    /'backup-filename' is "prod\/b\.tar\.gz".*no \//
  ],
  ['a backup file name with ..', { 'backup-filename': '..' }, /'backup-filename' is "\.\."/],
  [
    'a backup file name with a leading /',
    { 'backup-filename': '/b.tar.gz' },
    /'backup-filename' is "\/b\.tar\.gz"/
  ],
  ['a backup file name with a newline', { 'backup-filename': 'a\nb.tar.gz' }, /'backup-filename'/],
  [
    'a namespace that is not DNS-1123',
    { namespace: 'Cattle_System' },
    /'namespace' is "Cattle_System": expected a DNS-1123 label/
  ],
  [
    'a release name that is not DNS-1123',
    { 'release-name': 'Rancher!' },
    /'release-name' is "Rancher!"/
  ],
  [
    'a secret name that is not DNS-1123',
    { 's3-credential-secret-name': 'S3 creds' },
    /'s3-credential-secret-name' is "S3 creds"/
  ],
  ['a duration that does not parse', { timeout: 'ten minutes' }, /'timeout' is "ten minutes"/],
  [
    'a URL with another scheme',
    { 'rancher-chart-repo': 'ftp://charts.local' },
    /'rancher-chart-repo' is "ftp:\/\/charts\.local".*http/
  ],
  [
    'a plain-HTTP S3 endpoint (the operator speaks only TLS to S3)',
    { 's3-endpoint': 'http://minio.local:9000' },
    /'s3-endpoint' is "http:\/\/minio\.local:9000": expected an HTTPS endpoint: the rancher-backup operator talks to S3 only over TLS/
  ],
  ['a URL that does not parse', { 'helm-mirror': 'not a url' }, /'helm-mirror' is "not a url"/],
  ['a boolean that is not true/false', { 'dry-run': 'yes' }, /'dry-run' is "yes"/],
  [
    'an access key without its secret key',
    { 's3-access-key': 'AKIAONLYKEY' },
    /s3-access-key.*s3-secret-key/
  ]
]

describe('dist/index.js with a bad input', () => {
  it.each(cases)('%s', async (_name, inputs, message) => {
    const { code, out } = await runBundle(inputs)
    expect(code).toBe(1)
    expect(out).toMatch(message)
    expect(out).not.toContain('AKIAONLYKEY')
    expect(existsSync(join(dir, 'started'))).toBe(false)
    expect(requests).toEqual([])
    expect(readdirSync(join(dir, 'tool-cache'))).toEqual([])
  })
})
