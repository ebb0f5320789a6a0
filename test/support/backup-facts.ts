/** What the companion reads of a ready 2.8.4 cluster (rancher-backup 103, operator v4), for tests. */
import type { BackupFacts } from '../../src/backup/facts.js'

export const CLUSTER_UID = '6984797d-f889-4a6d-90a0-07ce08946501'

export function readyFacts(over: Partial<BackupFacts> = {}): BackupFacts {
  return {
    clusterUid: CLUSTER_UID,
    release: { exists: true, revision: 3, status: 'deployed', version: '2.8.4' },
    deployment: {
      exists: true,
      image: 'rancher/rancher:v2.8.4',
      imageVersion: '2.8.4',
      replicas: 1,
      readyReplicas: 1
    },
    operator: {
      releaseExists: true,
      chartVersion: '103.0.2+up4.0.2',
      backupCrdExists: true,
      deploymentReady: true
    },
    resourceSets: ['rancher-resource-set'],
    backups: [],
    credentialSecretExists: true,
    encryptionSecretExists: undefined,
    s3Keys: { accessKey: 'AK', secretKey: 'SK' },
    ...over
  }
}
