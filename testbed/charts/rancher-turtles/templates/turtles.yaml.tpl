{{- /*
  The Turtles controller (upstream charts/rancher-turtles/templates/deployment.yaml and
  rancher-turtles-components.yaml, v0.25.4 / v0.26.1), trimmed to what a rollback meets: its
  Deployment, ServiceAccount and cluster binding. Rancher installs the release in
  cattle-turtles-system (rancher/rancher pkg/namespace TurtlesNamespace).
*/ -}}
{{- $v := .Chart.Version -}}
{{- if contains "+up" $v -}}{{- $v = (splitList "+up" $v | last) -}}{{- end -}}
{{- $registry := "" -}}
{{- if .Values.global.cattle.systemDefaultRegistry -}}{{- $registry = printf "%s/" .Values.global.cattle.systemDefaultRegistry -}}{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rancher-turtles-controller-manager
  namespace: {{ .Release.Namespace }}
  labels:
    control-plane: controller-manager
    chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
    release: {{ .Release.Name }}
    heritage: {{ .Release.Service }}
spec:
  replicas: 1
  selector:
    matchLabels:
      control-plane: controller-manager
  template:
    metadata:
      labels:
        control-plane: controller-manager
    spec:
      serviceAccountName: rancher-turtles-manager
      containers:
      - name: manager
        image: {{ $registry }}{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" $v) }}
        imagePullPolicy: {{ .Values.image.imagePullPolicy }}
        command:
        - /manager
        args:
        - --leader-elect
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: rancher-turtles-manager
  namespace: {{ .Release.Namespace }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: rancher-turtles-manager-rolebinding
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: rancher-turtles-manager
  namespace: {{ .Release.Namespace }}
