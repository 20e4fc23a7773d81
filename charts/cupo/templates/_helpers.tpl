{{/* Names and labels shared by every object. */}}

{{- define "cupo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: cupo
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "cupo.selector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{- define "cupo.secretName" -}}
{{- .Values.secret.existingSecret | default (printf "%s-secrets" .Release.Name) -}}
{{- end -}}

{{- define "cupo.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name .root.Values.image.tag -}}
{{- end -}}

{{/* The connection URLs, from the bundled infrastructure or the external values. */}}
{{- define "cupo.databaseUrl" -}}
{{- $root := .root -}}
{{- if $root.Values.bundled.enabled -}}
{{- printf "postgres://postgres:%s@%s-postgres:5432/cupo_%s" $root.Values.bundled.postgres.password $root.Release.Name .service -}}
{{- else -}}
{{- printf "%s/cupo_%s" (required "external.postgresUrl is required when bundled.enabled is false" $root.Values.external.postgresUrl | trimSuffix "/") .service -}}
{{- end -}}
{{- end -}}

{{- define "cupo.redisUrl" -}}
{{- if .Values.bundled.enabled -}}
{{- printf "redis://%s-redis:6379" .Release.Name -}}
{{- else -}}
{{- required "external.redisUrl is required when bundled.enabled is false" .Values.external.redisUrl -}}
{{- end -}}
{{- end -}}

{{- define "cupo.amqpUrl" -}}
{{- if .Values.bundled.enabled -}}
{{- printf "amqp://%s:%s@%s-rabbitmq:5672" .Values.bundled.rabbitmq.user .Values.bundled.rabbitmq.password .Release.Name -}}
{{- else -}}
{{- required "external.amqpUrl is required when bundled.enabled is false" .Values.external.amqpUrl -}}
{{- end -}}
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

{{/* Environment every service gets: settings from the ConfigMap, URLs from the Secret. */}}
{{- define "cupo.env" -}}
{{- $root := .root -}}
{{- $secret := include "cupo.secretName" $root -}}
- name: AMQP_URL
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: AMQP_URL } }
{{- if has .name (list "gateway" "booking" "worker") }}
- name: REDIS_URL
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: REDIS_URL } }
{{- end }}
{{- if has .name (list "inventory" "booking" "enrollment" "worker") }}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ printf "%s_DATABASE_URL" (upper .name) }} } }
- name: HTTP_PORT
  value: {{ .config.port | quote }}
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
{{- range $key := list "GRAPH_CLIENT_SECRET" "MOODLE_TOKEN" "SMTP_URL" }}
- name: {{ $key }}
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: {{ $key }}, optional: true } }
{{- end }}
{{- end }}
{{- if eq .name "gateway" }}
- name: JWT_SECRET
  valueFrom: { secretKeyRef: { name: {{ $secret }}, key: JWT_SECRET } }
- name: PORT
  value: {{ .config.port | quote }}
{{- end }}
{{- range $key, $value := .config.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/*
One stateless service: Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler and
NetworkPolicy. Called from each service's own template file with (dict "root" $ "name" "booking").
*/}}
{{- define "cupo.service" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $config := index $root.Values.services $name -}}
{{- $ctx := dict "root" $root "name" $name "config" $config -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ $name }}
    app.kubernetes.io/component: {{ $name }}
spec:
  replicas: {{ $config.replicas }}
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
            - { name: http, containerPort: {{ $config.port }}, protocol: TCP }
          envFrom:
            - configMapRef: { name: {{ $root.Release.Name }}-config }
          env:
            {{- include "cupo.env" $ctx | nindent 12 }}
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: http }
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
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
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
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  minAvailable: {{ $root.Values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "cupo.selector" $ctx | nindent 6 }}
{{- if $config.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
  labels:
    {{- include "cupo.labels" $root | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $root.Release.Name }}-{{ $name }}
  minReplicas: {{ $config.replicas }}
  maxReplicas: {{ $config.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: {{ $config.autoscaling.targetCPUUtilizationPercentage }} }
{{- end }}
{{- if $root.Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $root.Release.Name }}-{{ $name }}
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
    {{- else }}
    # Services take work from RabbitMQ, never over HTTP: only metrics scrapes come in.
    - from:
        - namespaceSelector:
            {{- toYaml $root.Values.networkPolicy.metricsNamespaceSelector | nindent 12 }}
          podSelector:
            {{- toYaml $root.Values.networkPolicy.metricsPodSelector | nindent 12 }}
      ports:
        - { port: http, protocol: TCP }
    {{- end }}
{{- end }}
{{- end -}}
