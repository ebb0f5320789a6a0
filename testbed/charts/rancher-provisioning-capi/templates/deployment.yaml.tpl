{{- $v := .Chart.Version -}}
{{- if contains "+up" $v -}}{{- $v = (splitList "+up" $v | last) -}}{{- end -}}
{{- $registry := "" -}}
{{- if .Values.global.cattle.systemDefaultRegistry -}}{{- $registry = printf "%s/" .Values.global.cattle.systemDefaultRegistry -}}{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: capi-controller-manager
  namespace: {{ .Release.Namespace }}
  labels:
    cluster.x-k8s.io/provider: cluster-api
    control-plane: controller-manager
    chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
    release: {{ .Release.Name }}
    heritage: {{ .Release.Service }}
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
        image: {{ $registry }}{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" $v) }}
        imagePullPolicy: {{ .Values.image.imagePullPolicy }}
        args:
        - --leader-elect
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: capi-manager
  namespace: {{ .Release.Namespace }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: capi-manager-rolebinding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: capi-manager
  namespace: {{ .Release.Namespace }}
