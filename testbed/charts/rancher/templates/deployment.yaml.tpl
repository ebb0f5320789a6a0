kind: Deployment
apiVersion: apps/v1
metadata:
  name: {{ template "rancher.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: {{ template "rancher.fullname" . }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: {{ template "rancher.fullname" . }}
        release: {{ .Release.Name }}
        {{- if include "rancher.broken" . }}
        testbed.rancher-rollback/broken: "true"
        {{- end }}
    spec:
      serviceAccountName: {{ template "rancher.fullname" . }}
      containers:
      - name: {{ template "rancher.fullname" . }}
        image: {{ with .Values.systemDefaultRegistry }}{{ . }}/{{ end }}{{ .Values.rancherImage }}:{{ include "rancher.imageTag" . }}
        imagePullPolicy: {{ .Values.rancherImagePullPolicy }}
        args:
        - "--http-listen-port=80"
        - "--https-listen-port=443"
        - "--add-local=true"
        env:
        - name: CATTLE_NAMESPACE
          value: {{ .Release.Namespace }}
        - name: CATTLE_PEER_SERVICE
          value: {{ template "rancher.fullname" . }}
        - name: CATTLE_SERVER_URL
          value: "https://{{ include "rancher.hostname" . }}"
        {{- /* rancher/rancher chart/templates/deployment.yaml: none in v2.5; from v2.6.3 only when the value is set (v2.6.0-v2.6.2, not served here, always). */}}
        {{- if and .Values.bootstrapPassword (semverCompare ">=2.6.0-0" .Chart.Version) }}
        - name: CATTLE_BOOTSTRAP_PASSWORD
          valueFrom:
            secretKeyRef:
              name: bootstrap-secret
              key: bootstrapPassword
        {{- end }}
        {{- if .Values.privateCA }}
        - name: CATTLE_CA_CHECKSUM
          value: "private-ca"
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        ports:
        - containerPort: 80
          protocol: TCP
        - containerPort: 444
          protocol: TCP
