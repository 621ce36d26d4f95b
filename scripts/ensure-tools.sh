#!/usr/bin/env bash
# Makes sure the command-line tools the deploy checks and the console test run are on the machine,
# installing the missing ones from Debian's packages (as root). Idempotent: does nothing when all are present.
#   kubectl   renders the kustomize overlays (`kubectl kustomize`, needs Kustomize v5)
#   promtool  checks and unit-tests the Prometheus rules (Debian package `prometheus`)
#   chromium  the headless browser the web console's end-to-end test drives (Debian package `chromium`)
# and that the fault suite has a nats-server that accepts `sync_interval: always` (2.10 or later):
# when the one on the PATH is older (Debian 12 ships 2.9), scripts/nats-server-2.10.sh extracts
# Debian 13's into .gantry/tools without installing anything on the machine.
set -euo pipefail

bash "$(dirname "$0")/nats-server-2.10.sh"

kustomize_ok() {
  command -v kubectl >/dev/null &&
    kubectl version --client 2>/dev/null | grep -Eq '^Kustomize Version: v([5-9]|[1-9][0-9])\.'
}

missing=()
kustomize_ok || missing+=(kubectl)
command -v promtool >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
if ((${#missing[@]} == 0)); then
  echo "tools present: kubectl ($(kubectl version --client | sed -n 's/^Kustomize Version: //p') kustomize), $(promtool --version 2>&1 | head -1), $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "error: missing Debian package(s) ${missing[*]}: run 'apt-get install ${missing[*]}' as root" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Install the binaries only: a policy-rc.d that refuses keeps the packages' daemons (the
# Prometheus server) from being started, so nothing is left running.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "error: could not install ${missing[*]} from the configured apt sources" >&2
  exit 1
fi
kustomize_ok || { echo "error: kubectl has no Kustomize v5 (kubectl version --client)" >&2; exit 1; }
command -v promtool >/dev/null || { echo "error: promtool is still missing" >&2; exit 1; }
command -v chromium >/dev/null || { echo "error: chromium is still missing" >&2; exit 1; }
echo "tools installed: ${missing[*]}"
