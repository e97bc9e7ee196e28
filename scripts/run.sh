#!/usr/bin/env bash
# Runs the product in local mode: installs what it needs (scripts/setup.sh), then starts the
# control plane on 127.0.0.1 with real nginx-rtmp nodes on this machine. Flags go to local mode:
#   ./scripts/run.sh --help
#   CAMERA_MASTER_SECRET="$(openssl rand -hex 16)" ./scripts/run.sh --max-streams-per-node 2
# Ctrl-C stops every process it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Debian packages are only needed to run nodes; --help works without them.
[[ " $* " == *" --help "* ]] || scripts/setup.sh run
# Node 22, the Lambdas' major, when scripts/setup.sh installed it (this machine's node is older).
if [[ -x .tmp/node22/bin/node ]]; then export PATH="$PWD/.tmp/node22/bin:$PATH"; fi
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
exec node --import tsx local/main.ts "$@"
