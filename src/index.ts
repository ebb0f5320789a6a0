import { realEnvironment, run } from './main.js'

// SIGINT/SIGTERM cancel the run instead of ending the process at once: it stops its commands,
// writes the summary and outputs, releases the lock and exits before the runner's SIGKILL.
const stopListening = realEnvironment.cancellation.listen()
await run()
stopListening()
// Nothing may keep a cancelled run alive past the runner's SIGKILL (a timer, a stray pipe).
if (realEnvironment.cancellation.signal.aborted) process.exit()
