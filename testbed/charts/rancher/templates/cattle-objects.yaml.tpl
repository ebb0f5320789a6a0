{{- /* A few cattle.io objects, as a running Rancher has them (their CRDs are in crds/). */ -}}
apiVersion: management.cattle.io/v3
kind: Cluster
metadata:
  name: local
  annotations:
    helm.sh/resource-policy: keep
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
spec:
  displayName: local
  description: The cluster Rancher runs on
  internal: true
---
apiVersion: management.cattle.io/v3
kind: Setting
metadata:
  name: server-url
  annotations:
    helm.sh/resource-policy: keep
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
value: "https://{{ include "rancher.hostname" . }}"
default: ""
