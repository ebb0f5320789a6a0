{{- /*
  The cluster-api CRDs Rancher waits for, at the API versions of this Rancher version (set by
  testbed/services/chart-repo.ts as Chart.yaml annotations): v1alpha4 below 2.6.4, v1beta1 from 2.6.4,
  v1beta2 from 2.14. In templates (not crds/) so that helm upgrade and rollback update them and
  the API server enforces status.storedVersions. Kept on uninstall: real Rancher creates them at
  runtime, so they outlive the Helm release.
*/ -}}
{{- $storage := include "rancher.testbed" (dict "Chart" .Chart "key" "capi-storage-version") -}}
{{- $served := include "rancher.testbed" (dict "Chart" .Chart "key" "capi-served-versions") | splitList "," | compact -}}
{{- if $storage }}
{{- $crds := list
  (dict "plural" "clusters" "kind" "Cluster" "short" "cl")
  (dict "plural" "machines" "kind" "Machine" "short" "ma")
  (dict "plural" "machinesets" "kind" "MachineSet" "short" "ms")
  (dict "plural" "machinedeployments" "kind" "MachineDeployment" "short" "md")
  (dict "plural" "machinehealthchecks" "kind" "MachineHealthCheck" "short" "mhc") }}
{{- range $crd := $crds }}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {{ $crd.plural }}.cluster.x-k8s.io
  annotations:
    helm.sh/resource-policy: keep
  labels:
    cluster.x-k8s.io/provider: cluster-api
spec:
  group: cluster.x-k8s.io
  names:
    categories:
    - cluster-api
    kind: {{ $crd.kind }}
    listKind: {{ $crd.kind }}List
    plural: {{ $crd.plural }}
    shortNames:
    - {{ $crd.short }}
    singular: {{ lower $crd.kind }}
  scope: Namespaced
  versions:
  {{- range $v := $served }}
  - name: {{ $v }}
    served: true
    storage: {{ eq $v $storage }}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion:
            type: string
          kind:
            type: string
          metadata:
            type: object
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
    subresources:
      status: {}
  {{- end }}
{{- end }}
{{- end }}
