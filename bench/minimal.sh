#!/usr/bin/env bash
# The minimal in-place rollback an expert types by hand: what `npm run bench` measures the action
# against. Same procedure as the action's in-place path (Rancher QA's upgrade_rollback_test.go and
# the Rollbacks doc page): stop Rancher and uninstall rancher-webhook so it cannot deny the Restore,
# restore the backup, helm rollback to the newest revision of the previous version, wait for
# Rancher and for the webhook it reinstalls. No lock, no checks, no report.
#
# Env: KUBECONFIG, HELM, KUBECTL, BACKUP (file name), BUCKET, ENDPOINT (host:port), REGION,
# CA_B64 (endpoint CA, base64), CRED_NAME, CRED_NAMESPACE.
set -euo pipefail
ns=cattle-system

# The newest revision whose app version differs from the deployed one.
rev=$("$HELM" history rancher -n "$ns" -o json --max 256 | node -e '
  const h = JSON.parse(require("fs").readFileSync(0, "utf8"))
  const now = h.at(-1).app_version
  process.stdout.write(String(h.filter(r => r.app_version !== now).at(-1).revision))')

"$KUBECTL" scale deployment/rancher -n "$ns" --replicas=0
"$KUBECTL" wait pod -l app=rancher -n "$ns" --for=delete --timeout=600s
"$HELM" uninstall rancher-webhook -n "$ns" --wait --timeout 600s

name="rollback-$(date +%s)"
"$KUBECTL" create -f - <<YAML
apiVersion: resources.cattle.io/v1
kind: Restore
metadata: { name: $name }
spec:
  backupFilename: $BACKUP
  prune: true
  storageLocation:
    s3:
      bucketName: $BUCKET
      endpoint: $ENDPOINT
      region: $REGION
      endpointCA: $CA_B64
      credentialSecretName: $CRED_NAME
      credentialSecretNamespace: $CRED_NAMESPACE
YAML
"$KUBECTL" wait "restores.resources.cattle.io/$name" --for=condition=Ready=True --timeout=600s

"$HELM" rollback rancher "$rev" -n "$ns" --wait --timeout 600s
"$KUBECTL" rollout status deployment/rancher -n "$ns" --timeout=600s
"$KUBECTL" wait deployment/rancher-webhook -n "$ns" --for=create --timeout=600s
"$KUBECTL" rollout status deployment/rancher-webhook -n "$ns" --timeout=600s
