#!/usr/bin/env bash
# Runs the cross-region lab end to end against a local moto (EC2 emulator):
# apply, a plan that must show no changes, outputs, destroy.
# Port: $S3EP_DEMO_PORT (default 5000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT="${S3EP_DEMO_PORT:-5000}"
PLAN="plans/cross-region-lab.yaml"
BIN="${CARGO_TARGET_DIR:-target}/debug/s3ep"

step() { printf '\n==> %s\n' "$*"; }

step "install moto (scripts/moto.sh install)"
scripts/moto.sh install

step "start moto on 127.0.0.1:$PORT"
scripts/moto.sh start "$PORT"
trap 'scripts/moto.sh stop' EXIT

export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

step "cargo build"
cargo build

s3ep() { "$BIN" --endpoint-url "http://127.0.0.1:$PORT" "$@"; }

step "s3ep apply $PLAN --yes"
s3ep apply "$PLAN" --yes

step "s3ep plan $PLAN --detailed-exitcode (expect: no changes)"
rc=0
s3ep plan "$PLAN" --detailed-exitcode || rc=$?
if [[ "$rc" -ne 0 ]]; then
  echo "demo: FAILED: plan after apply exited $rc (0 = no changes expected)" >&2
  exit 1
fi

step "s3ep outputs $PLAN"
s3ep outputs "$PLAN"

step "s3ep destroy $PLAN --yes"
s3ep destroy "$PLAN" --yes

step "demo finished"
