{{- $v := .Chart.Version -}}
{{- if contains "+up" $v -}}{{- $v = (splitList "+up" $v | last) -}}{{- end -}}
{{- $registry := "" -}}
{{- if .Values.global.cattle.systemDefaultRegistry -}}{{- $registry = printf "%s/" .Values.global.cattle.systemDefaultRegistry -}}{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rancher-webhook
  namespace: {{ .Release.Namespace }}
  labels:
    app: rancher-webhook
    chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
    release: {{ .Release.Name }}
    heritage: {{ .Release.Service }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: rancher-webhook
  template:
    metadata:
      labels:
        app: rancher-webhook
        release: {{ .Release.Name }}
    spec:
      serviceAccountName: rancher-webhook
      containers:
      - name: rancher-webhook
        image: {{ $registry }}{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" $v) }}
        imagePullPolicy: {{ .Values.image.imagePullPolicy }}
        env:
        - name: NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        ports:
        - name: https
          containerPort: 9443
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: rancher-webhook
  namespace: {{ .Release.Namespace }}
---
apiVersion: v1
kind: Service
metadata:
  name: rancher-webhook
  namespace: {{ .Release.Namespace }}
spec:
  ports:
  - port: 443
    targetPort: 9443
    protocol: TCP
    name: https
  selector:
    app: rancher-webhook
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: rancher-webhook
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: rancher-webhook
  namespace: {{ .Release.Namespace }}
