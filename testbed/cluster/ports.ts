/** Free loopback TCP ports, picked by letting the kernel choose (port 0). */
import { createServer, type Server } from 'node:net'

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = server.address()
      if (addr && typeof addr === 'object') resolve(addr.port)
      else reject(new Error('no port'))
    })
  })
}

/**
 * `count` distinct free ports on 127.0.0.1. All are held open together while picking, so one call
 * never returns the same port twice; they are released before returning (a small race with other
 * processes remains: callers that spawn servers on them should retry on "address already in use").
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    const ports: number[] = []
    for (let i = 0; i < count; i++) {
      const s = createServer()
      servers.push(s)
      ports.push(await listen(s))
    }
    return ports
  } finally {
    await Promise.all(servers.map(s => new Promise<void>(r => s.close(() => r()))))
  }
}

/** One free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const [p] = await freePorts(1)
  return p as number
}
