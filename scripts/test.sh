#!/usr/bin/env bash
# The project's test command: installs the pinned moto (EC2 emulator) into .venv,
# then runs every test target. The end-to-end tests (tests/e2e.rs) start their own
# moto servers on free loopback ports through these two variables.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh --test e2e lab).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/moto.sh install

export S3EP_MOTO_SERVER="$PWD/.venv/bin/moto_server"
export S3EP_PYTHON="$PWD/.venv/bin/python"

# The end-to-end and fault tests run against the strict EC2 mode
# (scripts/strict_ec2.py: moto patched to behave like EC2 where s3ep relies
# on it); S3EP_TEST_EMULATOR=moto runs them against plain moto instead.
export S3EP_TEST_EMULATOR="${S3EP_TEST_EMULATOR:-strict}"

exec cargo test --all-targets "$@"
