import { execFileSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  EMPTY_PAYLOAD_SHA256,
  S3Error,
  canonicalQuery,
  decodeXmlEntities,
  headObject,
  listObjects,
  parseEndpoint,
  parseListObjectsV2,
  s3ErrorFromResponse,
  s3Request,
  signRequest,
  type S3Target
} from '../src/facts/s3-client.js'

// ---------------------------------------------------------------------------------------------
// Signature V4 against AWS's documented examples
// ---------------------------------------------------------------------------------------------

describe('signRequest (AWS documented examples)', () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
  const s3Params = {
    accessKey: 'AKIAIOSFODNN7EXAMPLE',
    secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
    service: 's3',
    date: new Date('2013-05-24T00:00:00Z')
  }

  it('GET Object example', () => {
    const signed = signRequest(
      {
        method: 'GET',
        path: '/test.txt',
        query: [],
        headers: { Host: 'examplebucket.s3.amazonaws.com', Range: 'bytes=0-9' },
        payloadHash: EMPTY_PAYLOAD_SHA256
      },
      s3Params
    )
    expect(signed.canonicalRequest).toBe(
      [
        'GET',
        '/test.txt',
        '',
        'host:examplebucket.s3.amazonaws.com',
        'range:bytes=0-9',
        `x-amz-content-sha256:${EMPTY_PAYLOAD_SHA256}`,
        'x-amz-date:20130524T000000Z',
        '',
        'host;range;x-amz-content-sha256;x-amz-date',
        EMPTY_PAYLOAD_SHA256
      ].join('\n')
    )
    expect(signed.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n' +
        '7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972'
    )
    expect(signed.signature).toBe(
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'
    )
    expect(signed.headers['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'
    )
  })

  it('GET Bucket (List Objects) example', () => {
    const signed = signRequest(
      {
        method: 'GET',
        path: '/',
        query: [
          ['prefix', 'J'],
          ['max-keys', '2']
        ],
        headers: { host: 'examplebucket.s3.amazonaws.com' },
        payloadHash: EMPTY_PAYLOAD_SHA256
      },
      s3Params
    )
    expect(signed.signature).toBe(
      '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'
    )
  })

  it('PUT Object example (encoded key)', () => {
    const body = 'Welcome to Amazon S3.'
    const signed = signRequest(
      {
        method: 'PUT',
        path: '/test%24file.text',
        query: [],
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          date: 'Fri, 24 May 2013 00:00:00 GMT',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY'
        },
        payloadHash: createHash('sha256').update(body).digest('hex')
      },
      s3Params
    )
    expect(signed.signature).toBe(
      '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd'
    )
  })

  it('get-vanilla from the SigV4 test suite', () => {
    const signed = signRequest(
      {
        method: 'GET',
        path: '/',
        query: [],
        headers: { Host: 'example.amazonaws.com' },
        payloadHash: EMPTY_PAYLOAD_SHA256,
        contentSha256Header: false
      },
      {
        accessKey: 'AKIDEXAMPLE',
        secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        region: 'us-east-1',
        service: 'service',
        date: new Date('2015-08-30T12:36:00Z')
      }
    )
    expect(signed.headers['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'
    )
  })

  it('encodes and sorts the canonical query', () => {
    expect(
      canonicalQuery([
        ['prefix', 'a b/c*'],
        ['list-type', '2'],
        ['continuation-token', '1/x+y=']
      ])
    ).toBe('continuation-token=1%2Fx%2By%3D&list-type=2&prefix=a%20b%2Fc%2A')
  })
})

// ---------------------------------------------------------------------------------------------
// Small pure pieces
// ---------------------------------------------------------------------------------------------

describe('parsing helpers', () => {
  it('decodes XML entities', () => {
    expect(decodeXmlEntities('a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#38; &#x41;')).toBe(
      'a&b <c> "d" \'e\' & A'
    )
  })

  it('parses a ListObjectsV2 page', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>rancher/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>rancher/a&amp;b.tar.gz</Key><LastModified>2026-11-20T09:55:01.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>4096</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>rancher/c.tar.gz</Key><LastModified>2026-11-20T10:55:01Z</LastModified>
    <Owner><ID>x</ID></Owner><Size>0</Size></Contents>
  <NextContinuationToken>tok&amp;en==</NextContinuationToken>
</ListBucketResult>`
    expect(parseListObjectsV2(xml)).toEqual({
      objects: [
        { key: 'rancher/a&b.tar.gz', lastModified: '2026-11-20T09:55:01.000Z', size: 4096 },
        { key: 'rancher/c.tar.gz', lastModified: '2026-11-20T10:55:01.000Z', size: 0 }
      ],
      isTruncated: true,
      nextContinuationToken: 'tok&en=='
    })
    expect(parseListObjectsV2('<ListBucketResult><IsTruncated>false</IsTruncated>')).toEqual({
      objects: [],
      isTruncated: false,
      nextContinuationToken: undefined
    })
  })

  it('parses endpoints', () => {
    expect(parseEndpoint('s3.example.com', 'https')).toEqual({
      hostname: 's3.example.com',
      port: 443,
      hostHeader: 's3.example.com'
    })
    expect(parseEndpoint('minio.local:9000', 'http')).toEqual({
      hostname: 'minio.local',
      port: 9000,
      hostHeader: 'minio.local:9000'
    })
    expect(parseEndpoint('https://s3.example.com:443/', 'https').hostHeader).toBe('s3.example.com')
    expect(parseEndpoint('[::1]:9000', 'http')).toEqual({
      hostname: '::1',
      port: 9000,
      hostHeader: '[::1]:9000'
    })
    expect(() => parseEndpoint('', 'https')).toThrow(S3Error)
  })
})

// ---------------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------------

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY-very-secret'

function target(over: Partial<S3Target> = {}): S3Target {
  return {
    scheme: 'http',
    endpoint: 'example.invalid',
    region: '',
    bucket: 'rancher-backups',
    caPem: '',
    insecureSkipVerify: false,
    accessKey: 'AKIDEXAMPLE',
    secretKey: SECRET,
    ...over
  }
}

function errorXml(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>1</RequestId></Error>`
}

describe('s3ErrorFromResponse', () => {
  const t = target()

  it('403 SignatureDoesNotMatch points at the secret key and leaks no signing input', () => {
    const body = errorXml(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      '<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z</StringToSign>' +
        '<CanonicalRequest>GET\n/rancher-backups</CanonicalRequest>'
    )
    const e = s3ErrorFromResponse(
      t,
      { status: 403, headers: {}, body },
      { operation: 'list', key: 'rancher/' }
    )
    expect(e).toBeInstanceOf(S3Error)
    expect(e.status).toBe(403)
    expect(e.code).toBe('SignatureDoesNotMatch')
    expect(e.message).toMatch(/secret key/)
    expect(e.message).not.toContain(SECRET)
    expect(e.message).not.toContain('StringToSign')
    expect(e.message).not.toContain('AWS4-HMAC-SHA256')
    expect(e.message).not.toContain('CanonicalRequest')
  })

  it('403 AccessDenied asks for credentials and permissions', () => {
    const e = s3ErrorFromResponse(
      t,
      { status: 403, headers: {}, body: errorXml('AccessDenied', 'Access Denied') },
      { operation: 'list', key: 'rancher/' }
    )
    expect(e.message).toMatch(/access key and secret key/)
    expect(e.message).toMatch(/s3:ListBucket/)
  })

  it('403 on HEAD (no body) mentions that a missing object can answer 403', () => {
    const e = s3ErrorFromResponse(
      t,
      { status: 403, headers: {}, body: '' },
      { operation: 'head', key: 'rancher/x.tar.gz' }
    )
    expect(e.code).toBe('AccessDenied')
    expect(e.message).toMatch(/missing object also answers 403/)
  })

  it('404 NoSuchBucket names the bucket', () => {
    const e = s3ErrorFromResponse(
      t,
      {
        status: 404,
        headers: {},
        body: errorXml('NoSuchBucket', 'The specified bucket does not exist')
      },
      { operation: 'list', key: '' }
    )
    expect(e.code).toBe('NoSuchBucket')
    expect(e.message).toContain("bucket 'rancher-backups'")
    expect(e.message).toMatch(/check the bucket name/)
  })

  it('wrong region says which region', () => {
    const e = s3ErrorFromResponse(
      t,
      {
        status: 400,
        headers: {},
        body: errorXml(
          'AuthorizationHeaderMalformed',
          "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
          '<Region>eu-west-1</Region>'
        )
      },
      { operation: 'list', key: '' }
    )
    expect(e.message).toMatch(/region 'eu-west-1'/)
    const r = s3ErrorFromResponse(
      t,
      { status: 301, headers: { 'x-amz-bucket-region': 'ap-south-1' }, body: '' },
      { operation: 'head', key: 'k' }
    )
    expect(r.code).toBe('PermanentRedirect')
    expect(r.message).toMatch(/region 'ap-south-1'/)
  })
})

// ---------------------------------------------------------------------------------------------
// A tiny HTTP server: what goes on the wire is what was signed; errors; timeouts
// ---------------------------------------------------------------------------------------------

interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
}

async function startServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen[]) => void
): Promise<{ server: http.Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    handler(req, res, seen)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, seen }
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => resolve()))
}

/** Recomputes the signature from the raw request, independently of how the client built it. */
function verifySignature(s: Seen, secretKey: string): boolean {
  const auth = String(s.headers['authorization'])
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth
    )
  if (!m) return false
  const [, accessKey, , region, signedHeaders, signature] = m
  const [rawPath, rawQuery = ''] = s.url.split('?', 2)
  const query: Array<[string, string]> = rawQuery
    .split('&')
    .filter(p => p !== '')
    .map(p => {
      const [k = '', v = ''] = p.split('=', 2)
      return [decodeURIComponent(k), decodeURIComponent(v)]
    })
  const headers: Record<string, string> = {}
  for (const name of (signedHeaders ?? '').split(';')) {
    if (name !== 'x-amz-date' && name !== 'x-amz-content-sha256') {
      headers[name] = String(s.headers[name])
    }
  }
  const amzDate = String(s.headers['x-amz-date'])
  const date = new Date(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')
  )
  const again = signRequest(
    {
      method: s.method,
      path: rawPath ?? '',
      query,
      headers,
      payloadHash: String(s.headers['x-amz-content-sha256'])
    },
    { accessKey: accessKey ?? '', secretKey, region: region ?? '', service: 's3', date }
  )
  return again.signature === signature
}

describe('requests on the wire', () => {
  it('signs exactly what it sends (encoded key, query, host with port, default region)', async () => {
    const { server, port, seen } = await startServer((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, {
          'content-length': '42',
          'last-modified': 'Fri, 20 Nov 2026 09:55:01 GMT'
        })
        res.end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/xml' })
      res.end('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>')
    })
    try {
      const t = target({ endpoint: `127.0.0.1:${port}` })
      const key = 'my folder/ünïcode+(1)*~.tar.gz'
      expect(await headObject(t, key, 2000)).toEqual({
        key,
        lastModified: '2026-11-20T09:55:01.000Z',
        size: 42
      })
      expect(await listObjects(t, 'my folder/a&b=c', 2000)).toEqual([])
      expect(seen).toHaveLength(2)
      expect(seen[0]?.url).toBe(
        '/rancher-backups/my%20folder/%C3%BCn%C3%AFcode%2B%281%29%2A~.tar.gz'
      )
      expect(seen[1]?.url).toBe('/rancher-backups?list-type=2&prefix=my%20folder%2Fa%26b%3Dc')
      for (const s of seen) {
        expect(s.headers['host']).toBe(`127.0.0.1:${port}`)
        expect(String(s.headers['authorization'])).toContain('/us-east-1/s3/aws4_request')
        expect(String(s.headers['authorization'])).not.toContain(SECRET)
        expect(verifySignature(s, SECRET)).toBe(true)
        expect(verifySignature(s, 'another secret')).toBe(false)
      }
    } finally {
      await stop(server)
    }
  })

  it('maps a real 403 SignatureDoesNotMatch answer', async () => {
    const { server, port } = await startServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' })
      res.end(
        errorXml(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          '<StringToSign>AWS4-HMAC-SHA256 stuff</StringToSign>'
        )
      )
    })
    try {
      const err = await listObjects(target({ endpoint: `127.0.0.1:${port}` }), '', 2000).catch(
        (e: unknown) => e
      )
      expect(err).toBeInstanceOf(S3Error)
      const e = err as S3Error
      expect(e.status).toBe(403)
      expect(e.code).toBe('SignatureDoesNotMatch')
      expect(e.message).toMatch(/check the S3 secret key/)
      expect(e.message).not.toContain(SECRET)
      expect(e.message).not.toContain('StringToSign')
    } finally {
      await stop(server)
    }
  })

  it('times out a request that never answers', async () => {
    const { server, port } = await startServer(() => {
      /* never answer */
    })
    try {
      const started = Date.now()
      const err = await headObject(target({ endpoint: `127.0.0.1:${port}` }), 'k', 150).catch(
        (e: unknown) => e
      )
      expect(err).toBeInstanceOf(S3Error)
      expect((err as S3Error).code).toBe('Timeout')
      expect((err as S3Error).status).toBe(0)
      expect((err as S3Error).message).toMatch(/timed out after 150 ms.*check the endpoint/)
      expect(Date.now() - started).toBeLessThan(2000)
    } finally {
      await stop(server)
    }
  })

  it('reports a refused connection as an endpoint problem', async () => {
    const { server, port } = await startServer(() => undefined)
    await stop(server)
    const err = await listObjects(target({ endpoint: `127.0.0.1:${port}` }), '', 2000).catch(
      (e: unknown) => e
    )
    expect(err).toBeInstanceOf(S3Error)
    expect((err as S3Error).code).toBe('ECONNREFUSED')
    expect((err as S3Error).message).toMatch(/check the endpoint/)
    expect((err as S3Error).message).not.toContain(SECRET)
  })

  it('says that the endpoint must serve HTTPS when it answers in plain HTTP', async () => {
    const { server, port, seen } = await startServer((_req, res) => res.end())
    try {
      const err = await listObjects(
        target({ scheme: 'https', endpoint: `127.0.0.1:${port}` }),
        '',
        2000
      ).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(S3Error)
      expect((err as S3Error).status).toBe(0)
      expect((err as S3Error).message).toMatch(
        /TLS failed\. The endpoint must serve HTTPS \(the rancher-backup operator talks to S3 only over TLS\)/
      )
      expect(seen).toEqual([])
    } finally {
      await stop(server)
    }
  })

  it('stops when a truncated page has no continuation token', async () => {
    const { server, port } = await startServer((_req, res) => {
      res.end('<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>')
    })
    try {
      await expect(
        listObjects(target({ endpoint: `127.0.0.1:${port}` }), '', 2000)
      ).rejects.toMatchObject({ code: 'InvalidResponse' })
    } finally {
      await stop(server)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// A real S3 server: s3rver
// ---------------------------------------------------------------------------------------------

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance
const require = createRequire(import.meta.url)
const S3rver = require('s3rver') as S3rverCtor

/**
 * s3rver 3.7 encrypts its ListObjectsV2 continuation tokens with single DES ('des'), which
 * OpenSSL 3 (Node >= 17) has only in its legacy provider: every second page would be a 500.
 * Triple DES with three equal keys is the same cipher, so map one onto the other while s3rver
 * runs. Returns the undo.
 */
function letS3rverUseDes(): () => void {
  const c = require('node:crypto') as Record<string, unknown>
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8))
    return () => undefined
  } catch {
    // no single DES here: shim it below
  }
  type Fn = (alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) => unknown
  const saved = { createCipheriv: c['createCipheriv'], createDecipheriv: c['createDecipheriv'] }
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const f = saved[name] as Fn
    c[name] = (alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      alg.toLowerCase() === 'des'
        ? f('des-ede3-cbc', Buffer.concat([key, key, key]), iv)
        : f(alg, key, iv, ...rest)
  }
  return () => Object.assign(c, saved)
}

/** Test-only upload through the same signed request path. */
async function putObject(t: S3Target, key: string, body: string): Promise<void> {
  const res = await s3Request(
    t,
    {
      method: 'PUT',
      key,
      query: [],
      body: Buffer.from(body),
      headers: { 'content-type': 'application/gzip' }
    },
    5000
  )
  if (res.status !== 200) throw new Error(`PUT ${key}: ${res.status} ${res.body}`)
}

const UID = '6c1e2f3a-9b8d-4e7f-a1b2-c3d4e5f60718'

describe('against s3rver', () => {
  let dir = ''
  let s3: S3rverInstance
  let t: S3Target
  let undoDes: () => void = () => undefined

  beforeAll(async () => {
    undoDes = letS3rverUseDes()
    dir = mkdtempSync(join(tmpdir(), 's3rver-'))
    s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: 'rancher-backups' }]
    })
    const addr = await s3.run()
    // s3rver knows one account, S3RVER/S3RVER, and does not check V4 signatures.
    t = target({ endpoint: `127.0.0.1:${addr.port}`, accessKey: 'S3RVER', secretKey: 'S3RVER' })
    const keys = [
      ...Array.from(
        { length: 7 },
        (_, i) => `rancher/nightly-${UID}-2026-11-1${i}T02-00-00Z.tar.gz`
      ),
      `rancher/pre-upgrade-${UID}-2026-11-20T09-55-00Z.tar.gz.enc`,
      'rancher/archive/old.tar.gz',
      'rancher/a&b <c>.txt',
      'elsewhere/x.tar.gz'
    ]
    for (const key of keys) await putObject(t, key, `content of ${key}`)
  })

  afterAll(async () => {
    await s3?.close()
    undoDes()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('heads an existing object', async () => {
    const key = `rancher/nightly-${UID}-2026-11-13T02-00-00Z.tar.gz`
    const o = await headObject(t, key, 5000)
    expect(o?.key).toBe(key)
    expect(o?.size).toBe(`content of ${key}`.length)
    expect(Math.abs(Date.parse(o?.lastModified ?? '') - Date.now())).toBeLessThan(60_000)
  })

  it('returns undefined for a missing object', async () => {
    expect(await headObject(t, 'rancher/nope.tar.gz', 5000)).toBeUndefined()
  })

  it('lists across several pages (continuation tokens) with special characters', async () => {
    const all = await listObjects(t, 'rancher/', 5000, { maxKeys: 3 })
    expect(all.map(o => o.key).sort()).toEqual(
      [
        ...Array.from(
          { length: 7 },
          (_, i) => `rancher/nightly-${UID}-2026-11-1${i}T02-00-00Z.tar.gz`
        ),
        `rancher/pre-upgrade-${UID}-2026-11-20T09-55-00Z.tar.gz.enc`,
        'rancher/archive/old.tar.gz',
        'rancher/a&b <c>.txt'
      ].sort()
    )
    for (const o of all) expect(o.size).toBe(`content of ${o.key}`.length)
    // 10 keys at 3 a page need 4 pages: allowing 3 must fail, so paging really happened.
    await expect(
      listObjects(t, 'rancher/', 5000, { maxKeys: 3, maxPages: 3 })
    ).rejects.toMatchObject({ code: 'TooManyPages' })
    expect(await listObjects(t, 'rancher/', 5000, { maxKeys: 3, maxPages: 4 })).toHaveLength(10)
    expect(await listObjects(t, '', 5000)).toHaveLength(11)
    expect(await listObjects(t, 'none/', 5000)).toEqual([])
  })

  it('a missing bucket is NoSuchBucket, for list and head', async () => {
    const wrong = { ...t, bucket: 'no-such-bucket' }
    const e1 = await listObjects(wrong, '', 5000).catch((e: unknown) => e)
    expect(e1).toBeInstanceOf(S3Error)
    expect(e1).toMatchObject({ status: 404, code: 'NoSuchBucket' })
    expect((e1 as S3Error).message).toMatch(/check the bucket name/)
    const e2 = await headObject(wrong, 'rancher/x.tar.gz', 5000).catch((e: unknown) => e)
    expect(e2).toMatchObject({ status: 404, code: 'NoSuchBucket' })
  })

  it('an unknown access key is a 403 that says to check credentials, without the secret', async () => {
    const bad = { ...t, accessKey: 'WRONGKEY', secretKey: SECRET }
    const err = await listObjects(bad, 'rancher/', 5000).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(S3Error)
    expect(err).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' })
    expect((err as S3Error).message).toMatch(/check the S3 access key/)
    expect((err as S3Error).message).not.toContain(SECRET)
    const head = await headObject(bad, 'rancher/x', 5000).catch((e: unknown) => e)
    expect(head).toMatchObject({ status: 403 })
    expect((head as S3Error).message).toMatch(/access key and secret key/)
  })
})

// ---------------------------------------------------------------------------------------------
// TLS: custom CA and insecure skip-verify (needs the openssl CLI)
// ---------------------------------------------------------------------------------------------

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe.skipIf(!haveOpenssl())('TLS against s3rver', () => {
  let dir = ''
  let s3: S3rverInstance
  let port = 0
  let caPem = ''

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 's3rver-tls-'))
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1'
      ],
      { stdio: 'ignore' }
    )
    caPem = readFileSync(join(dir, 'cert.pem'), 'utf8')
    s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: join(dir, 'data'),
      key: readFileSync(join(dir, 'key.pem')),
      cert: caPem,
      configureBuckets: [{ name: 'rancher-backups' }]
    })
    port = (await s3.run()).port
  })

  afterAll(async () => {
    await s3?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  function tls(over: Partial<S3Target>): S3Target {
    return target({
      scheme: 'https',
      endpoint: `127.0.0.1:${port}`,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      ...over
    })
  }

  it('refuses an untrusted certificate with advice about the CA', async () => {
    const err = await listObjects(tls({}), '', 5000).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(S3Error)
    expect((err as S3Error).status).toBe(0)
    expect((err as S3Error).message).toMatch(/TLS failed.*endpoint CA.*insecure/)
  })

  it('trusts the given CA', async () => {
    expect(await listObjects(tls({ caPem }), '', 5000)).toEqual([])
  })

  it('skips verification when asked', async () => {
    expect(await headObject(tls({ insecureSkipVerify: true }), 'missing', 5000)).toBeUndefined()
  })
})
