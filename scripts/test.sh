#!/usr/bin/env bash
# Runs all the tests, installing what they need first (scripts/setup.sh):
#   lint and format check (biome), type check (tsc), then every jest project: unit, handlers, sim,
#   integration (against moto), infra (synth, cdk-nag, cfn-lint), and last, one file at a time, node
#   (one real media node against a stand-in API), boot (the node's bootstrap for real, in a Debian
#   root filesystem under systemd-nspawn; builds it once into .tmp/node-rootfs) and e2e (local mode:
#   real nginx-rtmp + ffmpeg). The node and boot tests need root.
# Extra arguments go to jest, e.g. scripts/test.sh --selectProjects unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Node 22, the Lambdas' major, when scripts/setup.sh installed it (this machine's node is older).
if [[ -x .tmp/node22/bin/node ]]; then export PATH="$PWD/.tmp/node22/bin:$PATH"; fi

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
mkdir -p test-output
rm -f test-output/jest.json test-output/jest-e2e.json

echo "== lint and format (biome)"
npx biome ci .
echo "== type check (tsc)"
npx tsc --noEmit -p .
status=0
if (($#)); then
  echo "== tests (jest $*)"
  npx jest --ci --maxWorkers=2 --json --outputFile=test-output/jest.json "$@" || status=$?
else
  # The node and end-to-end tests time real processes (heartbeats, ffmpeg): each project runs alone,
  # one file at a time, after the rest.
  echo "== tests (jest: unit, handlers, sim, integration, infra)"
  npx jest --ci --maxWorkers=2 --json --outputFile=test-output/jest.json \
    --selectProjects unit handlers sim integration infra || status=$?
  echo "== tests (jest: node, boot, e2e, one file at a time)"
  npx jest --ci --runInBand --json --outputFile=test-output/jest-e2e.json --selectProjects node boot e2e || status=$?
fi
node scripts/jest-summary.js || true
exit "$status"
