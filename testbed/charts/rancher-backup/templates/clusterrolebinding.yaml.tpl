apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ include "backupRestore.fullname" . }}
  labels:
    {{- include "backupRestore.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: {{ include "backupRestore.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
