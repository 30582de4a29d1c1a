#!/usr/bin/env bash
# deps.sh: install the Debian packages the project needs, only those missing.
#   scripts/deps.sh            build + run dependencies (also Node.js for the web UI)
#   scripts/deps.sh --test     also the browser of the end-to-end tests (Debian's chromium) and
#                              docker-compose (scripts/check-deploy.sh validates compose offline)
#   scripts/deps.sh --bench    also those and the benchmark tools (wrk, python3-numpy/scipy)
#   scripts/deps.sh --fuzz     also clang and libFuzzer's runtime (scripts/fuzz.sh)
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libnng-dev libprotobuf-c-dev protobuf-c-compiler      # NNG messaging + protobuf contract
  libpq-dev postgresql                                  # event store
  liblmdb-dev lmdb-utils                                # model versions on the hot path
  libmicrohttpd-dev libjansson-dev libyajl-dev          # gateway HTTP + JSON (tree, streaming)
  libsodium-dev                                         # password hashing, tokens
  zlib1g-dev                                            # CRC-32 of the ingest spool
  libopenblas-dev liblapacke-dev libxgboost-dev         # training: BLAS/LAPACK, LambdaMART
  libcurl4-openssl-dev                                  # rs-train simulate, tests (HTTP client)
  libcriterion-dev                                      # tests
  libyaml-dev                                           # tests: docs/openapi.yaml walk
  curl procps psmisc clang-format
)
case "${1:-}" in
  --test) PKGS+=(chromium docker-compose) ;;
  --bench) PKGS+=(chromium docker-compose wrk python3-numpy python3-scipy) ;;
  --fuzz) PKGS+=(clang libclang-rt-14-dev) ;;
esac
# The web UI builds with Vite 7, which needs Node.js >= 20: take Debian's only when there is none.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
