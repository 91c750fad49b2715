{{/* One object of a custom resource kind: (list $ "<apiVersion>" "<kind>" <entry>) */}}
{{- define "stream-app-resources.object" -}}
{{- $root := index . 0 -}}
{{- $entry := index . 3 -}}
{{- $base := dict "app.kubernetes.io/managed-by" $root.Release.Service "app.kubernetes.io/part-of" "streaming-data-platform" "helm.sh/chart" (printf "%s-%s" $root.Chart.Name $root.Chart.Version) -}}
apiVersion: {{ index . 1 }}
kind: {{ index . 2 }}
metadata:
  name: {{ $entry.name | quote }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- toYaml (merge (deepCopy (default (dict) $entry.labels)) $base) | nindent 4 }}
  {{- with $entry.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- toYaml $entry.spec | nindent 2 }}
{{- end -}}
