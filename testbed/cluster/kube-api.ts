/**
 * A minimal, typed Kubernetes JSON client over HTTPS with a bearer token. Paths are plain API
 * paths; build them with `kpath()`:
 *
 *   const api = new KubeApi({ server, token, insecure: true })
 *   await api.create(kpath('v1', 'namespaces'), { metadata: { name: 'x' } })
 *   const pod = await api.get<Pod>(kpath('v1', 'pods', 'ns', 'name'))
 *   await api.patch(kpath('v1', 'pods', 'ns', 'name', 'status'), { status: { phase: 'Running' } })
 *   for await (const ev of api.listAndWatch<Pod>(kpath('v1', 'pods'), { signal })) { ... }
 */
import { Agent, request as httpsRequest } from 'node:https'
import type { IncomingMessage } from 'node:http'

/** `kpath('v1','pods','ns','x','status')` → `/api/v1/namespaces/ns/pods/x/status`;
 * `kpath('batch/v1','jobs')` → `/apis/batch/v1/jobs` (all namespaces). */
export function kpath(
  apiVersion: string,
  plural: string,
  namespace?: string,
  name?: string,
  subresource?: string
): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  const n = name ? `/${encodeURIComponent(name)}` : ''
  const sub = name && subresource ? `/${subresource}` : ''
  return `${base}${ns}/${plural}${n}${sub}`
}

export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: {
    apiVersion: string
    kind: string
    name: string
    uid: string
    controller?: boolean
    blockOwnerDeletion?: boolean
  }[]
  finalizers?: string[]
  [key: string]: unknown
}

/** Any Kubernetes object. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  [key: string]: unknown
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string
  kind?: string
  metadata: { resourceVersion?: string; continue?: string }
  items: T[]
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'
  object: T
}

/** A non-2xx answer. `status` is the HTTP status; `reason` the Status object's reason. */
export class KubeApiError extends Error {
  override name = 'KubeApiError'
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly body: unknown
  ) {
    super(message)
  }
}

export interface KubeApiOptions {
  /** e.g. `https://127.0.0.1:6443` */
  server: string
  /** Bearer token. */
  token: string
  /** PEM CA to verify the server with. */
  ca?: string
  /** Skip TLS verification (when no `ca`). */
  insecure?: boolean
}

export interface ListOptions {
  labelSelector?: string
  fieldSelector?: string
}

export interface WatchOptions extends ListOptions {
  /** Start after this resourceVersion (as returned by a list). */
  resourceVersion?: string
  /** Server-side timeout of one watch request (default 300). */
  timeoutSeconds?: number
  /** Stops the watch; the iterator then ends without error. */
  signal?: AbortSignal
}

export interface DeleteOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'
  preconditions?: { uid?: string; resourceVersion?: string }
}

/** `merge` = JSON merge patch (RFC 7386), `json` = JSON patch (RFC 6902), `strategic` = strategic
 * merge patch (built-in types only), `apply` = server-side apply (needs `fieldManager`). */
export type PatchType = 'merge' | 'json' | 'strategic' | 'apply'

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml'
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>
  contentType?: string
  signal?: AbortSignal
}

function qs(query: RequestOptions['query']): string {
  if (!query) return ''
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined) p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

function errorFrom(status: number, text: string, method: string, path: string): KubeApiError {
  let body: unknown = text
  let reason = ''
  let message = text.slice(0, 500)
  try {
    body = JSON.parse(text)
    const b = body as { reason?: string; message?: string }
    reason = b.reason ?? ''
    message = b.message ?? message
  } catch {
    /* not JSON */
  }
  return new KubeApiError(
    status,
    reason,
    `${method} ${path}: ${status} ${reason}: ${message}`,
    body
  )
}

export class KubeApi {
  readonly server: string
  private readonly token: string
  private readonly agent: Agent

  constructor(opts: KubeApiOptions) {
    this.server = opts.server.replace(/\/$/, '')
    this.token = opts.token
    this.agent = new Agent({
      keepAlive: true,
      ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: !opts.insecure })
    })
  }

  /** Close idle keep-alive sockets (open watches end through their signals). */
  close(): void {
    this.agent.destroy()
  }

  private open(
    method: string,
    path: string,
    body: unknown,
    opts: RequestOptions
  ): Promise<IncomingMessage> {
    const url = new URL(`${this.server}${path}${qs(opts.query)}`)
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          agent: this.agent,
          signal: opts.signal,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: 'application/json',
            ...(payload !== undefined
              ? {
                  'Content-Type': opts.contentType ?? 'application/json',
                  'Content-Length': Buffer.byteLength(payload)
                }
              : {})
          }
        },
        resolve
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  /** One request; the parsed JSON answer, or KubeApiError. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {}
  ): Promise<T> {
    const res = await this.open(method, path, body, opts)
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) throw errorFrom(status, text, method, path)
    return (text ? JSON.parse(text) : undefined) as T
  }

  /** GET a non-JSON answer as text (e.g. `/readyz`, a pod's `/log`). */
  async getText(path: string, query?: RequestOptions['query']): Promise<string> {
    const res = await this.open('GET', path, undefined, { query })
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) throw errorFrom(status, text, 'GET', path)
    return text
  }

  /** GET one object (KubeApiError 404 when absent). */
  get<T extends KubeObject = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  /** GET one object, or undefined when it does not exist. */
  async tryGet<T extends KubeObject = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path)
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined
      throw e
    }
  }

  /** GET a collection (all pages). */
  async list<T extends KubeObject = KubeObject>(
    path: string,
    opts: ListOptions = {}
  ): Promise<KubeList<T>> {
    let cont: string | undefined
    let result: KubeList<T> | undefined
    do {
      const page: KubeList<T> = await this.request<KubeList<T>>('GET', path, undefined, {
        query: { ...opts, limit: 500, continue: cont }
      })
      if (result) result.items.push(...page.items)
      else result = page
      result.metadata.resourceVersion = page.metadata.resourceVersion
      cont = page.metadata.continue || undefined
    } while (cont)
    result.items ??= []
    return result
  }

  /** POST to a collection path. */
  create<T extends KubeObject = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body)
  }

  /** PUT an object (it must carry metadata.resourceVersion for optimistic concurrency). */
  replace<T extends KubeObject = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body)
  }

  /** PATCH an object or its `status` subresource (append `/status` via kpath). */
  patch<T extends KubeObject = KubeObject>(
    path: string,
    patch: unknown,
    type: PatchType = 'merge',
    fieldManager?: string
  ): Promise<T> {
    return this.request<T>('PATCH', path, patch, {
      contentType: PATCH_CONTENT_TYPES[type],
      query: { fieldManager, force: type === 'apply' ? true : undefined }
    })
  }

  /** DELETE an object; resolves false when it was already gone. */
  async delete(path: string, opts: DeleteOptions = {}): Promise<boolean> {
    try {
      await this.request('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', ...opts })
      return true
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return false
      throw e
    }
  }

  /**
   * One watch request as an async iterator. Ends when the server closes it (timeoutSeconds) or
   * the signal aborts. Throws KubeApiError 410 ("Expired") when resourceVersion is too old.
   */
  async *watch<T extends KubeObject = KubeObject>(
    path: string,
    opts: WatchOptions = {}
  ): AsyncGenerator<WatchEvent<T>> {
    const { signal, timeoutSeconds, resourceVersion, ...sel } = opts
    if (signal?.aborted) return
    let res: IncomingMessage
    try {
      res = await this.open('GET', path, undefined, {
        signal,
        query: {
          ...sel,
          watch: 1,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: timeoutSeconds ?? 300
        }
      })
    } catch (e) {
      if (signal?.aborted) return
      throw e
    }
    const status = res.statusCode ?? 0
    if (status !== 200) {
      const chunks: Buffer[] = []
      for await (const c of res) chunks.push(c as Buffer)
      throw errorFrom(status, Buffer.concat(chunks).toString('utf8'), 'WATCH', path)
    }
    let buf = ''
    try {
      for await (const chunk of res) {
        buf += (chunk as Buffer).toString('utf8')
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim()
          buf = buf.slice(nl + 1)
          if (!line) continue
          const ev = JSON.parse(line) as {
            type: string
            object: { code?: number; reason?: string; message?: string }
          }
          if (ev.type === 'ERROR') {
            const o = ev.object
            throw new KubeApiError(
              o.code ?? 500,
              o.reason ?? '',
              `WATCH ${path}: ${o.code} ${o.reason}: ${o.message}`,
              o
            )
          }
          yield ev as unknown as WatchEvent<T>
        }
      }
    } catch (e) {
      if (signal?.aborted) return
      throw e
    } finally {
      res.destroy()
    }
  }

  /**
   * List, then watch for ever (until `signal` aborts): yields ADDED for every listed object, then
   * watch events; resumes after the last seen resourceVersion when a watch ends, and re-lists on
   * 410 Expired (yielding DELETED for objects that vanished meanwhile, MODIFIED for the rest).
   * BOOKMARK events are consumed, not yielded. Transient errors are retried after 1 s.
   */
  async *listAndWatch<T extends KubeObject = KubeObject>(
    path: string,
    opts: Omit<WatchOptions, 'resourceVersion' | 'timeoutSeconds'> = {}
  ): AsyncGenerator<WatchEvent<T>> {
    const { signal, ...sel } = opts
    const known = new Map<string, T>()
    const key = (o: T) => o.metadata.uid ?? `${o.metadata.namespace}/${o.metadata.name}`
    let rv: string | undefined
    while (!signal?.aborted) {
      try {
        if (rv === undefined) {
          const list = await this.list<T>(path, sel)
          const seen = new Set<string>()
          for (const o of list.items) {
            seen.add(key(o))
            const type = known.has(key(o)) ? 'MODIFIED' : 'ADDED'
            known.set(key(o), o)
            yield { type, object: o }
          }
          for (const [k, o] of [...known]) {
            if (!seen.has(k)) {
              known.delete(k)
              yield { type: 'DELETED', object: o }
            }
          }
          rv = list.metadata.resourceVersion
        }
        for await (const ev of this.watch<T>(path, { ...sel, signal, resourceVersion: rv })) {
          rv = ev.object.metadata.resourceVersion ?? rv
          if (ev.type === 'BOOKMARK') continue
          if (ev.type === 'DELETED') known.delete(key(ev.object))
          else known.set(key(ev.object), ev.object)
          yield ev
        }
      } catch (e) {
        if (signal?.aborted) return
        if (e instanceof KubeApiError && e.status === 410) {
          rv = undefined
          continue
        }
        await sleep(1000, signal)
      }
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
