#!/usr/bin/env bash
# Links the browser for the browser tests (tests/system/ui.test.ts) at <dir>/chromium, with
# one line saying which. The first of:
#   1. the file CUPO_CHROMIUM names;
#   2. chromium, chromium-browser, google-chrome or google-chrome-stable on PATH, or the
#      Chromium or Google Chrome app on macOS (playwright-core drives any of them);
#   3. on Debian as root (CI): Debian's chromium, installed with apt-get.
# None: a line saying how to provide one, and exit 1 — with --optional (make test: the browser
# tests are then skipped) only on Debian as root, where it can always be installed.
# Portable to macOS's bash 3.2.
set -euo pipefail
optional=false
if [[ ${1:-} == --optional ]]; then optional=true; shift; fi
DIR="${1:?usage: browser-tools.sh [--optional] <dir>}"
mkdir -p "$DIR"
rm -f "$DIR/chromium"

say() { echo "$*" >&2; }
debian_root() { [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; }

use() {
  ln -s "$1" "$DIR/chromium"
  say "chromium: $1 ($2; $("$1" --version 2>/dev/null | head -n 1 || echo 'version unknown'))"
  exit 0
}

if [[ -n ${CUPO_CHROMIUM:-} ]]; then
  [[ -f $CUPO_CHROMIUM && -x $CUPO_CHROMIUM ]] && use "$CUPO_CHROMIUM" "from CUPO_CHROMIUM"
  say "chromium: CUPO_CHROMIUM=$CUPO_CHROMIUM is not an executable file"
  $optional && ! debian_root && exit 0
  exit 1
fi
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if found=$(command -v "$name"); then use "$found" "on PATH"; fi
done
for app in "/Applications/Chromium.app/Contents/MacOS/Chromium" "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; do
  [[ -x $app ]] && use "$app" "macOS app"
done
if debian_root; then
  say "chromium: installing Debian's chromium for the browser tests"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2; }; } &&
    use "$(command -v chromium)" "installed with apt-get"
  exit 1
fi
say "chromium: not found (no CUPO_CHROMIUM, none on PATH) — provide one with CUPO_CHROMIUM=/path/to/chromium, or install Chromium or Google Chrome"
$optional && exit 0
exit 1
