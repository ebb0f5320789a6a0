/**
 * The `kubeconfig` input, parsed as kubectl reads it (client-go clientcmd: a YAML or JSON `Config`
 * with `clusters`, `users` and `contexts`, each a list of named entries), and the credentials in
 * it. Pure. The content is secret: nothing here ever quotes it, only its structure.
 */
import { load } from 'js-yaml'

type Mapping = Record<string, unknown>

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Parses YAML or JSON; throws an error that never quotes the text (only where it failed). */
export function parseKubeconfigText(text: string): unknown {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as unknown
    } catch {
      // JSON is YAML too (flow style); js-yaml gives a line number.
    }
  }
  try {
    return load(text)
  } catch (error) {
    const line = (error as { mark?: { line?: number } }).mark?.line
    throw new Error(
      typeof line === 'number' ? `is not valid YAML (line ${line + 1})` : 'is not valid YAML'
    )
  }
}

interface Named {
  name: string
  body: Mapping
}

/** A list of `{name, <field>: {...}}` entries; a string saying what is wrong, or the entries. */
function namedList(document: Mapping, list: string, field: string): Named[] | string {
  const value = document[list]
  if (value === undefined || value === null) return `has no '${list}' list`
  if (!Array.isArray(value)) return `has a '${list}' that is not a list`
  const entries: Named[] = []
  for (const [i, entry] of value.entries()) {
    const name = isMapping(entry) ? entry['name'] : undefined
    const body = isMapping(entry) ? entry[field] : undefined
    if (typeof name !== 'string' || name === '' || !isMapping(body)) {
      return `has a '${list}' entry (${i + 1}) without a name and a '${field}' mapping`
    }
    entries.push({ name, body })
  }
  return entries
}

export interface KubeconfigProblems {
  /** What is wrong with the kubeconfig itself (no value quoted). */
  kubeconfig?: string
  /** What is wrong with the `context` input given this kubeconfig. */
  context?: string
}

/**
 * Checks the kubeconfig as kubectl would before its first request, for the context it will use
 * (`context`, or else `current-context`): a Config with non-empty `clusters` and `contexts`
 * lists of named entries, the context present, its cluster present with a `server`, its user
 * present when it names one. Clauses start with a verb ("has no …").
 */
export function checkKubeconfig(text: string, context: string): KubeconfigProblems {
  let document: unknown
  try {
    document = parseKubeconfigText(text)
  } catch (error) {
    return { kubeconfig: (error as Error).message }
  }
  if (!isMapping(document)) {
    return {
      kubeconfig:
        typeof document === 'string' && !/\s/.test(document.trim())
          ? 'is a single word or a path, not the content of a kubeconfig file'
          : 'is not a YAML or JSON mapping'
    }
  }
  const kind = document['kind']
  if (kind !== undefined && kind !== 'Config')
    return { kubeconfig: "has a 'kind' other than Config" }
  const apiVersion = document['apiVersion']
  if (apiVersion !== undefined && apiVersion !== 'v1') {
    return { kubeconfig: "has an 'apiVersion' other than v1" }
  }
  const clusters = namedList(document, 'clusters', 'cluster')
  if (typeof clusters === 'string') return { kubeconfig: clusters }
  if (clusters.length === 0) return { kubeconfig: "has an empty 'clusters' list" }
  const contexts = namedList(document, 'contexts', 'context')
  if (typeof contexts === 'string') return { kubeconfig: contexts }
  if (contexts.length === 0) return { kubeconfig: "has an empty 'contexts' list" }
  const usersValue = document['users']
  const users =
    usersValue === undefined || usersValue === null ? [] : namedList(document, 'users', 'user')
  if (typeof users === 'string') return { kubeconfig: users }

  const count = `${contexts.length} context${contexts.length === 1 ? '' : 's'}`
  let chosen: Named | undefined
  if (context !== '') {
    chosen = contexts.find(c => c.name === context)
    if (chosen === undefined) {
      return {
        context: `the kubeconfig given in 'kubeconfig' has no context of that name (it has ${count}; names not shown: the kubeconfig is secret)`
      }
    }
  } else {
    const current = document['current-context']
    if (typeof current !== 'string' || current === '') {
      return {
        kubeconfig: `has no 'current-context' and input 'context' is empty: set 'context' to one of its ${count}`
      }
    }
    chosen = contexts.find(c => c.name === current)
    if (chosen === undefined)
      return { kubeconfig: `has a 'current-context' that is not one of its ${count}` }
  }
  const which = context !== '' ? "the context named in 'context'" : 'its current context'
  const clusterName = chosen.body['cluster']
  const cluster = clusters.find(c => c.name === clusterName)
  if (typeof clusterName !== 'string' || cluster === undefined) {
    return { kubeconfig: `has no cluster entry for ${which}` }
  }
  const server = cluster.body['server']
  if (typeof server !== 'string' || server.trim() === '') {
    return { kubeconfig: `has no 'server' for the cluster of ${which}` }
  }
  const userName = chosen.body['user']
  if (typeof userName === 'string' && userName !== '' && !users.some(u => u.name === userName)) {
    return { kubeconfig: `has no user entry for ${which}` }
  }
  return {}
}

/** Names of exec environment variables whose values are credentials whatever their length. */
const SECRET_ENV_NAME = /token|secret|passw|key|credential|auth|session/i
/** Longer exec environment values are masked whatever their name: they may be credentials. */
const LONG_ENV_VALUE = 8

/**
 * Credential strings inside a kubeconfig: users' tokens, passwords and client keys, auth-provider
 * secrets, and the values of exec plugin environment variables (those with a credential-like
 * name, and every value of 8 characters or more: a short one under a plain name, such as
 * `AWS_PROFILE: prod`, would mask that word everywhere in the log).
 */
export function kubeconfigCredentials(text: string): string[] {
  if (text.trim() === '') return []
  let document: unknown
  try {
    document = parseKubeconfigText(text)
  } catch {
    return []
  }
  const found: string[] = []
  const users = isMapping(document) ? document['users'] : undefined
  if (!Array.isArray(users)) return found
  for (const entry of users) {
    const user = isMapping(entry) ? entry['user'] : undefined
    if (!isMapping(user)) continue
    for (const key of ['token', 'password', 'client-key-data']) {
      const value = user[key]
      if (typeof value === 'string') found.push(value)
    }
    const provider = user['auth-provider']
    const config = isMapping(provider) ? provider['config'] : undefined
    if (isMapping(config)) {
      for (const [key, value] of Object.entries(config)) {
        if (/token|secret/i.test(key) && typeof value === 'string') found.push(value)
      }
    }
    const exec = user['exec']
    const env = isMapping(exec) ? exec['env'] : undefined
    if (Array.isArray(env)) {
      for (const variable of env) {
        if (!isMapping(variable)) continue
        const { name, value } = variable
        if (typeof value !== 'string' || value.trim() === '') continue
        if (
          value.length >= LONG_ENV_VALUE ||
          (typeof name === 'string' && SECRET_ENV_NAME.test(name))
        ) {
          found.push(value)
        }
      }
    }
  }
  return found.filter(value => value.trim() !== '')
}
