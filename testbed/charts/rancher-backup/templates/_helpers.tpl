{{/* Adapted from rancher/backup-restore-operator charts/rancher-backup/templates/_helpers.tpl */}}
{{- define "system_default_registry" -}}
{{- if .Values.global.cattle.systemDefaultRegistry -}}
{{- printf "%s/" .Values.global.cattle.systemDefaultRegistry -}}
{{- end -}}
{{- end -}}

{{- define "backupRestore.fullname" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "backupRestore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "backupRestore.labels" -}}
helm.sh/chart: {{ include "backupRestore.chart" . }}
{{ include "backupRestore.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "backupRestore.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backupRestore.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
resources.cattle.io/operator: backup-restore
{{- end }}

{{- define "backupRestore.serviceAccountName" -}}
{{ include "backupRestore.fullname" . }}
{{- end }}

{{/* The CAPI API version this chart line backs up (set by testbed/services/chart-repo.ts). */}}
{{- define "backupRestore.capiApiVersion" -}}
{{- index .Chart.Annotations "testbed.rancher-rollback/capi-api-version" | default "" -}}
{{- end }}

{{/* The operator image tag: v<upstream version> (the part after "+up"), or the version. */}}
{{- define "backupRestore.imageTag" -}}
{{- if .Values.image.tag -}}
{{- .Values.image.tag -}}
{{- else -}}
{{- $v := .Chart.Version -}}
{{- if contains "+up" $v -}}{{- $v = (splitList "+up" $v | last) -}}{{- end -}}
{{- printf "v%s" $v -}}
{{- end -}}
{{- end }}

{{/* ResourceSet selectors for cluster-api: its CRDs and its objects at this line's version. */}}
{{- define "backupRestore.capiSelectors" -}}
{{- $capi := include "backupRestore.capiApiVersion" . -}}
{{- if $capi }}
  - apiVersion: "apiextensions.k8s.io/v1"
    kindsRegexp: "."
    resourceNameRegexp: "cluster.x-k8s.io$"
  - apiVersion: "cluster.x-k8s.io/{{ $capi }}"
    kindsRegexp: "."
{{- end }}
{{- end }}

{{/*
Secrets the ResourceSet leaves out: rancher/backup-restore-operator excludes bootstrap-secret from
v2.1.2 on (commit 76f1a71, charts/rancher-backup/files/default-resourceset-contents/rancher.yaml;
v2.1.3 adds the csp-adapter objects, which the testbed has none of). Before, and on the 1.x line,
a backup holds it.
*/}}
{{- define "backupRestore.excludedSecrets" -}}
{{- if semverCompare ">=2.1.2-0" .Chart.Version -}}^bootstrap-secret${{- end -}}
{{- end }}

{{/* The sensitive selectors (files/sensitive-resourceset-contents, rendered: they use the above). */}}
{{- define "backupRestore.sensitiveSelectors" -}}
{{- range $path, $_ := .Files.Glob "files/sensitive-resourceset-contents/*.yaml" }}
  {{- tpl ($.Files.Get $path) $ | trim | nindent 2 }}
{{- end }}
{{- end }}
