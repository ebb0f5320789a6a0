/**
 * Pure classification of kubectl/helm failures, and the retry backoff schedule.
 *
 * A failure is transient when retrying the very same command may succeed: the API server or
 * etcd was briefly unreachable, overloaded or electing a leader. Anything that names the request
 * itself as wrong (not found, forbidden, invalid, conflict, unknown flag...) is deterministic and
 * is never retried, even when the same stderr also mentions a transient phrase.
 */

/** Phrases that mean "the request itself is wrong": retrying cannot help. Checked first. */
const DETERMINISTIC: readonly RegExp[] = [
  /\((?:NotFound|AlreadyExists|Forbidden|Unauthorized|Invalid|BadRequest|Conflict|MethodNotAllowed|Gone)\)/,
  /You must be logged in to the server/i,
  /the server has asked for the client to provide credentials/i,
  /\bis invalid: /,
  /error validating/i,
  /the object has been modified/i,
  /has no deployed releases/i,
  /release: not found/i,
  /unknown (?:shorthand )?flag/i,
  /unknown command/i,
  // kubectl wait reached its own --timeout: the condition is what failed, not the connection
  /timed out waiting for the condition/i
]

/** Phrases that kubectl, helm and client-go print for passing network / API server trouble. */
const TRANSIENT: readonly RegExp[] = [
  // Network
  /connection refused/i,
  /The connection to the server \S+ was refused/i,
  /connection reset/i,
  /connection timed out/i,
  /broken pipe/i,
  /i\/o timeout/i,
  /TLS handshake timeout/i,
  /context deadline exceeded/i,
  /Client\.Timeout exceeded/i,
  /unexpected EOF/i,
  /(?:^|: )EOF\s*$/m,
  /http2: client connection lost/i,
  /http2: server sent GOAWAY/i,
  /use of closed network connection/i,
  // Node's socket errors for the run's API proxy (it is started again for the retry)
  /\b(?:ECONNREFUSED|ECONNRESET|EPIPE)\b/,
  /socket hang up/i,
  // API server availability (client-go's messages for 429 / 5xx, with their status reasons)
  /the server is currently unable to handle the request/i,
  /the server has received too many requests/i,
  /the server was unable to return a response in the time allotted/i,
  /has prevented the request from succeeding/i,
  /Internal error occurred/i,
  /\((?:InternalError|ServiceUnavailable|TooManyRequests|Timeout|ServerTimeout)\)/,
  /Too Many Requests/i,
  /\(429\)/,
  /\b50[0234] (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b/i,
  /\bstatus(?: code)?:? ?50[0234]\b/i,
  /\(50[0234]\)/,
  // etcd
  /etcdserver: (?:leader changed|request timed out|no leader|too many requests)/i
]

/**
 * Whether a failed command is worth retrying. `exitCode` 0 is never an error. Deterministic
 * errors win over transient phrases found in the same stderr.
 */
export function isTransientError(stderr: string, exitCode: number): boolean {
  if (exitCode === 0) return false
  if (DETERMINISTIC.some(re => re.test(stderr))) return false
  return TRANSIENT.some(re => re.test(stderr))
}

const BACKOFF_BASE_MS = 1000
export const BACKOFF_MAX_MS = 10_000
/** Jitter adds up to this fraction of the base delay (the result never exceeds the cap). */
const BACKOFF_JITTER = 0.1

/**
 * Delay before retry number `retry` (1 = the first retry, i.e. before attempt 2):
 * 1 s, 2 s, 4 s, 8 s, then 10 s, each plus up to 10 % jitter, never above 10 s.
 * `random` returns a number in [0, 1) (injectable for tests).
 */
export function backoffDelayMs(retry: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(retry))
  const base = Math.min(BACKOFF_BASE_MS * 2 ** (n - 1), BACKOFF_MAX_MS)
  const r = Math.min(Math.max(random(), 0), 1)
  const jitter = Math.floor(base * BACKOFF_JITTER * r)
  return Math.min(base + jitter, BACKOFF_MAX_MS)
}

/** `1000` → `1s`, `1500` → `1.5s`, `300` → `0.3s`. */
export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`
}
