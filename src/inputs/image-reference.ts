/**
 * Container image references, parsed by the grammar of distribution/reference (reference.go,
 * regexp.go), the parser containerd and Docker use, and digests as opencontainers/go-digest
 * validates them. Pure.
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain '/'] remote-name
 *   domain           := host [':' port-number]
 *   host             := domain-name | IPv4address | \[ IPv6address \]
 *   domain-name      := domain-component ['.' domain-component]*
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   port-number      := /[0-9]+/
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   remote-name      := path-component ['/' path-component]*
 *   alpha-numeric    := /[a-z0-9]+/
 *   separator        := /[_.]|__|[-]+/
 *   tag              := /[\w][\w.-]{0,127}/
 *   digest           := algorithm ":" hex   (algorithm components joined by [+._-], hex >= 32)
 *
 * The name is at most 255 characters (NameTotalLengthMax). Its first component is the registry
 * only when it looks like a host (docker's splitDockerDomain); otherwise the image is on Docker Hub.
 */
import { isIPv6 } from 'node:net'

export interface ImageReference {
  /** Registry host[:port], '' when none is given (Docker Hub). */
  domain: string
  /** Repository path, e.g. rancher/rancher-cleanup. */
  path: string
  tag: string | undefined
  digest: string | undefined
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]'
const HOST = `(?:${DOMAIN_NAME}|${IPV6})`
const DOMAIN = `${HOST}(?::[0-9]+)?`
const ALPHA_NUMERIC = '[a-z0-9]+'
const SEPARATOR = '(?:[_.]|__|[-]+)'
const PATH_COMPONENT = `${ALPHA_NUMERIC}(?:${SEPARATOR}${ALPHA_NUMERIC})*`
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
const NAME = `(?:${DOMAIN}/)?${REMOTE_NAME}`
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`)
const ANCHORED_DOMAIN = new RegExp(`^${DOMAIN}$`)
const ANCHORED_REMOTE = new RegExp(`^${REMOTE_NAME}$`)

const NAME_TOTAL_LENGTH_MAX = 255

/** go-digest's registered algorithms and the length of their lowercase hex encoding. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 }

/** The parsed reference, or what is wrong with it (one clause). */
export function parseImageReference(value: string): ImageReference | { problem: string } {
  const match = REFERENCE.exec(value)
  if (match === null) return { problem: whyNotReference(value) }
  const [, name = '', tag, digest] = match
  // The first component is a registry only when it looks like one (docker's splitDockerDomain,
  // as ParseNormalizedNamed applies it): a dot, a port, `localhost`, or an upper-case letter.
  const slash = name.indexOf('/')
  const first = slash === -1 ? '' : name.slice(0, slash)
  const isDomain =
    first !== '' && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first)
  const domain = isDomain ? first : ''
  const path = isDomain ? name.slice(slash + 1) : name
  if ((domain !== '' && !ANCHORED_DOMAIN.test(domain)) || !ANCHORED_REMOTE.test(path)) {
    return { problem: whyNotReference(value) }
  }
  if (domain.length + (domain ? 1 : 0) + path.length > NAME_TOTAL_LENGTH_MAX) {
    return { problem: `the repository name is longer than ${NAME_TOTAL_LENGTH_MAX} characters` }
  }
  const v6 = /^\[([^\]]*)\]/.exec(domain)
  if (v6 !== null && !isIPv6(v6[1] ?? '')) {
    return { problem: `the registry [${v6[1]}] is not an IPv6 address` }
  }
  if (digest !== undefined) {
    const [algorithm = '', hex = ''] = digest.split(':')
    const length = DIGEST_HEX_LENGTH[algorithm]
    if (length === undefined) {
      return { problem: `digest algorithm ${algorithm} is not sha256, sha384 or sha512` }
    }
    if (hex.length !== length || !/^[0-9a-f]+$/.test(hex)) {
      return { problem: `a ${algorithm} digest is ${length} lowercase hexadecimal digits` }
    }
  }
  return { domain, path, tag, digest }
}

/** A hint for the commonest mistakes; the grammar above is the rule. */
function whyNotReference(value: string): string {
  if (value === '') return 'it is empty'
  if (/\s/.test(value)) return 'it contains white space'
  return (
    'it does not follow the image reference grammar ' +
    '[registry[:port]/]path[:tag][@algorithm:hex], whose path is lowercase letters, digits and ' +
    'single separators (., _, __ or -), and whose tag is up to 128 letters, digits, _, . and -, ' +
    'not starting with . or -'
  )
}
