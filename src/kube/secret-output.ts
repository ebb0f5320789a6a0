/**
 * Secrets read from the cluster are masked the moment a command returns them: the output of every
 * command marked `secretOutput` (`kubectl get secret -o json`, `helm get values`, `helm get
 * manifest`) is searched for credentials, which go to `core.setSecret` before the caller sees the
 * output. Found: the data of each Secret (as stored, base64, and decoded, a multi-line value such
 * as a TLS key also line by line), the release's `bootstrapPassword` and values under
 * password-, token- or key-like names, also inside decoded Secret data (the saved-state Secret
 * holds the release values and the saved Secrets).
 */
import { loadAll } from 'js-yaml'
import type { Command, CommandResult, CommandRunner } from './command-runner.js'

/** Keys whose string value is a credential (compared without `-` and `_`, case-insensitively). */
const SECRET_KEY =
  /^(bootstrappassword|password|passwd|secret|token|accesskey|secretkey|apikey|privatekey|clientsecret|sessiontoken)$|password$|token$|secretkey$/
/** Shorter strings are not masked: masking `on` or `1` would garble the whole log. */
const MIN_LENGTH = 4
/** Lines of a multi-line secret (a PEM body is 64 characters a line) masked one by one. */
const MIN_LINE_LENGTH = 16
const MAX_DEPTH = 4

type Mapping = Record<string, unknown>

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function parseDocuments(text: string): unknown[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return [JSON.parse(trimmed) as unknown]
    } catch {
      // not JSON: try YAML
    }
  }
  try {
    return loadAll(text)
  } catch {
    return []
  }
}

/** The credentials in a secret command output, each once; never throws. */
export function secretsInOutput(stdout: string): string[] {
  const found = new Set<string>()
  const add = (value: string): void => {
    if (value.trim().length < MIN_LENGTH) return
    found.add(value)
    if (!/[\r\n]/.test(value)) return
    for (const line of value.split(/\r?\n/)) {
      const text = line.trim()
      if (text.length >= MIN_LINE_LENGTH && !text.startsWith('-----')) found.add(text)
    }
  }
  const walkText = (text: string, depth: number): void => {
    if (depth > MAX_DEPTH) return
    for (const document of parseDocuments(text)) walk(document, depth)
  }
  const walk = (node: unknown, depth: number): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth)
      return
    }
    if (!isMapping(node)) return
    if (node['kind'] === 'Secret') {
      for (const [field, encoded] of [
        ['data', true],
        ['stringData', false]
      ] as const) {
        const data = node[field]
        if (!isMapping(data)) continue
        for (const value of Object.values(data)) {
          if (typeof value !== 'string') continue
          add(value)
          const plain = encoded ? Buffer.from(value, 'base64').toString('utf8') : value
          add(plain)
          walkText(plain, depth + 1)
        }
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'string') {
        if (SECRET_KEY.test(key.replace(/[-_]/g, '').toLowerCase())) add(value)
      } else {
        walk(value, depth)
      }
    }
  }
  walkText(stdout, 0)
  return [...found]
}

/** A runner that masks the credentials of every secret output before returning it. */
export function maskingRunner(inner: CommandRunner, mask: (secret: string) => void): CommandRunner {
  return {
    async run(command: Command): Promise<CommandResult> {
      const result = await inner.run(command)
      if (command.secretOutput) for (const secret of secretsInOutput(result.stdout)) mask(secret)
      return result
    }
  }
}
