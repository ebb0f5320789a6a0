/**
 * The committed bundle, run as a runner runs it, with each kind of bad input: exit 1, a message
 * naming the input and what is accepted, and nothing downloaded or started.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BundleHarness, commandLines } from './support/bundle-harness.js'

const harness = new BundleHarness()
beforeAll(() => harness.start())
afterAll(() => harness.stop())
beforeEach(() => harness.reset())

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
    const { code, out } = await harness.run(inputs)
    expect(code).toBe(1)
    expect(out).toMatch(message)
    // A secret appears only where it is registered for masking.
    const lines = out.split(/\r\n|\r|\n/).filter(line => !line.startsWith('::add-mask::'))
    expect(lines.join('\n')).not.toContain('AKIAONLYKEY')
    expect(commandLines(out).filter(line => !line.startsWith('::add-mask::'))).toHaveLength(1)
    expect(harness.untouched()).toEqual({ started: false, connections: 0, cached: [] })
  })
})
