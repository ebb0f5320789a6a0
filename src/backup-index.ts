import { realBackupEnvironment, runBackup } from './backup/main.js'

// SIGINT/SIGTERM cancel the run instead of ending the process at once: it stops its waits, writes
// the summary and outputs, and exits before the runner's SIGKILL.
const stopListening = realBackupEnvironment.cancellation.listen()
await runBackup()
stopListening()
if (realBackupEnvironment.cancellation.signal.aborted) process.exit()
