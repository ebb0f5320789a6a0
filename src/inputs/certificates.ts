/**
 * The `s3-endpoint-ca` input: PEM text or base64-encoded PEM holding one or more certificates,
 * each parsed as X.509 (node:crypto). Pure. Any other PEM block (a private key above all) is
 * refused, and the content is never quoted: a pasted key must not reach the log.
 */
import { X509Certificate } from 'node:crypto'

const BEGIN = /-----BEGIN ([^-\r\n]*)-----/g
const BLOCK = /-----BEGIN ([^-\r\n]*)-----[\s\S]*?-----END \1-----/g

/** The certificates as PEM text (blocks only, LF line ends), or what is wrong (one clause). */
export function parseCertificates(
  value: string
): { pem: string; count: number } | { problem: string } {
  const text = pemText(value.trim())
  if (text === undefined) {
    return {
      problem:
        'it is neither PEM text (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----) nor base64-encoded PEM'
    }
  }
  const labels = [...text.matchAll(BEGIN)].map(m => m[1] ?? '')
  const other = labels.findIndex(label => label !== 'CERTIFICATE')
  if (other !== -1) {
    const label = labels[other] ?? ''
    const key = /PRIVATE KEY/.test(label) ? ', a private key: never give one here' : ''
    return {
      problem: `block ${other + 1} is ${label === '' ? 'an unnamed PEM block' : `a ${label} block`}${key}; only CERTIFICATE blocks are accepted`
    }
  }
  const blocks = [...text.matchAll(BLOCK)].map(m => m[0])
  if (blocks.length < labels.length) {
    return {
      problem: `certificate ${blocks.length + 1} has no matching -----END CERTIFICATE----- line`
    }
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block)
    } catch {
      return {
        problem: `certificate ${i + 1} of ${blocks.length} does not parse as an X.509 certificate`
      }
    }
  }
  return { pem: `${blocks.join('\n')}\n`, count: blocks.length }
}

/** PEM text as given, or decoded from base64; undefined when it is neither. */
function pemText(value: string): string | undefined {
  const normalized = (text: string) => text.replace(/\r\n?/g, '\n')
  if (value.includes('-----BEGIN ')) return normalized(value)
  const compact = value.replace(/\s+/g, '')
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined
  const decoded = Buffer.from(compact, 'base64').toString('utf8')
  return decoded.includes('-----BEGIN ') ? normalized(decoded) : undefined
}
