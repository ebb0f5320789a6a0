{{- define "rancher.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rancher.chartname" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rancher.labels" -}}
app: {{ template "rancher.fullname" . }}
chart: {{ template "rancher.chartname" . }}
heritage: {{ .Release.Service }}
release: {{ .Release.Name }}
{{- end -}}

{{/* Version facts set by testbed/services/chart-repo.ts as Chart.yaml annotations. */}}
{{- define "rancher.testbed" -}}
{{- index .Chart.Annotations (printf "testbed.rancher-rollback/%s" .key) | default "" -}}
{{- end -}}

{{- define "rancher.broken" -}}
{{- if eq (index .Chart.Annotations "testbed.rancher-rollback/broken" | default "") "true" -}}true{{- end -}}
{{- end -}}

{{- define "rancher.imageTag" -}}
{{- if .Values.rancherImageTag -}}
{{- .Values.rancherImageTag -}}
{{- else -}}
{{- .Chart.AppVersion -}}{{- if include "rancher.broken" . -}}-broken{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rancher.hostname" -}}
{{- required "hostname is required" .Values.hostname -}}
{{- end -}}
