/**
 * The controller machinery the backup-restore operator runs on (wrangler/lasso over client-go),
 * reduced to what shows from outside:
 *
 * - an informer: list, then watch (resume after a dropped watch, re-list on 410), a cache the
 *   handler reads objects from, every event enqueues the object's key;
 * - a work queue: a key is processed by one worker at a time, a key added while it is processed
 *   is processed again afterwards, keys are deduplicated;
 * - lasso's rate limiter for keys whose handler failed: 5 ms × 2^failures up to 30 s, and from
 *   the 31st failure on 2 minutes (lasso pkg/controller applyDefaultOptions);
 * - `start.All(ctx, 2, …)`: two workers per controller.
 *
 * The limiter and the `error syncing` line are lasso's as read at lasso a6c7adc; each BRO tag
 * vendors its own lasso (v1.2.1: 2020-05, v2.1.5: 2021-06, v10.0.0: v0.2.6, per go.mod), which
 * was not compared with it.
 */
import { abortableSleep } from '../../cluster/fake-kubelet.js'
import { KubeApiError, type KubeApi, type KubeObject } from '../../cluster/kube-api.js'

/** The delay of lasso's default rate limiter before retry number `failures + 1`. */
export function lassoBackoffMs(failures: number): number {
  const exponential = Math.min(5 * 2 ** failures, 30_000)
  const fastSlow = failures + 1 <= 30 ? 1 : 120_000
  return Math.max(exponential, fastSlow)
}

export class WorkQueue {
  private readonly queue: string[] = []
  private readonly dirty = new Set<string>()
  private readonly processing = new Set<string>()
  private readonly failures = new Map<string, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private waiters: (() => void)[] = []
  private shut = false

  add(key: string): void {
    if (this.shut || this.dirty.has(key)) return
    this.dirty.add(key)
    if (this.processing.has(key)) return
    this.queue.push(key)
    this.wake()
  }

  addAfter(key: string, ms: number): void {
    if (this.shut) return
    if (ms <= 0) {
      this.add(key)
      return
    }
    const t = setTimeout(() => {
      this.timers.delete(t)
      this.add(key)
    }, ms)
    this.timers.add(t)
  }

  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0
    this.failures.set(key, n + 1)
    this.addAfter(key, lassoBackoffMs(n))
  }

  forget(key: string): void {
    this.failures.delete(key)
  }

  async get(): Promise<string | undefined> {
    while (this.queue.length === 0 && !this.shut) {
      await new Promise<void>(r => this.waiters.push(r))
    }
    if (this.shut) return undefined
    const key = this.queue.shift() as string
    this.processing.add(key)
    this.dirty.delete(key)
    return key
  }

  done(key: string): void {
    this.processing.delete(key)
    if (this.dirty.has(key)) {
      this.queue.push(key)
      this.wake()
    }
  }

  shutDown(): void {
    this.shut = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.wake(true)
  }

  private wake(all = false): void {
    const ws = all ? this.waiters : this.waiters.slice(0, 1)
    this.waiters = all ? [] : this.waiters.slice(1)
    for (const w of ws) w()
  }
}

/** A cache of one (cluster-scoped) resource type, kept by list + watch. */
export class Informer<T extends KubeObject> {
  readonly cache = new Map<string, T>()
  private syncedResolve: () => void = () => undefined
  readonly synced: Promise<void> = new Promise(r => (this.syncedResolve = r))

  constructor(
    private readonly api: KubeApi,
    private readonly path: string,
    private readonly onKey: (key: string) => void,
    private readonly onListError: (e: unknown) => void
  ) {}

  private keyOf(o: T): string {
    const ns = o.metadata.namespace
    return ns ? `${ns}/${o.metadata.name}` : (o.metadata.name ?? '')
  }

  async run(signal: AbortSignal): Promise<void> {
    let rv: string | undefined
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          const list = await this.api.list<T>(this.path)
          const seen = new Set<string>()
          for (const o of list.items) {
            const k = this.keyOf(o)
            seen.add(k)
            this.cache.set(k, o)
          }
          for (const k of [...this.cache.keys()]) {
            if (!seen.has(k)) {
              this.cache.delete(k)
              this.onKey(k)
            }
          }
          rv = list.metadata.resourceVersion
          this.syncedResolve()
          for (const k of seen) this.onKey(k)
        }
        for await (const ev of this.api.watch<T>(this.path, { signal, resourceVersion: rv })) {
          rv = ev.object.metadata.resourceVersion ?? rv
          if (ev.type === 'BOOKMARK') continue
          const k = this.keyOf(ev.object)
          if (ev.type === 'DELETED') this.cache.delete(k)
          else this.cache.set(k, ev.object)
          this.onKey(k)
        }
      } catch (e) {
        if (signal.aborted) return
        if (e instanceof KubeApiError && e.status === 410) {
          rv = undefined
          continue
        }
        const listing = rv === undefined
        if (listing) this.onListError(e)
        rv = undefined
        await abortableSleep(listing ? 5000 : 1000, signal)
      }
    }
  }
}

/** A controller: informer + queue + workers running `handler(key, obj)`. */
export class Controller<T extends KubeObject> {
  readonly queue = new WorkQueue()
  readonly informer: Informer<T>

  constructor(
    api: KubeApi,
    path: string,
    private readonly handler: (key: string, obj: T | undefined) => Promise<void>,
    private readonly onError: (key: string, e: unknown) => void,
    onListError: (e: unknown) => void
  ) {
    this.informer = new Informer<T>(api, path, k => this.queue.add(k), onListError)
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal, workers: number): Promise<void> {
    if (signal.aborted) return
    const informer = this.informer.run(signal)
    await Promise.race([
      this.informer.synced,
      new Promise(r => signal.addEventListener('abort', r))
    ])
    const stop = () => this.queue.shutDown()
    signal.addEventListener('abort', stop, { once: true })
    const loops = Array.from({ length: workers }, () => this.worker(signal))
    await Promise.all([informer, ...loops])
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get()
      if (key === undefined || signal.aborted) return
      try {
        const cached = this.informer.cache.get(key)
        const obj = cached === undefined ? undefined : (structuredClone(cached) as T)
        await this.handler(key, obj)
        this.queue.forget(key)
      } catch (e) {
        if (!signal.aborted) {
          this.queue.addRateLimited(key)
          this.onError(key, e)
        }
      } finally {
        this.queue.done(key)
      }
    }
  }
}
