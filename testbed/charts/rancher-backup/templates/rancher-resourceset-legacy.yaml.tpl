{{- /* rancher-resource-set: upstream's chart lines v1 to v7 (see _helpers.tpl). */}}
{{- if semverCompare "<107.0.0-0" .Chart.Version }}
apiVersion: resources.cattle.io/v1
kind: ResourceSet
metadata:
  name: rancher-resource-set
  labels:
    {{- include "backupRestore.labels" . | nindent 4 }}
controllerReferences:
  - apiVersion: "apps/v1"
    resource: "deployments"
    name: "rancher"
    namespace: "cattle-system"
    replicas: 0
resourceSelectors:
{{- range $path, $_ := .Files.Glob "files/basic-resourceset-contents/*.yaml" }}
  {{- $.Files.Get $path | trim | nindent 2 }}
{{- end }}
{{- include "backupRestore.capiSelectors" . }}
{{- include "backupRestore.sensitiveSelectors" . }}
{{- end }}
