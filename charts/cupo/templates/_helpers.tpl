{{/* Names and labels shared by every object. */}}

{{/*
An object's name: <release>-<suffix>, at most 63 characters (52 for a StatefulSet, whose
pods carry a controller-revision-hash label of <name>-<10 characters>). The release part is
what gets cut, so two objects never end up with the same truncated name.
Called with (list $ "suffix") or (list $ "suffix" 52).
*/}}
{{- define "cupo.fullname" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $max := 63 -}}
{{- if gt (len .) 2 }}{{ $max = index . 2 }}{{ end -}}
{{- $room := sub $max (add 1 (len $suffix)) | int -}}
{{- printf "%s-%s" (trunc $room $root.Release.Name | trimSuffix "-") $suffix -}}
{{- end -}}

{{- define "cupo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/part-of: cupo
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
{{- end -}}

{{- define "cupo.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{/* Pods of this release whose app.kubernetes.io/name is one of (list ...). */}}
{{- define "cupo.podsNamed" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ .root.Release.Name | trunc 63 | trimSuffix "-" }}
  matchExpressions:
    - { key: app.kubernetes.io/name, operator: In, values: [{{ join ", " .names }}] }
{{- end -}}

{{- define "cupo.secretName" -}}
{{- .Values.secret.existingSecret | default (include "cupo.fullname" (list . "secrets")) -}}
{{- end -}}

{{- define "cupo.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name .root.Values.image.tag -}}
{{- end -}}

{{/* The bundled infrastructure's Services (a StatefulSet's name is also its Service's). */}}
{{- define "cupo.postgresHost" -}}{{ include "cupo.fullname" (list . "postgres" 52) }}{{- end -}}
{{- define "cupo.redisHost" -}}{{ include "cupo.fullname" (list . "redis" 52) }}{{- end -}}
{{- define "cupo.rabbitmqHost" -}}{{ include "cupo.fullname" (list . "rabbitmq" 52) }}{{- end -}}

{{/*
A secret value for the chart-made Secret: the one given in the values; else the one the
release's Secret already holds (so an upgrade keeps the JWT secret, and the bundled databases
keep the password they were initialised with); else a new random one. Called with
(dict "given" .Values.x "key" "KEY" "existing" $existingSecret).
*/}}
{{- define "cupo.secretValue" -}}
{{- if .given -}}
{{- .given -}}
{{- else -}}
{{- $kept := dig "data" .key "" .existing | b64dec -}}
{{- /* A release made by an earlier chart holds the public development JWT secret: replace it. */ -}}
{{- if eq $kept "dev-secret-change-me" }}{{ $kept = "" }}{{ end -}}
{{- $kept | default (randAlphaNum 40) -}}
{{- end -}}
{{- end -}}

{{/*
Connection settings of one container, named (dict "root" $ "service" "booking" "needs"
(list "postgres" "redis" "amqp")). External infrastructure: whole URLs from the Secret.
Bundled: only the passwords come from the Secret, and Kubernetes expands $(VAR) into the
URL, so the Secret holds no derived copy to keep in step (generated passwords are
alphanumeric; given ones must be URL-safe, which the schema checks).
*/}}
{{- define "cupo.connectionEnv" -}}
{{- $root := .root -}}
{{- $secret := include "cupo.secretName" $root -}}
{{- $bundled := $root.Values.bundled.enabled -}}
{{- if has "postgres" .needs }}
{{- if $bundled }}
- name: POSTGRES_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: POSTGRES_PASSWORD } }
- name: DATABASE_URL
  value: {{ printf "postgres://postgres:$(POSTGRES_PASSWORD)@%s:5432/cupo_%s" (include "cupo.postgresHost" $root) .service | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ printf "%s_DATABASE_URL" (upper .service) }} } }
{{- end }}
{{- end }}
{{- if has "redis" .needs }}
{{- if $bundled }}
- name: REDIS_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: REDIS_PASSWORD } }
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379" (include "cupo.redisHost" $root) | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: REDIS_URL } }
{{- end }}
{{- end }}
{{- if has "amqp" .needs }}
{{- if $bundled }}
- name: RABBITMQ_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: RABBITMQ_PASSWORD } }
- name: AMQP_URL
  value: {{ printf "amqp://%s:$(RABBITMQ_PASSWORD)@%s:5672" $root.Values.bundled.rabbitmq.user (include "cupo.rabbitmqHost" $root) | quote }}
{{- else }}
- name: AMQP_URL
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: AMQP_URL } }
{{- end }}
{{- end }}
{{- end -}}

{{/* What each service talks to. */}}
{{- define "cupo.needs" -}}
{{- $needs := dict
  "gateway" (list "redis" "amqp")
  "inventory" (list "postgres" "amqp")
  "booking" (list "postgres" "redis" "amqp")
  "enrollment" (list "postgres" "amqp")
  "worker" (list "postgres" "redis" "amqp") -}}
{{- index $needs . | join "," -}}
{{- end -}}

{{/* A non-root, read-only container that cannot gain privileges. */}}
{{- define "cupo.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The gateway's shutdown budget, in seconds, within terminationGracePeriodSeconds: it drains
(keeps serving, /readyz 503, while the endpoint removal reaches every proxy) and only then
closes, within SHUTDOWN_TIMEOUT_MS; 8 s stay spare before the kubelet's SIGKILL.
*/}}
{{- define "cupo.shutdownSeconds" -}}
{{- $seconds := sub .Values.terminationGracePeriodSeconds 8 | int -}}
{{- if eq .service "gateway" -}}
{{- $seconds = sub $seconds .Values.services.gateway.drainDelaySeconds | int -}}
{{- end -}}
{{- if lt $seconds 5 -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must leave at least 5 s to shut down after the gateway's drainDelaySeconds and 8 s of margin" (int .Values.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- $seconds -}}
{{- end -}}

{{/* Environment every service gets: settings from the ConfigMap, secrets from the Secret. */}}
{{- define "cupo.env" -}}
{{- $root := .root -}}
{{- $secret := include "cupo.secretName" $root -}}
{{- include "cupo.connectionEnv" (dict "root" $root "service" .name "needs" (splitList "," (include "cupo.needs" .name))) }}
{{- if eq .name "gateway" }}
- name: JWT_SECRET
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: JWT_SECRET } }
- name: PORT
  value: {{ .config.port | quote }}
- name: OPS_PORT
  value: {{ .config.opsPort | quote }}
- name: SHUTDOWN_DRAIN_DELAY_MS
  value: {{ mul .config.drainDelaySeconds 1000 | quote }}
- name: SHUTDOWN_TIMEOUT_MS
  value: {{ mul (include "cupo.shutdownSeconds" (dict "Values" $root.Values "service" "gateway")) 1000 | quote }}
{{- else }}
- name: HTTP_PORT
  value: {{ .config.opsPort | quote }}
{{- end }}
{{- if eq .name "worker" }}
{{- $o := $root.Values.onboarding }}
- { name: SIS_URL, value: {{ $o.sisUrl | quote }} }
- { name: GRAPH_URL, value: {{ $o.graph.url | quote }} }
- { name: GRAPH_LOGIN_URL, value: {{ $o.graph.loginUrl | quote }} }
- { name: GRAPH_TENANT_ID, value: {{ $o.graph.tenantId | quote }} }
- { name: GRAPH_CLIENT_ID, value: {{ $o.graph.clientId | quote }} }
- { name: GRAPH_USER_DOMAIN, value: {{ $o.graph.userDomain | quote }} }
- { name: GRAPH_LICENSE_SKU_ID, value: {{ $o.graph.licenseSkuId | quote }} }
- { name: MOODLE_URL, value: {{ $o.moodle.url | quote }} }
- { name: MOODLE_WELCOME_COURSE_ID, value: {{ $o.moodle.welcomeCourseId | quote }} }
- { name: MAIL_FROM, value: {{ $o.mailFrom | quote }} }
{{- /* Not optional: a Secret without them must stop the pod with a message naming the key,
       not start a worker on the development stand-ins. */}}
{{- range $key := list "GRAPH_CLIENT_SECRET" "MOODLE_TOKEN" "SMTP_URL" }}
- name: {{ $key }}
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ $key }} } }
{{- end }}
{{- end }}
{{- if and (eq .name "enrollment") (hasKey .config "sagaRetentionDays") }}
- name: SAGA_RETENTION_SECONDS
  value: {{ mul .config.sagaRetentionDays 86400 | quote }}
{{- end }}
{{- range $key, $value := .config.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/*
The queues whose backlog KEDA scales a service's consumers on (autoscaling.keda): the
enrollment saga's jobs, and the worker's queries. Not the worker's onboarding queue: its pace is
the providers' rate limits, shared by every replica through Redis, so more pods would only wait.
*/}}
{{- define "cupo.scaledQueues" -}}
{{- $queues := dict "enrollment" (list "enrollment.requests") "worker" (list "worker.queries") -}}
{{- index $queues . | default list | join "," -}}
{{- end -}}

{{/* "true" when KEDA scales this service (autoscaling on, and autoscaling.keda on). */}}
{{- define "cupo.kedaScales" -}}
{{- $autoscaling := .autoscaling -}}
{{- if and $autoscaling.enabled (dig "keda" "enabled" false $autoscaling) }}true{{ end -}}
{{- end -}}

{{/* "true" when KEDA scales any service: its operator must then reach RabbitMQ. */}}
{{- define "cupo.kedaUsed" -}}
{{- range $name, $config := .Values.services }}{{ include "cupo.kedaScales" $config }}{{ end -}}
{{- end -}}

{{/*
One stateless service: Deployment, Service(s), PodDisruptionBudget, HorizontalPodAutoscaler (or,
with autoscaling.keda, a KEDA ScaledObject and its TriggerAuthentication) and NetworkPolicy.
Called from each service's own template file with (dict "root" $ "name" "booking").
Every service serves /healthz, /readyz and /metrics on its ops port (`opsPort`, named `ops`);
the gateway alone also has a public port (`port`, named `http`: the API and /healthz), and
its public Service exposes only that one.
*/}}
{{- define "cupo.service" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $config := index $root.Values.services $name -}}
{{- $ctx := dict "root" $root "name" $name "config" $config -}}
{{- $fullname := include "cupo.fullname" (list $root $name) -}}
{{- $keda := include "cupo.kedaScales" $config -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ $name }}
    app.kubernetes.io/component: {{ $name }}
spec:
  {{- if not $config.autoscaling.enabled }}
  {{- /* With an HPA (the chart's, or KEDA's) the field is the HPA's: a value here would reset
         a scaled-out service to it on every upgrade or apply (helm/helm#7090). */}}
  replicas: {{ $config.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 }
  selector:
    matchLabels:
      {{- include "cupo.selector" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "cupo.labels" $root | nindent 8 }}
        app.kubernetes.io/name: {{ $name }}
        app.kubernetes.io/component: {{ $name }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/config.yaml") $root | sha256sum }}
    spec:
      {{- /* Only the gateway takes traffic through a Service, so only it drains on SIGTERM
             (SHUTDOWN_DRAIN_DELAY_MS, in the process: no preStop hook, no shell needed). The
             others stop consuming at once; RabbitMQ redelivers what they had not acked. */}}
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        seccompProfile: { type: RuntimeDefault }
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "cupo.image" $ctx }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          ports:
            {{- if eq $name "gateway" }}
            - { name: http, containerPort: {{ $config.port }}, protocol: TCP }
            {{- end }}
            - { name: ops, containerPort: {{ $config.opsPort }}, protocol: TCP }
          envFrom:
            - configMapRef: { name: {{ include "cupo.fullname" (list $root "config") }} }
          env:
            {{- include "cupo.env" $ctx | nindent 12 }}
          startupProbe:
            httpGet: { path: /healthz, port: ops }
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: { path: /healthz, port: ops }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: ops }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml $config.resources | nindent 12 }}
          securityContext:
            {{- include "cupo.containerSecurity" $root | nindent 12 }}
          volumeMounts:
            - { name: tmp, mountPath: /tmp }
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 64Mi }
{{- if eq $name "gateway" }}
---
# The public API. /readyz and /metrics are not here: they are on the ops port below.
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ $name }}
    app.kubernetes.io/component: {{ $name }}
spec:
  type: ClusterIP
  selector:
    {{- include "cupo.selector" $ctx | nindent 4 }}
  ports:
    - { name: http, port: {{ $config.port }}, targetPort: http, protocol: TCP }
{{- end }}
---
# Health and metrics, for Prometheus (the ServiceMonitor scrapes its `ops` port).
apiVersion: v1
kind: Service
metadata:
  name: {{ if eq $name "gateway" }}{{ include "cupo.fullname" (list $root "gateway-ops") }}{{ else }}{{ $fullname }}{{ end }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ $name }}
    app.kubernetes.io/component: {{ $name }}
spec:
  type: ClusterIP
  selector:
    {{- include "cupo.selector" $ctx | nindent 4 }}
  ports:
    - { name: ops, port: {{ $config.opsPort }}, targetPort: ops, protocol: TCP }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  {{- /* maxUnavailable, not minAvailable: a drain may always evict one pod, whatever the
         replicas or the HPA's floor (minAvailable equal to them would block it forever). */}}
  maxUnavailable: {{ $root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "cupo.selector" $ctx | nindent 6 }}
{{- if and $config.autoscaling.enabled (not $keda) }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ $config.replicas }}
  maxReplicas: {{ $config.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: {{ $config.autoscaling.targetCPUUtilizationPercentage }} }
{{- end }}
{{- if $keda }}
{{- $k := $config.autoscaling.keda }}
{{- $auth := include "cupo.fullname" (list $root (printf "%s-rabbitmq" $name)) }}
---
# Scaling on queue depth (autoscaling.keda): KEDA makes and owns the HorizontalPodAutoscaler
# (keda-hpa-<name>), so the chart renders none for this service.
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  {{- /* Never to zero (KEDA's default): these pods also answer the gateway's commands over
         RPC, which no queue length shows. */}}
  minReplicaCount: {{ $config.replicas }}
  maxReplicaCount: {{ $config.autoscaling.maxReplicas }}
  pollingInterval: {{ $k.pollingIntervalSeconds }}
  triggers:
    {{- range $queue := splitList "," (include "cupo.scaledQueues" $name) }}
    # Ready messages only (AMQP counts those): what the replicas hold unacked is work in hand.
    - type: rabbitmq
      metadata:
        queueName: {{ $queue }}
        mode: QueueLength
        value: {{ $k.readyMessagesPerReplica | quote }}
      authenticationRef:
        name: {{ $auth }}
    {{- end }}
    # CPU as the HPA would: the larger of the two replica counts wins.
    - type: cpu
      metricType: Utilization
      metadata:
        value: {{ $config.autoscaling.targetCPUUtilizationPercentage | quote }}
---
# How KEDA's RabbitMQ scaler connects: with the consumers' own AMQP_URL.
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ $auth }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  {{- if $root.Values.bundled.enabled }}
  {{- /* No Secret key holds the bundled broker's URL whole: Kubernetes assembles it in the pod
         from the Secret's RABBITMQ_PASSWORD, and KEDA resolves the container's env the same way. */}}
  env:
    - { parameter: host, name: AMQP_URL, containerName: {{ $name }} }
  {{- else }}
  secretTargetRef:
    - { parameter: host, name: {{ include "cupo.secretName" $root }}, key: AMQP_URL }
  {{- end }}
{{- end }}
{{- if $root.Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "cupo.selector" $ctx | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    {{- if eq $name "gateway" }}
    # The public API: from anywhere (an ingress controller, a load balancer).
    - ports:
        - { port: http, protocol: TCP }
    {{- end }}
    # Health and metrics: only from Prometheus. (The other services take their work from
    # RabbitMQ, never over HTTP.)
    - from:
        - namespaceSelector:
            {{- toYaml $root.Values.networkPolicy.metricsNamespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $root.Values.networkPolicy.metricsPodSelector | nindent 12 }}
      ports:
        - { port: ops, protocol: TCP }
{{- end }}
{{- end -}}
