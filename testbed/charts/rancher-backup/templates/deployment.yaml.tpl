{{- if and .Values.s3.enabled .Values.persistence.enabled }}
{{- fail "\n\nCannot configure both s3 and PV for storing backups" }}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "backupRestore.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "backupRestore.labels" . | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      {{- include "backupRestore.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "backupRestore.selectorLabels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "backupRestore.serviceAccountName" . }}
      containers:
      - name: {{ .Chart.Name }}
        image: {{ template "system_default_registry" . }}{{ .Values.image.repository }}:{{ include "backupRestore.imageTag" . }}
        imagePullPolicy: {{ default "Always" .Values.imagePullPolicy }}
        ports:
        - containerPort: 8080
        args:
{{- if .Values.debug }}
        - "--debug"
{{- end }}
{{- if .Values.trace }}
        - "--trace"
{{- end }}
        env:
        - name: CHART_NAMESPACE
          value: {{ .Release.Namespace }}
      nodeSelector:
        kubernetes.io/os: linux
{{- if .Values.nodeSelector }}
{{ toYaml .Values.nodeSelector | indent 8 }}
{{- end }}
      tolerations:
      - key: "cattle.io/os"
        value: "linux"
        effect: "NoSchedule"
        operator: "Equal"
{{- if .Values.tolerations }}
{{ toYaml .Values.tolerations | indent 6 }}
{{- end }}
