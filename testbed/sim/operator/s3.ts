/**
 * S3 for the simulated backup-restore operator, on the action's own S3 code (src/s3-client.ts):
 * signed requests (Signature V4), path-style addressing. Objects are read as bytes (the
 * action's s3Request decodes bodies as text, which a tar.gz does not survive).
 */
import { createHash } from 'node:crypto'
import * as http from 'node:http'
import * as https from 'node:https'
import {
  listObjects,
  parseEndpoint,
  s3Request,
  signRequest,
  uriEncode,
  type S3Target
} from '../../../src/facts/s3-client.js'

const TIMEOUT_MS = 30_000

/** HEAD the bucket: minio's BucketExists. */
export async function bucketExists(t: S3Target): Promise<boolean> {
  const res = await s3Request(t, { method: 'HEAD', key: '', query: [] }, TIMEOUT_MS)
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
  const res = await s3Request(
    t,
    { method: 'PUT', key, query: [], body, headers: { 'content-type': contentType } },
    TIMEOUT_MS
  )
  if (res.status < 200 || res.status >= 300) {
    const code = /<Code>([^<]*)<\/Code>/.exec(res.body)?.[1] ?? `HTTP ${res.status}`
    const msg = /<Message>([^<]*)<\/Message>/.exec(res.body)?.[1] ?? ''
    throw new Error(msg ? `${msg}` : code)
  }
}

/** Keys under a prefix (ListObjectsV2, all pages). */
export async function listKeys(t: S3Target, prefix: string): Promise<string[]> {
  return (await listObjects(t, prefix, TIMEOUT_MS)).map(o => o.key)
}

/** GET an object as bytes. */
export function getObject(t: S3Target, key: string): Promise<Buffer> {
  const { hostname, port, hostHeader } = parseEndpoint(t.endpoint, t.scheme)
  const path = '/' + [t.bucket, ...key.split('/')].map(uriEncode).join('/')
  const signed = signRequest(
    {
      method: 'GET',
      path,
      query: [],
      headers: { host: hostHeader },
      payloadHash: createHash('sha256').update('').digest('hex')
    },
    {
      accessKey: t.accessKey,
      secretKey: t.secretKey,
      region: t.region.trim() === '' ? 'us-east-1' : t.region.trim(),
      service: 's3',
      date: new Date()
    }
  )
  const options: https.RequestOptions = {
    method: 'GET',
    hostname,
    port,
    path,
    headers: signed.headers,
    agent: false
  }
  if (t.scheme === 'https') {
    options.rejectUnauthorized = !t.insecureSkipVerify
    if (t.caPem.trim() !== '') options.ca = t.caPem
  }
  const mod = t.scheme === 'https' ? https : http
  return new Promise((resolve, reject) => {
    const req = mod.request(options, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        const status = res.statusCode ?? 0
        if (status >= 200 && status < 300) resolve(body)
        else {
          const text = body.toString('utf8')
          const msg = /<Message>([^<]*)<\/Message>/.exec(text)?.[1]
          reject(new Error(msg ?? `${status} ${http.STATUS_CODES[status] ?? ''}`.trim()))
        }
      })
      res.on('error', reject)
    })
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`GET ${key} timed out`)))
    req.on('error', reject)
    req.end()
  })
}
