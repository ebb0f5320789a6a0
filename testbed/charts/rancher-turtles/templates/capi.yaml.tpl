{{- /*
  Core Cluster API in cattle-capi-system. Upstream the chart holds only the Namespace and a
  CAPIProvider (templates/core-provider.yaml) and the Turtles controller applies the provider's
  components (templates/core-provider-configmap.yaml) at run time; the testbed has no Turtles
  controller, so the chart renders those components itself, trimmed to the objects a rollback
  meets, with upstream's names: Deployment capi-controller-manager, Service capi-webhook-service
  and the webhook configurations capi-mutating-webhook-configuration and
  capi-validating-webhook-configuration (failurePolicy Fail, as upstream; only their first webhook
  each, on clusters.cluster.x-k8s.io, which no testbed world creates objects of). Names and
  content from v0.25.4's components; v0.26.1 ships them gzipped, its post-delete-job.yaml names
  the same webhook configurations and Deployment. CAPI v1.10 (Turtles v0.25, Rancher 2.13) serves
  the webhooks at v1beta1, v1.12 (Turtles v0.26, 2.14) at v1beta2 (the v1beta2 paths inferred).
*/ -}}
{{- $v := .Chart.Version -}}
{{- if contains "+up" $v -}}{{- $v = (splitList "+up" $v | last) -}}{{- end -}}
{{- $ns := index .Values "cluster-api-operator" "cluster-api" "core" "namespace" -}}
{{- $api := ternary "v1beta2" "v1beta1" (semverCompare ">=0.26.0-0" $v) -}}
{{- $registry := "" -}}
{{- if .Values.global.cattle.systemDefaultRegistry -}}{{- $registry = printf "%s/" .Values.global.cattle.systemDefaultRegistry -}}{{- end -}}
apiVersion: v1
kind: Namespace
metadata:
  name: {{ $ns }}
  labels:
    cluster.x-k8s.io/provider: cluster-api
    control-plane: controller-manager
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: capi-manager
  namespace: {{ $ns }}
  labels:
    cluster.x-k8s.io/provider: cluster-api
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: capi-manager-rolebinding
  labels:
    cluster.x-k8s.io/provider: cluster-api
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: capi-manager
  namespace: {{ $ns }}
---
apiVersion: v1
kind: Service
metadata:
  name: capi-webhook-service
  namespace: {{ $ns }}
  labels:
    cluster.x-k8s.io/provider: cluster-api
spec:
  ports:
  - port: 443
    targetPort: webhook-server
  selector:
    cluster.x-k8s.io/provider: cluster-api
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: capi-controller-manager
  namespace: {{ $ns }}
  labels:
    cluster.x-k8s.io/provider: cluster-api
    control-plane: controller-manager
spec:
  replicas: 1
  selector:
    matchLabels:
      cluster.x-k8s.io/provider: cluster-api
      control-plane: controller-manager
  template:
    metadata:
      labels:
        cluster.x-k8s.io/provider: cluster-api
        control-plane: controller-manager
    spec:
      serviceAccountName: capi-manager
      containers:
      - name: manager
        image: {{ $registry }}rancher/cluster-api-controller:{{ ternary "v1.12.2" "v1.10.6" (semverCompare ">=0.26.0-0" $v) }}
        command:
        - /manager
        args:
        - --leader-elect
        ports:
        - containerPort: 9443
          name: webhook-server
          protocol: TCP
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: capi-mutating-webhook-configuration
  labels:
    cluster.x-k8s.io/provider: cluster-api
webhooks:
- admissionReviewVersions:
  - v1
  - v1beta1
  clientConfig:
    service:
      name: capi-webhook-service
      namespace: {{ $ns }}
      path: /mutate-cluster-x-k8s-io-{{ $api }}-cluster
  failurePolicy: Fail
  matchPolicy: Equivalent
  name: default.cluster.cluster.x-k8s.io
  rules:
  - apiGroups:
    - cluster.x-k8s.io
    apiVersions:
    - {{ $api }}
    operations:
    - CREATE
    - UPDATE
    resources:
    - clusters
  sideEffects: None
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: capi-validating-webhook-configuration
  labels:
    cluster.x-k8s.io/provider: cluster-api
webhooks:
- admissionReviewVersions:
  - v1
  - v1beta1
  clientConfig:
    service:
      name: capi-webhook-service
      namespace: {{ $ns }}
      path: /validate-cluster-x-k8s-io-{{ $api }}-cluster
  failurePolicy: Fail
  matchPolicy: Equivalent
  name: validation.cluster.cluster.x-k8s.io
  rules:
  - apiGroups:
    - cluster.x-k8s.io
    apiVersions:
    - {{ $api }}
    operations:
    - CREATE
    - UPDATE
    - DELETE
    resources:
    - clusters
  sideEffects: None
