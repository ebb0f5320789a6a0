{{/*
Adapted from rancher/backup-restore-operator charts/rancher-backup (templates/_helpers.tpl and
the ResourceSets), as read at the release tags v1.2.1 to v11.0.1.

ResourceSets per chart line, upstream: rancher-resource-set (templates/rancher-resourceset.yaml,
files/default-resourceset-contents) alone from v1 to v6; v7 (chart 106, Rancher 2.11) adds
rancher-resource-set-basic and -full (files/basic- and sensitive-resourceset-contents) next to it;
from v8.0.0 (chart 107) only basic and full (from v9, files/default/… plus files/optional/…).
The testbed follows that for rancher-resource-set (rancher-resourceset-legacy.yaml.tpl) and ships
basic and full on every line: its worlds back up with rancher-resource-set-basic
(testbed/scenario.ts), so before chart 106 those two are a testbed addition.

Where the testbed's sets still differ from upstream's:
- contents: files/basic-resourceset-contents/rancher.yaml and backupRestore.sensitiveSelectors
  below are a subset of upstream's rancher.yaml (as at v10.0.0: no
  rancher-csp-adapter exclusions, no kubeconfig ConfigMaps, no rancher-critical PriorityClass, no
  rancherusernotifications exclusion, no UIPlugins; the Secrets selector excludes only
  bootstrap-secret and lacks the `resources.cattle.io/backup: "true"` selector), the
  same on every line; upstream's aks, ali, eks, gke, elemental, fleet, provisioningv2,
  rancher-operator and optional (kubewarden) files are left out, and backupRestore.capiSelectors
  below stands in for provisioningv2.yaml's cluster.x-k8s.io entries;
- controllerReferences carry `replicas: 0`: the testbed's rancher-backup-crd requires the field,
  upstream's CRD does not and upstream's sets omit it.
*/}}
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
