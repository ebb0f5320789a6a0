/**
 * Encryption of backed-up objects as the backup-restore operator does it: the Secret named by
 * `encryptionConfigSecretName` (in the chart namespace) holds `encryption-provider-config.yaml`,
 * a Kubernetes EncryptionConfiguration; the operator loads it with the API server's own code
 * (k8s.io/apiserver encryptionconfig) and encrypts each selected object's JSON with the
 * transformer for its group/resource, the object's name (`<namespace>#<name>` when namespaced)
 * as additional authenticated data. The file then holds the encrypted bytes as a JSON string
 * (Go's json.Marshal of []byte: base64).
 *
 * Providers: `aescbc` and `aesgcm` (same wire format as the API server: prefix
 * `k8s:enc:<provider>:v1:<key name>:`, then IV/nonce and ciphertext) and `identity`. Others
 * (secretbox, kms) are refused with an error.
 *
 * The Secret key `encryption-provider-config.yaml` and the AAD rule are the same at tags v1.2.1 to
 * v11.0.1 (pkg/util encryptionProviderConfigKey, pkg/util/encryptionconfig from v7). Differs from
 * upstream: no secretbox or KMS (upstream has whatever k8s.io/apiserver supports).
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto'
import { load } from 'js-yaml'

export const ENCRYPTION_CONFIG_KEY = 'encryption-provider-config.yaml'

export interface GroupResource {
  group: string
  resource: string
}

export interface Transformer {
  toStorage(data: Buffer, aad: string): Buffer
  fromStorage(data: Buffer, aad: string): Buffer
}

interface KeyedCipher {
  kind: 'aescbc' | 'aesgcm'
  prefix: Buffer
  key: Buffer
}

type Provider = { kind: 'identity' } | KeyedCipher

function cbc(key: Buffer): string {
  return `aes-${key.length * 8}-cbc`
}

function gcm(key: Buffer): CipherGCMTypes {
  return `aes-${key.length * 8}-gcm` as CipherGCMTypes
}

function encrypt(p: KeyedCipher, data: Buffer, aad: string): Buffer {
  if (p.kind === 'aescbc') {
    const iv = randomBytes(16)
    const c = createCipheriv(cbc(p.key), p.key, iv)
    return Buffer.concat([p.prefix, iv, c.update(data), c.final()])
  }
  const nonce = randomBytes(12)
  const c = createCipheriv(gcm(p.key), p.key, nonce)
  c.setAAD(Buffer.from(aad))
  const body = Buffer.concat([c.update(data), c.final()])
  return Buffer.concat([p.prefix, nonce, body, c.getAuthTag()])
}

function decrypt(p: KeyedCipher, data: Buffer, aad: string): Buffer {
  const rest = data.subarray(p.prefix.length)
  if (p.kind === 'aescbc') {
    if (rest.length < 16) throw new Error('the stored data was shorter than the required size')
    if ((rest.length - 16) % 16 !== 0) {
      throw new Error('the stored data is not a multiple of the block size')
    }
    try {
      const d = createDecipheriv(cbc(p.key), p.key, rest.subarray(0, 16))
      return Buffer.concat([d.update(rest.subarray(16)), d.final()])
    } catch {
      throw new Error('invalid padding on input')
    }
  }
  if (rest.length < 12 + 16) throw new Error('the stored data was shorter than the required size')
  try {
    const d = createDecipheriv(gcm(p.key), p.key, rest.subarray(0, 12))
    d.setAAD(Buffer.from(aad))
    d.setAuthTag(rest.subarray(rest.length - 16))
    return Buffer.concat([d.update(rest.subarray(12, rest.length - 16)), d.final()])
  } catch {
    throw new Error('cipher: message authentication failed')
  }
}

const ENC_PREFIX = Buffer.from('k8s:enc:')

function providerTransformer(providers: Provider[]): Transformer {
  const first = providers[0]
  return {
    toStorage(data, aad) {
      if (!first || first.kind === 'identity') return data
      return encrypt(first, data, aad)
    },
    fromStorage(data, aad) {
      for (const p of providers) {
        if (p.kind === 'identity') {
          if (data.subarray(0, ENC_PREFIX.length).equals(ENC_PREFIX)) continue
          return data
        }
        if (data.subarray(0, p.prefix.length).equals(p.prefix)) return decrypt(p, data, aad)
      }
      if (providers.some(p => p.kind === 'identity')) {
        throw new Error('identity transformer tried to read encrypted data')
      }
      throw new Error('no matching prefix found')
    }
  }
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {}
}

function keyedProviders(kind: 'aescbc' | 'aesgcm', cfg: unknown): KeyedCipher[] {
  const keys = asArray(asRecord(cfg)['keys'])
  if (keys.length === 0) throw new Error(`${kind}: keys: Required value`)
  return keys.map((k, i) => {
    const name = String(asRecord(k)['name'] ?? '')
    const secret = String(asRecord(k)['secret'] ?? '')
    if (!name) throw new Error(`${kind}.keys[${i}].name: Required value`)
    const key = Buffer.from(secret, 'base64')
    if (![16, 24, 32].includes(key.length)) {
      throw new Error(
        `${kind}.keys[${i}].secret: Invalid value: "REDACTED": secret is not of the expected length, got ${key.length}, expected one of [16 24 32]`
      )
    }
    return { kind, key, prefix: Buffer.from(`k8s:enc:${kind}:v1:${name}:`) }
  })
}

function parseGroupResource(s: string): GroupResource {
  const i = s.indexOf('.')
  return i < 0 ? { group: '', resource: s } : { group: s.slice(i + 1), resource: s.slice(0, i) }
}

/** Transformers by group/resource, as an EncryptionConfiguration defines them. */
export class EncryptionTransformers {
  private readonly byResource = new Map<string, Transformer>()

  constructor(configYaml: string) {
    let doc: unknown
    try {
      doc = load(configYaml)
    } catch (e) {
      throw new Error(`error while parsing file: ${(e as Error).message}`)
    }
    const cfg = asRecord(doc)
    if (cfg['kind'] !== 'EncryptionConfiguration') {
      throw new Error(`got unexpected config type: ${String(cfg['kind'] ?? '')}`)
    }
    const resources = asArray(cfg['resources'])
    if (resources.length === 0) throw new Error('resources: Required value')
    for (const entry of resources) {
      const e = asRecord(entry)
      const providers: Provider[] = []
      for (const p of asArray(e['providers'])) {
        const pr = asRecord(p)
        const kinds = Object.keys(pr)
        if (kinds.length !== 1) {
          throw new Error('providers: Invalid value: exactly one provider must be configured')
        }
        const kind = kinds[0] as string
        if (kind === 'identity') providers.push({ kind: 'identity' })
        else if (kind === 'aescbc' || kind === 'aesgcm')
          providers.push(...keyedProviders(kind, pr[kind]))
        else {
          throw new Error(`the simulated operator does not implement the ${kind} provider`)
        }
      }
      if (providers.length === 0) throw new Error('providers: Required value')
      const t = providerTransformer(providers)
      for (const r of asArray(e['resources'])) {
        const gr = parseGroupResource(String(r))
        const key = `${gr.group}/${gr.resource}`
        if (!this.byResource.has(key)) this.byResource.set(key, t)
      }
    }
  }

  /** The transformer for a group/resource, or undefined (stored as plain JSON). */
  for(gr: GroupResource): Transformer | undefined {
    return (
      this.byResource.get(`${gr.group}/${gr.resource}`) ??
      this.byResource.get(`${gr.group}/*`) ??
      this.byResource.get('*/*')
    )
  }
}
