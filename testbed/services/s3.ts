/**
 * A local S3 server for the end-to-end testbed: s3rver on loopback, one temporary directory, one
 * bucket. Silent. No internet, no container.
 *
 * HTTPS, with the TLS identity it is given (the cluster's: `startS3({ tls: cluster.tls })`): the
 * backup-restore operator speaks only TLS to S3, so a world in plain HTTP could not exist; and
 * every client then needs the private CA, as a real self-hosted S3 would ask of them. `'plain-http'`
 * serves no TLS, only to show what a client that speaks TLS makes of such a server.
 *
 * Credentials: s3rver knows the key pair S3RVER/S3RVER; another pair can be registered with
 * `accessKey`/`secretKey`. s3rver checks that the access key id exists but does NOT verify V4
 * signatures, so a wrong secret key is not detected (a wrong access key is: 403
 * InvalidAccessKeyId).
 *
 * The helpers (`putObject`, `getObject`, `listKeys`) send anonymous requests, which s3rver
 * accepts, trusting the given CA; they are independent of the action's own S3 client, so a bug
 * in that client cannot hide behind the testbed.
 */
import { createCipheriv } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { mkdir, utimes } from 'node:fs/promises'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ServingTls } from '../cluster/cluster.js'

export interface StartS3Options {
  /** The TLS identity to serve (a cluster's `tls`), or `'plain-http'` for no TLS at all. */
  tls: ServingTls | 'plain-http'
  /** Bucket to create (default `rancher-backups`). */
  bucket?: string
  /** Extra buckets to create. */
  extraBuckets?: string[]
  /** Data directory (default: a new temporary directory, removed by `stop()`). */
  dir?: string
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number
  /** Access key to register (default `S3RVER`). */
  accessKey?: string
  /** Secret key shown to clients (default `S3RVER`; never verified by s3rver). */
  secretKey?: string
}

export interface PutOptions {
  /** Backdate the object: its LastModified (s3rver reads it from the file's mtime). */
  lastModified?: Date
  contentType?: string
}

export interface S3Server {
  /** `127.0.0.1:<port>`: what a Restore's `storageLocation.s3.endpoint` / the action's input wants. */
  endpoint: string
  /** `https://127.0.0.1:<port>` (`http://` for `'plain-http'`) */
  url: string
  /** PEM of the CA clients must trust ('' for `'plain-http'`). */
  ca: string
  port: number
  bucket: string
  accessKey: string
  secretKey: string
  region: 'us-east-1'
  /** s3rver's data directory. */
  dir: string
  putObject(key: string, body: Buffer | string, opts?: PutOptions): Promise<void>
  /** The object's bytes, or undefined when it does not exist. */
  getObject(key: string): Promise<Buffer | undefined>
  /** Every key under `prefix` (all pages), sorted. */
  listKeys(prefix?: string): Promise<string[]>
  /** Sets an object's LastModified (it must exist). */
  setLastModified(key: string, date: Date): Promise<void>
  deleteObject(key: string): Promise<void>
  stop(): Promise<void>
}

interface S3rverInstance {
  run(): Promise<AddressInfo>
  close(): Promise<void>
  httpServer?: http.Server
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance
interface AccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void }
}

const require = createRequire(import.meta.url)

// ---------------------------------------------------------------------------------------------
// s3rver 3.7 encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3
// (Node >= 17) only has in its legacy provider: every second page would be a 500. Triple DES with
// three equal keys is the same cipher, so map one onto the other while any s3rver runs.
// (Same idea as test/s3-client.test.ts; reference-counted so several servers can run.)
// ---------------------------------------------------------------------------------------------

let desUsers = 0
let undoDes: () => void = () => undefined

function acquireDes(): void {
  desUsers++
  if (desUsers > 1) return
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8))
    return
  } catch {
    // no single DES here: shim it below
  }
  const c = require('node:crypto') as Record<string, unknown>
  type Fn = (alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) => unknown
  const saved = { createCipheriv: c['createCipheriv'], createDecipheriv: c['createDecipheriv'] }
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const f = saved[name] as Fn
    c[name] = (alg: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      alg.toLowerCase() === 'des'
        ? f('des-ede3-cbc', Buffer.concat([key, key, key]), iv)
        : f(alg, key, iv, ...rest)
  }
  undoDes = () => {
    Object.assign(c, saved)
    undoDes = () => undefined
  }
}

function releaseDes(): void {
  desUsers = Math.max(0, desUsers - 1)
  if (desUsers === 0) undoDes()
}

// ---------------------------------------------------------------------------------------------

/** S3 path-style URL path for a key: each segment percent-encoded. */
function objectPath(bucket: string, key: string): string {
  return '/' + [bucket, ...key.split('/')].map(s => encodeURIComponent(s)).join('/')
}

interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

function request(
  port: number,
  ca: string,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {}
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = (ca === '' ? http : https).request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        ...(ca === '' ? {} : { ca }),
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks)
          })
        )
        res.on('error', reject)
      }
    )
    req.setTimeout(30_000, () => req.destroy(new Error(`S3 ${method} ${path} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

function decodeXml(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

/** Starts s3rver on 127.0.0.1 with one bucket. */
export async function startS3(opts: StartS3Options): Promise<S3Server> {
  const S3rver = require('s3rver') as S3rverCtor
  const bucket = opts.bucket ?? 'rancher-backups'
  const accessKey = opts.accessKey ?? 'S3RVER'
  const secretKey = opts.secretKey ?? 'S3RVER'
  if (accessKey !== 'S3RVER' || secretKey !== 'S3RVER') {
    const account = require('s3rver/lib/models/account') as AccountModule
    account.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey)
  }
  const ownDir = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'testbed-s3-'))
  if (!ownDir) await mkdir(dir, { recursive: true })

  const tls = opts.tls === 'plain-http' ? undefined : opts.tls
  const ca = tls?.ca ?? ''
  acquireDes()
  const server = new S3rver({
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    address: '127.0.0.1',
    port: opts.port ?? 0,
    silent: true,
    directory: dir,
    configureBuckets: [bucket, ...(opts.extraBuckets ?? [])].map(name => ({ name }))
  })
  let port: number
  try {
    port = (await server.run()).port
  } catch (e) {
    releaseDes()
    if (ownDir) rmSync(dir, { recursive: true, force: true })
    throw e
  }

  /** s3rver's filesystem store: `<dir>/<bucket>/<dirs...>/<name>._S3rver_object`. */
  const objectFile = (key: string): string => {
    const parts = key.split('/')
    const last = parts.pop() ?? ''
    return join(dir, bucket, ...parts, `${last}._S3rver_object`)
  }

  const setLastModified = async (key: string, date: Date): Promise<void> => {
    await utimes(objectFile(key), date, date)
  }

  let stopped = false
  return {
    endpoint: `127.0.0.1:${port}`,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ca,
    port,
    bucket,
    accessKey,
    secretKey,
    region: 'us-east-1',
    dir,

    async putObject(key, body, putOpts = {}) {
      const data = typeof body === 'string' ? Buffer.from(body) : body
      const res = await request(port, ca, 'PUT', objectPath(bucket, key), data, {
        'content-type': putOpts.contentType ?? 'application/octet-stream'
      })
      if (res.status !== 200) {
        throw new Error(`S3 PUT ${key}: ${res.status} ${res.body.toString('utf8')}`)
      }
      if (putOpts.lastModified) await setLastModified(key, putOpts.lastModified)
    },

    async getObject(key) {
      const res = await request(port, ca, 'GET', objectPath(bucket, key))
      if (res.status === 404) return undefined
      if (res.status !== 200) {
        throw new Error(`S3 GET ${key}: ${res.status} ${res.body.toString('utf8')}`)
      }
      return res.body
    },

    async listKeys(prefix = '') {
      const keys: string[] = []
      let token: string | undefined
      for (let page = 0; page < 100_000; page++) {
        const q = new URLSearchParams({ 'list-type': '2', prefix })
        if (token !== undefined) q.set('continuation-token', token)
        const res = await request(port, ca, 'GET', `/${encodeURIComponent(bucket)}?${q.toString()}`)
        const xml = res.body.toString('utf8')
        if (res.status !== 200) throw new Error(`S3 list ${prefix}: ${res.status} ${xml}`)
        for (const m of xml.matchAll(/<Contents>[\s\S]*?<Key>([\s\S]*?)<\/Key>/g)) {
          keys.push(decodeXml(m[1] ?? ''))
        }
        if (!/<IsTruncated>true<\/IsTruncated>/.test(xml)) return keys.sort()
        const next = /<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml)?.[1]
        if (next === undefined) throw new Error(`S3 list ${prefix}: truncated without a token`)
        token = decodeXml(next)
      }
      throw new Error(`S3 list ${prefix}: too many pages`)
    },

    setLastModified,

    async deleteObject(key) {
      const res = await request(port, ca, 'DELETE', objectPath(bucket, key))
      if (res.status !== 204 && res.status !== 200) {
        throw new Error(`S3 DELETE ${key}: ${res.status} ${res.body.toString('utf8')}`)
      }
    },

    async stop() {
      if (stopped) return
      stopped = true
      try {
        // Keep-alive clients would hold close() open.
        server.httpServer?.closeIdleConnections()
        setTimeout(() => server.httpServer?.closeAllConnections(), 2000).unref()
        await server.close()
      } finally {
        releaseDes()
        if (ownDir) rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
