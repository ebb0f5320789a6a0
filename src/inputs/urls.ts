/**
 * URL and endpoint inputs, parsed (WHATWG URL, node:net) rather than pattern-matched. Pure.
 * A base URL (chart repositories, tool mirrors) is http(s)://host[:port][/path]; an S3 endpoint
 * is host[:port] or https://host[:port]. Neither may carry credentials, a query or a fragment;
 * hosts are DNS names with no empty label, IPv4 addresses or bracketed IPv6 addresses.
 */
import { isIPv6 } from 'node:net'

export type Parsed<T> = { value: T } | { problem: string; redacted?: string }

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/
const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/

/** `scheme://user:pass@rest` shown as `scheme://***@rest`. */
function redact(value: string): string {
  return value.replace(
    /^([^/]*\/\/)?[^/?#]*@/,
    (_m, scheme: string | undefined) => `${scheme ?? ''}***@`
  )
}

/**
 * What is wrong with the `host[:port]` of a URL, judged on the text as given (the URL parser
 * drops an empty port and accepts empty labels); undefined when it is fine.
 */
export function authorityProblem(authority: string): string | undefined {
  if (authority === '') return 'it has no host'
  let host = authority
  let port: string | undefined
  if (authority.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(authority)
    if (m === null) return 'it has a malformed IPv6 literal (expected [address] or [address]:port)'
    const address = m[1] ?? ''
    if (address.includes('%')) return 'its IPv6 literal has a zone (%…), which URLs do not allow'
    if (!isIPv6(address)) return `[${address}] is not an IPv6 address`
    port = m[2]
    host = ''
  } else {
    const colons = authority.split(':').length - 1
    if (colons > 1) return 'an IPv6 address must be written in brackets, e.g. [fd00::5]:9000'
    if (colons === 1) {
      host = authority.slice(0, authority.indexOf(':'))
      port = authority.slice(authority.indexOf(':') + 1)
    }
    if (host === '') return 'it has no host'
    const labels = host.split('.')
    if (labels.some(label => label === '')) {
      return 'its host has an empty label (a leading, trailing or doubled dot)'
    }
  }
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return 'its port is not a number from 1 to 65535'
    }
  }
  return undefined
}

/** The host of a parsed URL: DNS labels of letters, digits, hyphens (and _), at most 253. */
function hostNameProblem(url: URL): string | undefined {
  const host = url.hostname
  if (host.startsWith('[')) return undefined
  if (host.length > 253) return 'its host name is longer than 253 characters'
  for (const label of host.split('.')) {
    if (label.length > 63) return 'its host has a label longer than 63 characters'
    if (!LABEL.test(label)) {
      return 'its host has a label that is not letters, digits and inner hyphens'
    }
  }
  return undefined
}

function parse(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

/**
 * A base URL (http or https, an optional path; no credentials, query or fragment), returned as
 * `scheme://host[:port][/path]` without a trailing slash: the URL parser's form, which is what
 * later messages show (lowercased host, IDN in punycode, default port dropped).
 */
export function parseBaseUrl(value: string): Parsed<string> {
  if (/\s/u.test(value)) return { problem: 'it contains white space' }
  if (value.includes('\\')) return { problem: 'it contains a backslash' }
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase()
  if (scheme === undefined || !value.slice(scheme.length).startsWith('://')) {
    return { problem: 'it does not start with https:// or http://' }
  }
  if (scheme !== 'https' && scheme !== 'http') {
    return { problem: `its scheme ${scheme} is not supported: use https:// or http://` }
  }
  const rest = value.slice(scheme.length + 3)
  const authority = rest.split(/[/?#]/)[0] ?? ''
  if (authority.includes('@')) {
    return {
      problem: 'it contains credentials (user:password@), which would appear in logs',
      redacted: redact(value)
    }
  }
  if (/[?#]/.test(rest)) return { problem: 'it has a query (?…) or fragment (#…)' }
  const hostProblem = authorityProblem(authority)
  if (hostProblem !== undefined) return { problem: hostProblem }
  const url = parse(value)
  if (url === undefined) return { problem: 'it does not parse as a URL' }
  const nameProblem = hostNameProblem(url)
  if (nameProblem !== undefined) return { problem: nameProblem }
  return { value: `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '') }
}

/** Why an S3 endpoint is refused because it is plain HTTP (see parseEndpoint in input-helper). */
export const PLAIN_HTTP = 'plain-http'

/**
 * An S3 endpoint: `host[:port]` or `https://host[:port]` (one trailing slash tolerated), returned
 * as `host[:port]` (the port kept as given, IPv6 in brackets). `http://` yields the problem
 * PLAIN_HTTP, for the caller to explain.
 */
export function parseS3Endpoint(value: string): Parsed<string> {
  if (/\s/u.test(value)) return { problem: 'it contains white space' }
  if (value.includes('\\')) return { problem: 'it contains a backslash' }
  if (value.includes('@')) {
    return {
      problem: 'it contains credentials (user:password@), which would appear in logs',
      redacted: redact(value)
    }
  }
  let rest = value
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)
  if (scheme !== null) {
    const given = (scheme[1] ?? '').toLowerCase()
    if (given === 'http') return { problem: PLAIN_HTTP }
    if (given !== 'https') return { problem: `its scheme ${given} is not supported` }
    rest = value.slice(scheme[0].length)
  }
  rest = rest.replace(/\/$/, '')
  if (/[/?#]/.test(rest)) return { problem: 'it has a path, query or fragment' }
  const hostProblem = authorityProblem(rest)
  if (hostProblem !== undefined) return { problem: hostProblem }
  const url = parse(`https://${rest}`)
  if (url === undefined) return { problem: 'it does not parse as host[:port]' }
  const nameProblem = hostNameProblem(url)
  if (nameProblem !== undefined) return { problem: nameProblem }
  const port = /:(\d+)$/.exec(rest)?.[1]
  return { value: port === undefined ? url.hostname : `${url.hostname}:${port}` }
}
