apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "backupRestore.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "backupRestore.labels" . | nindent 4 }}
