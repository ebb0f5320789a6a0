/**
 * A small read-only S3 client: HEAD an object and list a prefix (ListObjectsV2), signed with AWS
 * Signature V4 using node:crypto and sent with node:https / node:http, so a custom CA and
 * insecure TLS work. Path-style addressing (`/<bucket>/<key>`) works with AWS, MinIO and s3rver.
 *
 * Secrets: the secret key, the signing key and the signature inputs never appear in an error
 * message or a log line.
 */

import { createHash, createHmac } from 'node:crypto'
import * as http from 'node:http'
import * as https from 'node:https'

export interface S3Target {
  scheme: 'https' | 'http'
  /** host[:port], no scheme. */
  endpoint: string
  /** '' means us-east-1. */
  region: string
  bucket: string
  /** PEM text of a CA bundle to trust; '' for the system CAs. */
  caPem: string
  insecureSkipVerify: boolean
  accessKey: string
  secretKey: string
}

export interface S3Object {
  key: string
  /** ISO 8601 (as returned by Date.toISOString when the server's value parses). */
  lastModified: string
  size: number
}

/** A failed S3 call. `message` says what to fix; it never holds a credential. */
export class S3Error extends Error {
  /** HTTP status; 0 when no answer came (network, TLS, timeout). */
  readonly status: number
  /** S3 error code (`AccessDenied`, `NoSuchBucket`, ...), a Node error code, or `Timeout`. */
  readonly code: string

  constructor(message: string, status: number, code: string) {
    super(message)
    this.name = 'S3Error'
    this.status = status
    this.code = code
  }
}

// ---------------------------------------------------------------------------------------------
// Signature V4
// ---------------------------------------------------------------------------------------------

export const EMPTY_PAYLOAD_SHA256 =
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export interface SignableRequest {
  method: string
  /** Canonical URI: the request path, already percent-encoded (each segment once). */
  path: string
  /** Query parameters, not encoded. Order does not matter. */
  query: Array<[string, string]>
  /** Headers to sign; must include `host`. Names in any case. */
  headers: Record<string, string>
  /** Hex SHA-256 of the body (EMPTY_PAYLOAD_SHA256 for none) or `UNSIGNED-PAYLOAD`. */
  payloadHash: string
  /** Add and sign `x-amz-content-sha256` (S3 requires it). Default true. */
  contentSha256Header?: boolean
}

export interface SigningParams {
  accessKey: string
  secretKey: string
  region: string
  service: string
  date: Date
}

export interface SignedRequest {
  /** Headers to send (lower-case names): the input plus x-amz-date, x-amz-content-sha256, authorization. */
  headers: Record<string, string>
  canonicalRequest: string
  stringToSign: string
  signature: string
}

/** RFC 3986 percent-encoding, as SigV4 wants it (unreserved: A-Z a-z 0-9 - _ . ~). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase()
  )
}

/** The canonical query string: names and values encoded, sorted by name then value. */
export function canonicalQuery(query: Array<[string, string]>): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? cmp(a[1], b[1]) : cmp(a[0], b[0])))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex')
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

/** Pure AWS Signature V4 (header form). */
export function signRequest(req: SignableRequest, params: SigningParams): SignedRequest {
  const date = amzDate(params.date)
  const day = date.slice(0, 8)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = value
  headers['x-amz-date'] = date
  if (req.contentSha256Header !== false) headers['x-amz-content-sha256'] = req.payloadHash

  const names = Object.keys(headers).sort()
  const canonicalHeaders = names
    .map(n => `${n}:${(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const signedHeaders = names.join(';')
  const canonicalRequest = [
    req.method.toUpperCase(),
    req.path,
    canonicalQuery(req.query),
    canonicalHeaders,
    signedHeaders,
    req.payloadHash
  ].join('\n')

  const scope = `${day}/${params.region}/${params.service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n')
  const kDate = hmac('AWS4' + params.secretKey, day)
  const kRegion = hmac(kDate, params.region)
  const kService = hmac(kRegion, params.service)
  const kSigning = hmac(kService, 'aws4_request')
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex')

  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${params.accessKey}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`
  return { headers, canonicalRequest, stringToSign, signature }
}

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

/** Largest response body read (a ListObjectsV2 page of 1000 keys is well under 1 MB). */
const MAX_BODY_BYTES = 32 * 1024 * 1024

export interface S3Response {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface S3RequestSpec {
  method: 'GET' | 'HEAD' | 'PUT'
  /** Object key ('' for a bucket-level request). */
  key: string
  query: Array<[string, string]>
  body?: Buffer
  /** Extra headers to sign and send (e.g. content-type). */
  headers?: Record<string, string>
}

/** Splits host[:port]; accepts `[v6]:port`; tolerates a scheme or trailing slash by mistake. */
export function parseEndpoint(
  endpoint: string,
  scheme: 'https' | 'http'
): { hostname: string; port: number; hostHeader: string } {
  const bare = endpoint
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(bare)
  if (!m || !m[1]) {
    throw new S3Error(
      `S3 endpoint '${endpoint}' is not host[:port]: check the endpoint input.`,
      0,
      'InvalidEndpoint'
    )
  }
  const host = m[1]
  const defaultPort = scheme === 'https' ? 443 : 80
  const port = m[2] ? Number(m[2]) : defaultPort
  const hostHeader = port === defaultPort ? host : `${host}:${port}`
  const hostname = host.startsWith('[') ? host.slice(1, -1) : host
  return { hostname, port, hostHeader }
}

function objectPath(bucket: string, key: string): string {
  if (key === '') return '/' + uriEncode(bucket)
  return '/' + [bucket, ...key.split('/')].map(uriEncode).join('/')
}

function describeTarget(t: S3Target): string {
  return `bucket '${t.bucket}' at ${t.scheme}://${t.endpoint}`
}

/** Sends one signed request. Network, TLS and timeout failures become S3Error (status 0). */
export async function s3Request(
  t: S3Target,
  spec: S3RequestSpec,
  timeoutMs: number
): Promise<S3Response> {
  const { hostname, port, hostHeader } = parseEndpoint(t.endpoint, t.scheme)
  const region = t.region.trim() === '' ? 'us-east-1' : t.region.trim()
  const path = objectPath(t.bucket, spec.key)
  const body = spec.body ?? Buffer.alloc(0)
  const payloadHash = createHash('sha256').update(body).digest('hex')
  const headersIn: Record<string, string> = { host: hostHeader, ...(spec.headers ?? {}) }
  if (spec.body) headersIn['content-length'] = String(body.length)
  const signed = signRequest(
    { method: spec.method, path, query: spec.query, headers: headersIn, payloadHash },
    {
      accessKey: t.accessKey,
      secretKey: t.secretKey,
      region,
      service: 's3',
      date: new Date()
    }
  )
  const qs = canonicalQuery(spec.query)
  const options: https.RequestOptions = {
    method: spec.method,
    hostname,
    port,
    path: qs ? `${path}?${qs}` : path,
    headers: signed.headers,
    agent: false
  }
  if (t.scheme === 'https') {
    options.rejectUnauthorized = !t.insecureSkipVerify
    if (t.caPem.trim() !== '') options.ca = t.caPem
    if (!/^[\d.]+$/.test(hostname) && !hostname.includes(':')) options.servername = hostname
  }
  const mod = t.scheme === 'https' ? https : http

  return await new Promise<S3Response>((resolve, reject) => {
    let settled = false
    const finish = (err: S3Error | undefined, res?: S3Response): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) reject(err)
      else if (res) resolve(res)
    }
    const req = mod.request(options, res => {
      const chunks: Buffer[] = []
      let total = 0
      res.on('data', (c: Buffer) => {
        total += c.length
        if (total > MAX_BODY_BYTES) {
          req.destroy()
          finish(
            new S3Error(
              `S3 answer from ${describeTarget(t)} is larger than ${MAX_BODY_BYTES} bytes: ` +
                'check that the endpoint is an S3 server.',
              res.statusCode ?? 0,
              'ResponseTooLarge'
            )
          )
          return
        }
        chunks.push(c)
      })
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8')
        })
      )
      res.on('error', e => finish(networkError(t, e)))
    })
    const timer = setTimeout(() => {
      req.destroy()
      finish(
        new S3Error(
          `S3 request to ${describeTarget(t)} timed out after ${timeoutMs} ms: check the ` +
            'endpoint (host[:port], scheme) and that the runner can reach it.',
          0,
          'Timeout'
        )
      )
    }, timeoutMs)
    req.on('error', e => finish(networkError(t, e)))
    req.end(spec.body)
  })
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER'
])

function networkError(t: S3Target, e: Error): S3Error {
  const code = (e as NodeJS.ErrnoException).code ?? 'NetworkError'
  const what = `could not talk to S3 ${describeTarget(t)} (${code}: ${e.message})`
  if (TLS_CODES.has(code) || /certificate|ssl|tls/i.test(e.message)) {
    return new S3Error(
      `${what}: TLS failed. The endpoint must serve HTTPS (the rancher-backup operator talks ` +
        'to S3 only over TLS); give the endpoint CA (PEM) if the server uses a private CA, or ' +
        'enable insecure TLS skip-verify.',
      0,
      code
    )
  }
  return new S3Error(
    `${what}: check the endpoint (host[:port], no scheme) and that the runner can reach it.`,
    0,
    code
  )
}

// ---------------------------------------------------------------------------------------------
// XML (tiny, regex based)
// ---------------------------------------------------------------------------------------------

/** Decodes the five XML entities and numeric character references. */
export function decodeXmlEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (whole, ent: string) => {
    const e = ent.toLowerCase()
    if (e.startsWith('#x')) return safeCodePoint(parseInt(e.slice(2), 16), whole)
    if (e.startsWith('#')) return safeCodePoint(parseInt(e.slice(1), 10), whole)
    switch (e) {
      case 'amp':
        return '&'
      case 'lt':
        return '<'
      case 'gt':
        return '>'
      case 'quot':
        return '"'
      default:
        return "'"
    }
  })
}

function safeCodePoint(n: number, fallback: string): string {
  try {
    return String.fromCodePoint(n)
  } catch {
    return fallback
  }
}

/** Text of the first `<tag>` element in `xml` (entities decoded), or undefined. */
function xmlTag(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml)
  if (!m) return new RegExp(`<${tag}(?:\\s[^>]*)?/>`).test(xml) ? '' : undefined
  const raw = m[1] ?? ''
  const cdata = /^<!\[CDATA\[([\s\S]*)\]\]>$/.exec(raw)
  return cdata ? (cdata[1] ?? '') : decodeXmlEntities(raw)
}

export interface ListPage {
  objects: S3Object[]
  isTruncated: boolean
  nextContinuationToken: string | undefined
}

function isoOrRaw(s: string): string {
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? s : new Date(ms).toISOString()
}

/** Parses one ListObjectsV2 answer. */
export function parseListObjectsV2(xml: string): ListPage {
  const objects: S3Object[] = []
  for (const m of xml.matchAll(/<Contents(?:\s[^>]*)?>([\s\S]*?)<\/Contents>/g)) {
    const part = m[1] ?? ''
    const key = xmlTag(part, 'Key')
    if (key === undefined) continue
    objects.push({
      key,
      lastModified: isoOrRaw(xmlTag(part, 'LastModified') ?? ''),
      size: Number(xmlTag(part, 'Size') ?? '0') || 0
    })
  }
  const token = xmlTag(xml, 'NextContinuationToken')
  return {
    objects,
    isTruncated: (xmlTag(xml, 'IsTruncated') ?? 'false').trim().toLowerCase() === 'true',
    nextContinuationToken: token === undefined || token === '' ? undefined : token
  }
}

// ---------------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------------

export interface ErrorContext {
  operation: 'head' | 'list' | 'put'
  /** Object key or list prefix. */
  key: string
}

/** Turns a non-2xx S3 answer into an S3Error whose message says what to fix. */
export function s3ErrorFromResponse(t: S3Target, res: S3Response, ctx: ErrorContext): S3Error {
  const code =
    xmlTag(res.body, 'Code') ?? headerValue(res, 'x-amz-error-code') ?? httpCode(res.status)
  const serverMessage = xmlTag(res.body, 'Message') ?? headerValue(res, 'x-amz-error-message')
  const where =
    ctx.operation === 'list'
      ? `listing '${ctx.key}' in ${describeTarget(t)}`
      : `${ctx.operation === 'head' ? 'reading' : 'writing'} '${ctx.key}' in ${describeTarget(t)}`
  const detail = serverMessage ? ` (${serverMessage})` : ''
  const head = `S3 answered ${res.status} ${code} when ${where}${detail}`
  const bucketRegion = headerValue(res, 'x-amz-bucket-region') ?? xmlTag(res.body, 'Region')

  let advice: string
  if (code === 'NoSuchBucket') {
    advice = `the bucket does not exist there: check the bucket name (and the endpoint and region).`
  } else if (code === 'SignatureDoesNotMatch') {
    advice = 'the secret key does not match the access key: check the S3 secret key.'
  } else if (code === 'InvalidAccessKeyId') {
    advice = 'the access key is unknown to this server: check the S3 access key (and endpoint).'
  } else if (code === 'RequestTimeTooSkewed') {
    advice = "the runner's clock differs too much from the server's: fix the clock."
  } else if (
    code === 'AuthorizationHeaderMalformed' ||
    code === 'PermanentRedirect' ||
    code === 'IllegalLocationConstraintException' ||
    res.status === 301
  ) {
    advice = bucketRegion
      ? `the bucket lives in region '${bucketRegion}': set the region (and a matching endpoint).`
      : 'the region or endpoint does not match the bucket: check both.'
  } else if (res.status === 403) {
    advice =
      'check the access key and secret key, and that they may list and read the bucket ' +
      '(s3:ListBucket, s3:GetObject)' +
      (ctx.operation === 'head'
        ? '; without s3:ListBucket, a missing object also answers 403.'
        : '.')
  } else if (res.status === 404) {
    advice = 'not found: check the bucket name, folder and file name.'
  } else if (res.status >= 500) {
    advice = 'the S3 server failed: try again later.'
  } else {
    advice = 'check the S3 settings (endpoint, region, bucket).'
  }
  return new S3Error(`${head}: ${advice}`, res.status, code)
}

function headerValue(res: S3Response, name: string): string | undefined {
  const v = res.headers[name]
  const s = Array.isArray(v) ? v[0] : v
  return s === undefined || s === '' ? undefined : s
}

function httpCode(status: number): string {
  switch (status) {
    case 301:
      return 'PermanentRedirect'
    case 400:
      return 'BadRequest'
    case 403:
      return 'AccessDenied'
    case 404:
      return 'NotFound'
    default:
      return http.STATUS_CODES[status]?.replace(/\s+/g, '') ?? `HTTP${status}`
  }
}

function ok(status: number): boolean {
  return status >= 200 && status < 300
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/**
 * HEAD one object. Returns undefined when it does not exist. A HEAD 404 has no body, so a
 * missing bucket is told apart with one small list request (NoSuchBucket then throws).
 */
export async function headObject(
  t: S3Target,
  key: string,
  timeoutMs: number
): Promise<S3Object | undefined> {
  const res = await s3Request(t, { method: 'HEAD', key, query: [] }, timeoutMs)
  if (ok(res.status)) {
    const lm = headerValue(res, 'last-modified') ?? ''
    return {
      key,
      lastModified: isoOrRaw(lm),
      size: Number(headerValue(res, 'content-length') ?? '0') || 0
    }
  }
  if (res.status === 404) {
    try {
      await listPage(t, key, timeoutMs, 1, undefined)
    } catch (e) {
      if (e instanceof S3Error && e.code === 'NoSuchBucket') throw e
    }
    return undefined
  }
  throw s3ErrorFromResponse(t, res, { operation: 'head', key })
}

async function listPage(
  t: S3Target,
  prefix: string,
  timeoutMs: number,
  maxKeys: number | undefined,
  token: string | undefined
): Promise<ListPage> {
  const query: Array<[string, string]> = [
    ['list-type', '2'],
    ['prefix', prefix]
  ]
  if (maxKeys !== undefined) query.push(['max-keys', String(maxKeys)])
  if (token !== undefined) query.push(['continuation-token', token])
  const res = await s3Request(t, { method: 'GET', key: '', query }, timeoutMs)
  if (!ok(res.status)) throw s3ErrorFromResponse(t, res, { operation: 'list', key: prefix })
  if (!/<ListBucketResult[\s>]/.test(res.body)) {
    throw new S3Error(
      `S3 list of '${prefix}' in ${describeTarget(t)} did not return a ListBucketResult: ` +
        'check that the endpoint is an S3 server (path-style addressing).',
      res.status,
      'InvalidResponse'
    )
  }
  return parseListObjectsV2(res.body)
}

export interface ListOptions {
  /** Page size (max-keys); the server's default (1000) when unset. */
  maxKeys?: number
  /** Safety stop; default 10000 pages. */
  maxPages?: number
}

/** ListObjectsV2 of every key under `prefix` (all pages). `timeoutMs` applies to each request. */
export async function listObjects(
  t: S3Target,
  prefix: string,
  timeoutMs: number,
  opts: ListOptions = {}
): Promise<S3Object[]> {
  const out: S3Object[] = []
  const maxPages = opts.maxPages ?? 10000
  let token: string | undefined
  for (let page = 0; page < maxPages; page++) {
    const p = await listPage(t, prefix, timeoutMs, opts.maxKeys, token)
    out.push(...p.objects)
    if (!p.isTruncated) return out
    if (p.nextContinuationToken === undefined || p.nextContinuationToken === token) {
      throw new S3Error(
        `S3 list of '${prefix}' in ${describeTarget(t)} is truncated but gave no new ` +
          'continuation token: the server does not support ListObjectsV2 paging.',
        200,
        'InvalidResponse'
      )
    }
    token = p.nextContinuationToken
  }
  throw new S3Error(
    `S3 list of '${prefix}' in ${describeTarget(t)} has more than ${maxPages} pages: ` +
      'use a folder that holds only the backups.',
    200,
    'TooManyPages'
  )
}
