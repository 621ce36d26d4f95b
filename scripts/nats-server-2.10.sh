#!/usr/bin/env bash
# Provides a nats-server that accepts `jetstream { sync_interval: always }` (2.10 or later) for the
# fault suite's NATS restart scenario, which compares it with the default sync. Does nothing when
# the nats-server on the PATH already accepts it. Otherwise downloads Debian 13 (trixie)'s
# nats-server package with apt-get into a private apt state (no apt source, list or package of
# the machine is touched) and extracts its binary to .gantry/tools/bin/nats-server. Idempotent.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/.gantry/tools
target=$tools/bin/nats-server

# 0 when the server `$1` accepts sync_interval (its configuration test, nothing is started).
accepts_sync_always() {
  local dir rc=0
  dir=$(mktemp -d)
  printf '{"port": -1, "jetstream": {"store_dir": "%s/js", "sync_interval": "always"}}\n' "$dir" >"$dir/probe.conf"
  "$1" -t -c "$dir/probe.conf" >/dev/null 2>&1 || rc=$?
  rm -rf "$dir"
  return $rc
}

if command -v nats-server >/dev/null && accepts_sync_always nats-server; then
  echo "nats-server on the PATH accepts sync_interval: $(nats-server --version)"
  exit 0
fi
if [[ -x $target ]] && accepts_sync_always "$target"; then
  echo "nats-server for sync_interval: $target ($("$target" --version))"
  exit 0
fi

echo "fetching nats-server >= 2.10 from Debian trixie into $tools" >&2
apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb http://deb.debian.org/debian trixie main" >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o APT::Sandbox::User=root -o Debug::NoLocking=1 -qq
)
if ! apt-get "${apt_opts[@]}" update || ! (cd "$apt_dir" && apt-get "${apt_opts[@]}" download nats-server); then
  echo "error: could not download Debian trixie's nats-server package (deb.debian.org)" >&2
  exit 1
fi
mkdir -p "$apt_dir/x" "$tools/bin"
dpkg-deb -x "$apt_dir"/nats-server_*.deb "$apt_dir/x"
install -m 0755 "$apt_dir/x/usr/sbin/nats-server" "$target"
if ! accepts_sync_always "$target"; then
  echo "error: $target ($("$target" --version)) does not accept sync_interval" >&2
  exit 1
fi
echo "nats-server for sync_interval: $target ($("$target" --version))"
