{{/* Chart name, overridable with nameOverride. */}}
{{- define "aws-privateca-issuer.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: fullnameOverride, else the release name when it
already contains the chart name, else "<release>-<name>" (63 characters at most).
Same rule as the Go issuer's chart, so object and ServiceAccount names (and an
IRSA trust policy's subject) stay the same after a migration.
*/}}
{{- define "aws-privateca-issuer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "aws-privateca-issuer.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aws-privateca-issuer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aws-privateca-issuer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aws-privateca-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aws-privateca-issuer.labels" -}}
helm.sh/chart: {{ include "aws-privateca-issuer.chart" . }}
{{ include "aws-privateca-issuer.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ServiceAccount the controller runs as. */}}
{{- define "aws-privateca-issuer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "aws-privateca-issuer.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* image: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "aws-privateca-issuer.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* Leader election is on when asked, and always when more than one pod can run. */}}
{{- define "aws-privateca-issuer.leaderElect" -}}
{{- if or .Values.leaderElection.enabled .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{- end }}
{{- end }}

{{/* Name of the approver ClusterRole and ClusterRoleBinding (as in the Go chart). */}}
{{- define "aws-privateca-issuer.approverName" -}}
{{- printf "%s-controller-approve:awspca-cert-manager-io" .Values.approverRole.serviceAccountName }}
{{- end }}
