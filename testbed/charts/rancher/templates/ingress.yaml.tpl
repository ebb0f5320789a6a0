{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ template "rancher.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "rancher.labels" . | nindent 4 }}
  annotations:
    {{- if .Values.ingress.includeDefaultExtraAnnotations }}
    nginx.ingress.kubernetes.io/proxy-connect-timeout: "30"
    nginx.ingress.kubernetes.io/proxy-read-timeout: "1800"
    nginx.ingress.kubernetes.io/proxy-send-timeout: "1800"
    {{- end }}
    {{- if eq .Values.ingress.tls.source "rancher" }}
    cert-manager.io/issuer: {{ template "rancher.fullname" . }}
    cert-manager.io/issuer-kind: Issuer
    {{- else if eq .Values.ingress.tls.source "letsEncrypt" }}
    cert-manager.io/issuer: {{ template "rancher.fullname" . }}
    cert-manager.io/issuer-kind: Issuer
    testbed.rancher-rollback/lets-encrypt-email: {{ .Values.letsEncrypt.email | quote }}
    {{- end }}
    {{- with .Values.ingress.extraAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  rules:
  - host: {{ include "rancher.hostname" . }}
    http:
      paths:
      - path: /
        pathType: ImplementationSpecific
        backend:
          service:
            name: {{ template "rancher.fullname" . }}
            port:
              number: 80
  tls:
  - hosts:
    - {{ include "rancher.hostname" . }}
    secretName: {{ .Values.ingress.tls.secretName }}
{{- end }}
