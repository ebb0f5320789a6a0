kind: ServiceAccount
apiVersion: v1
metadata:
  name: {{ template "rancher.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: {{ template "rancher.fullname" . }}
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
subjects:
- kind: ServiceAccount
  name: {{ template "rancher.fullname" . }}
  namespace: {{ .Release.Namespace }}
roleRef:
  kind: ClusterRole
  name: cluster-admin
  apiGroup: rbac.authorization.k8s.io
