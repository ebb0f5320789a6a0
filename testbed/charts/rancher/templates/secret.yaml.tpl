{{- /*
bootstrap-secret as rancher/rancher's chart/templates/secret.yaml renders it at each tag:
- v2.5.x: no such template.
- v2.6.0-v2.6.2: always rendered, a release object; the password of an existing Secret (lookup)
  wins over .Values.bootstrapPassword.
- v2.6.3-v2.6.4 (commits 1740fccdd2, 44670716d8): rendered only when .Values.bootstrapPassword or
  an existing Secret's data.bootstrapPassword (lookup) is set; still a release object, so Helm
  checks the ownership of an existing one (rancher/rancher#37060).
- v2.6.5 on (commit 69c9ff3c14, rancher/rancher#37369): the same, as a pre-install,pre-upgrade
  hook kept on uninstall; Helm never checks a hook's ownership (it deletes and recreates it).
*/ -}}
{{- if semverCompare ">=2.6.0-0" .Chart.Version }}
{{- $bootstrapPassword := .Values.bootstrapPassword -}}
{{- $existingSecret := lookup "v1" "Secret" .Release.Namespace "bootstrap-secret" -}}
{{- if and $existingSecret $existingSecret.data -}}
{{- if $existingSecret.data.bootstrapPassword -}}
{{- $bootstrapPassword = $existingSecret.data.bootstrapPassword | b64dec -}}
{{- end -}}
{{- end -}}
{{- if or $bootstrapPassword (semverCompare "<2.6.3-0" .Chart.Version) }}
apiVersion: v1
kind: Secret
metadata:
  name: "bootstrap-secret"
  namespace: {{ .Release.Namespace }}
  {{- if semverCompare ">=2.6.5-0" .Chart.Version }}
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-weight": "-5"
    "helm.sh/resource-policy": keep
  {{- end }}
type: Opaque
data:
  bootstrapPassword: {{ $bootstrapPassword | default "" | b64enc | quote }}
{{- end }}
{{- end }}
