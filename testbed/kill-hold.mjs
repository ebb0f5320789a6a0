// Preloaded (`node --import`) into the action by runAction({ killAt }) for a kill at a log line:
// once the line is written, the action's thread blocks, so the SIGKILL that runAction sends on
// reading it lands exactly there, as "killed when the step's ▶ line is logged" says. Without it,
// a step of API requests (a few ms each) can end, and the next one start, before the kill lands.
// stdout is a pipe, and pipe writes are synchronous on Linux: the line is out before the block.
const pattern = new RegExp(process.env.RR_TESTBED_HOLD_ON ?? '(?!)')
const HOLD_MS = 10_000

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream)
  let pending = ''
  stream.write = (chunk, ...rest) => {
    const written = write(chunk, ...rest)
    const lines = (pending + String(chunk)).split('\n')
    pending = lines.pop() ?? ''
    if (lines.some(line => pattern.test(line))) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HOLD_MS)
    }
    return written
  }
}
