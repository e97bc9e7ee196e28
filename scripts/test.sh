#!/usr/bin/env bash
# Runs all the tests, installing what they need first (scripts/setup.sh):
#   lint and format check (biome), type check (tsc), then every jest project: unit, handlers,
#   integration (against moto), infra (synth, cdk-nag, cfn-lint), e2e (real nginx-rtmp + ffmpeg).
# Extra arguments go to jest, e.g. scripts/test.sh --selectProjects unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
mkdir -p test-output

echo "== lint and format (biome)"
npx biome ci .
echo "== type check (tsc)"
npx tsc --noEmit -p .
echo "== tests (jest)"
status=0
npx jest --ci --maxWorkers=2 --json --outputFile=test-output/jest.json "$@" || status=$?
node scripts/jest-summary.js || true
exit "$status"
