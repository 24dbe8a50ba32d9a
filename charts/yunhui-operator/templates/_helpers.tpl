{{- define "yunhui-operator.name" -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "yunhui-operator.labels" -}}
app.kubernetes.io/name: yunhui-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "yunhui-operator.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- printf "%s/%s:%s" $registry .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- define "yunhui-operator.servicesRegistry" -}}
{{- if .Values.global.imageRegistry -}}{{ printf "%s/yunhui" .Values.global.imageRegistry }}{{- else -}}{{ .Values.servicesRegistry }}{{- end -}}
{{- end -}}
{{- define "yunhui-operator.pullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.imagePullSecrets }}{{ $names = append $names .name }}{{ end -}}
{{- join "," $names -}}
{{- end -}}
