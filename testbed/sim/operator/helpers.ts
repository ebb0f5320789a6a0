/**
 * The small helpers the operator's code shares: objects, group/version/resource, Go errors.
 * String forms are those of k8s.io/apimachinery's schema types and BRO's util.ErrList.
 */
import { KubeApiError } from '../../cluster/kube-api.js'
import type { GroupResource } from './crypto.js'
import { errText } from './resources.js'

export type Obj = Record<string, unknown>

export function rec(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {}
}

/** schema.GroupVersionResource's String(). */
export function gvrString(gvr: Gvr): string {
  return `${gvr.group}/${gvr.version}, Resource=${gvr.resource}`
}

export interface Gvr {
  group: string
  version: string
  resource: string
}

export function gvOf(gvr: Gvr): string {
  return gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version
}

/** getGVR: `secrets.#v1` → {"" v1 secrets}, `clusters.cluster.x-k8s.io#v1beta1` → … */
export function parseTypeDir(dir: string): Gvr {
  const [rg = '', version = ''] = dir.split('#')
  const dot = rg.indexOf('.')
  const resource = dot < 0 ? rg : rg.slice(0, dot)
  const group = dot < 0 ? '' : rg.slice(dot + 1)
  return { group, version, resource }
}

/** schema.GroupResource's String(). */
export function grString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource
}

/** util.ErrList: Go's `%v` of a []error. */
export function errList(errs: string[]): Error | undefined {
  return errs.length > 0 ? new Error(`[${errs.join(' ')}]`) : undefined
}

/** A Go error with a message exactly as the operator would print it. */
export class GoError extends Error {}

export function goErr(message: string): GoError {
  return new GoError(message)
}

export function message(e: unknown): string {
  return errText(e)
}

export function isNotFound(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 404
}

export function isConflict(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 409
}

export class Aborted extends Error {
  override name = 'Aborted'
}
