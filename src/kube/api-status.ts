/**
 * A refused API request in kubectl's words (`Error from server (Reason): message`), so that the
 * same rules (transient-errors.ts, isAlreadyExists, conflicts) judge a request and a kubectl run.
 */
export function apiErrorText(status: number, body: string): string {
  try {
    const s = JSON.parse(body) as { kind?: unknown; reason?: unknown; message?: unknown }
    if (s.kind === 'Status' && typeof s.message === 'string') {
      const reason = typeof s.reason === 'string' && s.reason !== '' ? s.reason : String(status)
      return `Error from server (${reason}): ${s.message}`
    }
  } catch {
    // Not a Status: kubectl proxy's own errors are plain text ("dial tcp …: connection refused").
  }
  const text = body.trim().slice(0, 2000)
  return `Error from server (${status})${text ? `: ${text}` : ''}`
}
