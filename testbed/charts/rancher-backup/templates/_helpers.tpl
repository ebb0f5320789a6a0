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
The sensitive selectors: rancher/backup-restore-operator's
charts/rancher-backup/files/default-resourceset-contents/rancher.yaml (sensitive-resourceset-contents/
from v5). From v2.1.2 on (commit 76f1a71) they leave bootstrap-secret out (v2.1.3 adds the
csp-adapter objects, which the testbed has none of); before, and on the 1.x line, a backup holds it.
Here and not in files/: the key must be absent, not empty, where nothing is excluded.
*/}}
{{- define "backupRestore.sensitiveSelectors" }}
  - apiVersion: "v1"
    kindsRegexp: "^secrets$"
    namespaceRegexp: "^cattle-|^p-|^c-|^local$|^user-|^u-"
    labelSelectors:
      matchExpressions:
        - key: "owner"
          operator: "NotIn"
          values: ["helm"]
    {{- if semverCompare ">=2.1.2-0" .Chart.Version }}
    excludeResourceNameRegexp: "^bootstrap-secret$"
    {{- end }}
{{- end }}
