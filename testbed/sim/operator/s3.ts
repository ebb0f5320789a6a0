/**
 * S3 for the simulated backup-restore operator. The real one uses minio-go over Go's net/http
 * and always speaks TLS: pkg/objectstore/s3minio.go GetS3Client calls SetS3Service with `useSSL`
 * `true` (v1.0.0-v6.x) or `!devMode` (v7.0.0 on; only `CATTLE_DEV_MODE` sets dev mode, and the
 * chart never does), and SetS3Service hands it to minio-go as `Secure`, with the storage
 * location's `endpoint` (host[:port]) as the server. So every request here is HTTPS to that
 * endpoint, path style, signed with the action's SigV4 (src/facts/s3-client.ts); listing goes
 * through the action's ListObjectsV2 client with the same target.
 *
 * A plain-HTTP server answers the TLS hello in HTTP. Go's http.Client then reports
 * `http: server gave HTTP response to HTTPS client` (net/http client.go: the first TLS record
 * header reads `HTTP/`) inside a url.Error (`Head "https://…/bucket/": …`), which minio-go hands
 * back as it is: from v7.0.36 (BRO v3.1.4 and v4.0.2 on) at once, before that after retrying it
 * ten times with backoff, which is not simulated. The connection below keeps the first bytes the
 * server sent to tell that case apart; other transport failures keep Node's words.
 */
import { createHash } from 'node:crypto'
import * as http from 'node:http'
import * as https from 'node:https'
import { connect as netConnect } from 'node:net'
import { Duplex } from 'node:stream'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import {
  listObjects,
  parseEndpoint,
  signRequest,
  uriEncode,
  type S3Target
} from '../../../src/facts/s3-client.js'
import { goQuote } from './log.js'

const TIMEOUT_MS = 30_000
const HTTP_RESPONSE_TO_HTTPS = 'http: server gave HTTP response to HTTPS client'

/** HEAD the bucket: minio's BucketExists. */
export async function bucketExists(t: S3Target): Promise<boolean> {
  const res = await send(t, 'HEAD', '')
  if (res.status >= 200 && res.status < 300) return true
  if (res.status === 404) return false
  throw new Error(`${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim())
}

export async function putObject(
  t: S3Target,
  key: string,
  body: Buffer,
  contentType: string
): Promise<void> {
  const res = await send(t, 'PUT', key, body, { 'content-type': contentType })
  if (res.status < 200 || res.status >= 300) {
    const text = res.body.toString('utf8')
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`
    const msg = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? ''
    throw new Error(msg ? `${msg}` : code)
  }
}

/** Keys under a prefix (ListObjectsV2, all pages). */
export async function listKeys(t: S3Target, prefix: string): Promise<string[]> {
  return (await listObjects(t, prefix, TIMEOUT_MS)).map(o => o.key)
}

/** GET an object as bytes (the action's client reads bodies as text, which a tar.gz does not survive). */
export async function getObject(t: S3Target, key: string): Promise<Buffer> {
  const res = await send(t, 'GET', key)
  if (res.status >= 200 && res.status < 300) return res.body
  const msg = /<Message>([^<]*)<\/Message>/.exec(res.body.toString('utf8'))?.[1]
  throw new Error(msg ?? `${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim())
}

interface Answer {
  status: number
  body: Buffer
}

/** One signed request over TLS; a transport failure reads as Go's url.Error. */
function send(
  t: S3Target,
  method: 'HEAD' | 'GET' | 'PUT',
  key: string,
  body?: Buffer,
  headers: Record<string, string> = {}
): Promise<Answer> {
  const { hostname, port, hostHeader } = parseEndpoint(t.endpoint, 'https')
  const path = '/' + [t.bucket, ...key.split('/')].map(uriEncode).join('/')
  const url = `https://${hostHeader}${path}`
  const payload = body ?? Buffer.alloc(0)
  const signed = signRequest(
    {
      method,
      path,
      query: [],
      headers: {
        host: hostHeader,
        ...headers,
        ...(body ? { 'content-length': String(body.length) } : {})
      },
      payloadHash: createHash('sha256').update(payload).digest('hex')
    },
    {
      accessKey: t.accessKey,
      secretKey: t.secretKey,
      region: t.region.trim() === '' ? 'us-east-1' : t.region.trim(),
      service: 's3',
      date: new Date()
    }
  )
  return new Promise((resolve, reject) => {
    let conn: TlsConnection | undefined
    const req = https.request(
      {
        method,
        hostname,
        port,
        path,
        headers: signed.headers,
        createConnection: () => {
          conn = connectTls(hostname, port, t)
          return conn.socket
        }
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      }
    )
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', e => {
      const err = conn?.answeredInHttp() ? HTTP_RESPONSE_TO_HTTPS : e.message
      // net/http's urlErrorOp: the method with only its first letter in capitals.
      const op = method.charAt(0) + method.slice(1).toLowerCase()
      reject(new Error(`${op} ${goQuote(url)}: ${err}`))
    })
    req.end(body)
  })
}

interface TlsConnection {
  socket: TLSSocket
  /** The server's first bytes read `HTTP/`, the record header net/http looks at. */
  answeredInHttp(): boolean
}

/**
 * TLS as SetS3Service's transport sets it up: only the endpoint CA is trusted when one is given
 * (setTransport's RootCAs), else the system store; verification skipped when asked. TLS runs over
 * a stream that keeps the first bytes the server sends, which a plain socket handed to TLS would
 * not show.
 */
function connectTls(hostname: string, port: number, t: S3Target): TlsConnection {
  let first = Buffer.alloc(0)
  const raw = netConnect({ host: hostname, port })
  const wire = new Duplex({
    read: () => void raw.resume(),
    write: (chunk: Buffer, _encoding, done) => void raw.write(chunk, done),
    final: done => {
      raw.end()
      done()
    },
    destroy: (err, done) => {
      raw.destroy()
      done(err)
    }
  })
  raw.on('data', (chunk: Buffer) => {
    if (first.length < 5) first = Buffer.concat([first, chunk]).subarray(0, 5)
    if (!wire.push(chunk)) raw.pause()
  })
  raw.on('end', () => wire.push(null))
  raw.on('error', e => wire.destroy(e))
  const isIp = /^[\d.]+$/.test(hostname) || hostname.includes(':')
  const socket = tlsConnect({
    socket: wire,
    host: hostname,
    ...(isIp ? {} : { servername: hostname }),
    ...(t.caPem.trim() !== '' ? { ca: t.caPem } : {}),
    rejectUnauthorized: !t.insecureSkipVerify
  })
  return { socket, answeredInHttp: () => first.toString('latin1') === 'HTTP/' }
}
