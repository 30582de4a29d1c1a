#!/usr/bin/env bash
# CI smoke: short forms of the ingest throughput benchmark and the fault test (~30 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./run.sh --short
./fault.sh --short
