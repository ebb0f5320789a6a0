{{- $_ := include "rancher.hostname" . -}}
{{- if not (has .Values.ingress.tls.source (list "rancher" "letsEncrypt" "secret")) -}}
{{- fail (printf "ingress.tls.source must be one of rancher, letsEncrypt, secret (got %q)" .Values.ingress.tls.source) -}}
{{- end -}}
{{- if and (eq .Values.ingress.tls.source "letsEncrypt") (not .Values.letsEncrypt.email) -}}
{{- fail "letsEncrypt.email is required when ingress.tls.source is letsEncrypt" -}}
{{- end -}}
