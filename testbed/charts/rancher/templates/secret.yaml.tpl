{{- if .Values.bootstrapPassword }}
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-secret
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
type: Opaque
data:
  bootstrapPassword: {{ .Values.bootstrapPassword | b64enc | quote }}
{{- end }}
