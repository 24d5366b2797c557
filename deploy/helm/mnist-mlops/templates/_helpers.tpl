{{/* The release's name prefix for every object. */}}
{{- define "mnist.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; "component" names the service. Call with (dict "root" $ "component" "x"). */}}
{{- define "mnist.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{ include "mnist.selectorLabels" . }}
{{- end -}}

{{- define "mnist.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* One of the project's images: (dict "root" $ "service" "predictor"). */}}
{{- define "mnist.image" -}}
{{- with .root.Values.image -}}
{{ printf "%s/%s:%s%s" .namespace .repository $.service .tagSuffix | quote }}
{{- end -}}
{{- end -}}

{{/* A Service's in-cluster DNS name: (dict "root" $ "component" "tracking"). */}}
{{- define "mnist.host" -}}
{{ include "mnist.fullname" .root }}-{{ .component }}.{{ .root.Release.Namespace }}.svc.cluster.local
{{- end -}}

{{- define "mnist.postgresHost" -}}
{{- if .Values.demo.enabled -}}
{{ include "mnist.host" (dict "root" . "component" "postgres") }}
{{- else -}}
{{ .Values.postgresql.host }}
{{- end -}}
{{- end -}}

{{- define "mnist.s3Endpoint" -}}
{{- if .Values.demo.enabled -}}
http://{{ include "mnist.host" (dict "root" . "component" "minio") }}:9000
{{- else -}}
{{ .Values.s3.endpointUrl }}
{{- end -}}
{{- end -}}

{{/* An environment variable from the release's Secret: (list "NAME" "key" $ [optional]). */}}
{{- define "mnist.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ (index . 2).Values.existingSecret }}
      key: {{ index . 1 }}
      {{- if gt (len .) 3 }}
      optional: true
      {{- end }}
{{- end -}}

{{/* What every MLflow client (trainer, predictor) needs: the server and its login when on. */}}
{{- define "mnist.mlflowClientEnv" -}}
- name: MLFLOW_TRACKING_URI
  value: http://{{ include "mnist.host" (dict "root" . "component" "tracking") }}:5000
- name: MLFLOW_TRACKING_USERNAME
  value: admin
{{ include "mnist.secretEnv" (list "MLFLOW_TRACKING_PASSWORD" "mlflow-admin-password" . true) }}
- name: MLFLOW_DISABLE_TELEMETRY
  value: "true"
{{- end -}}

{{/* The trainer's container, for the Job and the CronJob alike. */}}
{{- define "mnist.trainerPod" -}}
restartPolicy: Never
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
containers:
  - name: trainer
    image: {{ include "mnist.image" (dict "root" . "service" "trainer") }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    securityContext:
      {{- toYaml .Values.containerSecurityContext | nindent 6 }}
    env:
      {{- include "mnist.mlflowClientEnv" . | nindent 6 }}
      - name: PREDICTION_DB_HOST
        value: {{ include "mnist.postgresHost" . | quote }}
      - name: PREDICTION_DB_PORT
        value: {{ .Values.postgresql.port | quote }}
      - name: PREDICTION_DB_NAME
        value: {{ .Values.predictionDb.name | quote }}
      - name: PREDICTION_READER_USER
        value: {{ .Values.predictionDb.readerUser | quote }}
      {{- include "mnist.secretEnv" (list "PREDICTION_READER_PASSWORD" "reader-db-password" .) | nindent 6 }}
    resources:
      {{- toYaml .Values.trainer.resources | nindent 6 }}
    volumeMounts:
      - {name: keras-cache, mountPath: /cache/keras}
      - {name: tmp, mountPath: /tmp}
volumes:
  - {name: keras-cache, emptyDir: {}}
  - {name: tmp, emptyDir: {}}
{{- end -}}
