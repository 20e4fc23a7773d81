#!/usr/bin/env bash
# Writes k8s/base/secrets.env, the Secret `cupo-secrets` that `kubectl apply -k` generates from
# (kept out of git): a random JWT secret and random passwords for the bundled PostgreSQL, Redis
# and RabbitMQ, and the worker's provider credentials, which only you have:
#
#   GRAPH_CLIENT_SECRET=… MOODLE_TOKEN=… SMTP_URL=smtps://user:pass@host:465 k8s/generate-secrets.sh
#   k8s/generate-secrets.sh --development    # for k8s/overlays/dev: the stand-ins' development values
#
# An existing file is kept: the databases' volumes were initialised with its passwords.
set -euo pipefail
out="${SECRETS_ENV:-$(dirname "$0")/base/secrets.env}"
if [[ -e "$out" ]]; then
  echo "$out exists; keeping it (delete it only together with the bundled databases' volumes)" >&2
  exit 0
fi
if [[ "${1:-}" == "--development" ]]; then
  : "${GRAPH_CLIENT_SECRET:=dev-graph-secret}" "${MOODLE_TOKEN:=dev-moodle-token}" "${SMTP_URL:=smtp://smtp.example.internal:25}"
fi
missing=()
for key in GRAPH_CLIENT_SECRET MOODLE_TOKEN SMTP_URL; do [[ -n "${!key:-}" ]] || missing+=("$key"); done
if (( ${#missing[@]} )); then
  echo "set ${missing[*]} (the worker refuses to start without them), or pass --development for k8s/overlays/dev" >&2
  exit 1
fi
# Alphanumeric: the passwords go into connection URLs as they are.
random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true; }
umask 077
cat >"$out" <<ENV
JWT_SECRET=$(random)
POSTGRES_PASSWORD=$(random)
REDIS_PASSWORD=$(random)
RABBITMQ_PASSWORD=$(random)
GRAPH_CLIENT_SECRET=$GRAPH_CLIENT_SECRET
MOODLE_TOKEN=$MOODLE_TOKEN
SMTP_URL=$SMTP_URL
ENV
echo "wrote $out" >&2
