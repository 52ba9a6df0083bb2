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

{{/*
Who owns the CRD named by the second argument: "ours" when it does not exist
yet (or helm runs without a cluster: template, client dry-run) or when this
release already manages it; "other" when it exists and belongs to something
else (the Go chart's crds/, kubectl, another release).
*/}}
{{- define "aws-privateca-issuer.crdOwner" -}}
{{- $root := index . 0 }}
{{- $live := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" (index . 1) }}
{{- if not $live }}ours
{{- else }}
{{- $a := $live.metadata.annotations | default dict }}
{{- $l := $live.metadata.labels | default dict }}
{{- if and (eq (index $l "app.kubernetes.io/managed-by" | default "") "Helm") (eq (index $a "meta.helm.sh/release-name" | default "") $root.Release.Name) (eq (index $a "meta.helm.sh/release-namespace" | default "") $root.Release.Namespace) }}ours
{{- else }}other
{{- end }}
{{- end }}
{{- end }}

{{/* Names of the chart's CRDs that exist and are not managed by this release (left alone). */}}
{{- define "aws-privateca-issuer.foreignCRDs" -}}
{{- $names := list }}
{{- if .Values.crds.enabled }}
{{- range $path, $_ := .Files.Glob "files/crds/*.yaml" }}
{{- $name := ($.Files.Get $path | fromYaml).metadata.name }}
{{- if eq (include "aws-privateca-issuer.crdOwner" (list $ $name)) "other" }}
{{- $names = append $names $name }}
{{- end }}
{{- end }}
{{- end }}
{{- join " " $names }}
{{- end }}

{{/*
A Kubernetes memory quantity (64Mi, 128M, 1Gi, 134217728) in bytes; empty when
it is not a plain quantity this helper understands (the API server judges it).
*/}}
{{- define "aws-privateca-issuer.bytes" -}}
{{- if or (kindIs "float64" .) (kindIs "int" .) (kindIs "int64" .) }}
{{- . | int64 }}
{{- else }}
{{- $q := toString . }}
{{- $num := regexFind "^[0-9]+([.][0-9]+)?" $q }}
{{- $units := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- $unit := trimPrefix $num $q }}
{{- if and $num (hasKey $units $unit) }}
{{- mulf (float64 $num) (index $units $unit) | int64 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The smallest memory limit the chart accepts. Measured RSS of python -m issuer
(README "Migrating from the Go issuer"): 56 MiB idle, 62 MiB after a few
hundred requests, 62 MiB with 100 issuers, so the Go chart's 64Mi leaves no
headroom for a burst.
*/}}
{{- define "aws-privateca-issuer.minMemoryLimit" -}}128Mi{{- end }}

{{/* Fails the render when resources.limits.memory is below minMemoryLimit. */}}
{{- define "aws-privateca-issuer.checkMemoryLimit" -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) }}
{{- if $limit }}
{{- $bytes := include "aws-privateca-issuer.bytes" $limit }}
{{- $min := include "aws-privateca-issuer.minMemoryLimit" . }}
{{- if and $bytes (lt (int64 $bytes) (int64 (include "aws-privateca-issuer.bytes" $min))) }}
{{- fail (printf "resources.limits.memory=%v is below %s, the least this Python controller runs in: its measured RSS is 56 MiB idle, 62 MiB after a few hundred requests and 62 MiB with 100 issuers, so the pod would have no headroom (the Go issuer's chart sets 64Mi). Raise the limit (the chart's default is 256Mi) or remove it; see the chart README, \"Differences from the Go chart\"." $limit $min) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails the render when this chart's own values are missing. That happens with
`helm upgrade --reuse-values` from the Go issuer's chart: Helm then reuses the
old chart's defaults instead of this chart's, and every value the Go chart
does not have would render as nothing.
*/}}
{{- define "aws-privateca-issuer.checkOwnValues" -}}
{{- $missing := list }}
{{- range $key := list "workers" "awsThreads" "pcaRateLimits" "maxRetryDuration" "issuerRecheckInterval" "kubeApi" "leaderElection" "logLevel" "logFormat" "crds" "prometheusRule" "grafanaDashboard" }}
{{- if not (hasKey $.Values $key) }}
{{- $missing = append $missing $key }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "values of this chart are missing (%s). `helm upgrade --reuse-values` from the Go issuer's chart reuses that chart's defaults, not this chart's: upgrade with your values file (-f) or with --reset-then-reuse-values instead." (join ", " $missing)) }}
{{- end }}
{{- end }}
