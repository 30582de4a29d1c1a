#!/usr/bin/env bash
# check-deploy.sh: the deployment files, checked offline (no container engine, no cluster).
#   scripts/check-deploy.sh [BUILD_DIR]   (default $RS_TEST_BUILD, else build-test)
# Runs as the CTest suite "deploy" (scripts/test.sh -- -R deploy). Every step fails closed:
#   1. docker-compose config -q, then deploy/tools/check-compose.mjs on the resolved file: build
#      targets, volumes, ports, depends_on, and every environment variable against the services'
#      rs_cfg tables (and the variables that must be set in a container are set)
#   2. each Dockerfile runtime target's package list covers every shared library its binaries link:
#      ldd of the built binaries -> owning package (dpkg -S) -> must be in the apt dependency
#      closure of the target's RUNTIME_PKGS
#   3. deploy/k8s: both overlays rendered (deploy/tools/render.mjs), every object validated against
#      the Kubernetes schemas (npm kubernetes-models), and checked against the services' config
#   4. deploy/observability: Prometheus/alert rules/Grafana JSON parse, every metric they query is
#      one the services export
#   5. deploy/airflow: the DAG's structure (python3, without Airflow), its stage commands against
#      the built rs-train (BUILD_DIR/services/trainer/rs-train: --help and its option parser)
# Needs: docker-compose, node >= 20 + npm (deploy/ is installed with npm ci), python3, dpkg.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${1:-${RS_TEST_BUILD:-$ROOT/build-test}}"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
fail() { echo "check-deploy: FAIL $*" >&2; exit 1; }
step() { printf '== %s\n' "$*"; }

for tool in docker-compose node npm python3 dpkg apt-cache ldd; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh --test installs it)"
done

step "node tooling (deploy/package-lock.json)"
stamp=deploy/node_modules/.package-lock.sha256
want="$(sha256sum deploy/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  (cd deploy && npm ci --no-audit --no-fund >/dev/null)
  echo "$want" >"$stamp"
fi

step "compose: docker-compose config -q"
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml config >"$TMP/compose.yml"
node deploy/tools/check-compose.mjs "$TMP/compose.yml"

step "images: runtime packages cover the linked libraries ($BUILD)"
node deploy/tools/image-packages.mjs >"$TMP/images.tsv"
# Sanitizer runtimes appear only in the ASan build (the images build Release without them): in
# that build they and their own dependencies (libstdc++ for libasan) are added to the closure.
SANITIZER_PKGS=" libasan8 libubsan1 "
declare -A BIN_PATH=([rs-train]=services/trainer/rs-train [rs-probe]=tools/probe/rs-probe)
# ldd of every binary once; then one dpkg -S over every library path (as linked, resolved, and
# resolved under /lib: dpkg knows each file by the path its package ships).
declare -A LIBS OWNER
while IFS=$'\t' read -r target bins _pkgs; do
  for b in $bins; do
    path="$BUILD/${BIN_PATH[$b]:-services/${b#rs-}/$b}"
    [ -x "$path" ] || fail "$target: $path is not built"
    ldd "$path" >"$TMP/ldd" || fail "ldd $path"
    ! grep -q "not found" "$TMP/ldd" || fail "$path: $(grep 'not found' "$TMP/ldd")"
    LIBS[$b]="$(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' "$TMP/ldd" | sort -u | tr '\n' ' ')"
  done
done <"$TMP/images.tsv"
for lib in $(printf '%s\n' "${LIBS[@]}" | tr ' ' '\n' | sort -u); do
  real="$(realpath "$lib")"
  printf '%s\n%s\n%s\n' "$lib" "$real" "${real/#\/usr\/lib\//\/lib\/}"
done | sort -u >"$TMP/paths"
xargs dpkg -S <"$TMP/paths" 2>/dev/null | sed -n 's/^\([^:,]*\)[^ ]* \(\/.*\)$/\1 \2/p' >"$TMP/owners" || true
while read -r pkg path; do OWNER[$path]="$pkg"; done <"$TMP/owners"
checked=0
while IFS=$'\t' read -r target bins pkgs; do
  extra=""
  case "${LIBS[*]}" in *libasan.so*) extra="$SANITIZER_PKGS" ;; esac
  # shellcheck disable=SC2086  # pkgs is a list
  closure=" $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $pkgs $extra | grep -v '^ ' | sort -u | tr '\n' ' ') "
  for b in $bins; do
    for lib in ${LIBS[$b]}; do
      real="$(realpath "$lib")"
      pkg="${OWNER[$lib]:-${OWNER[$real]:-${OWNER[${real/#\/usr\/lib\//\/lib\/}]:-}}}"
      [ -n "$pkg" ] || fail "$target: no Debian package owns $lib (linked by $b)"
      case "$SANITIZER_PKGS" in *" $pkg "*) continue ;; esac
      case "$closure" in
        *" $pkg "*) checked=$((checked + 1)) ;;
        *) fail "$target: $b links $lib from $pkg, which RUNTIME_PKGS ($pkgs) does not install" ;;
      esac
    done
  done
done <"$TMP/images.tsv"
[ "$checked" -gt 0 ] || fail "no library was checked"
echo "images: $checked linked libraries covered by their image's packages"

step "kubernetes: deploy/k8s overlays rendered, schema-validated, checked against the configuration"
kargs=()
# Where kubectl exists (not installable from Debian 12: then render.mjs alone), its embedded
# kustomize must render exactly what render.mjs renders.
if command -v kubectl >/dev/null 2>&1; then
  for o in dev prod; do
    kubectl kustomize "deploy/k8s/overlays/$o" >"$TMP/kustomize-$o.yaml"
    kargs+=(--kustomize "$TMP/kustomize-$o.yaml" "$o")
  done
else
  echo "kubernetes: kubectl not installed; render.mjs output is not compared with kustomize's"
fi
node deploy/tools/check-k8s.mjs "${kargs[@]}"

step "observability: scrape config, alert rules, dashboard against the exported metrics"
node deploy/tools/check-observability.mjs

step "airflow: the DAG's structure (without Airflow)"
RS_TRAIN_BIN="$BUILD/services/trainer/rs-train" python3 deploy/airflow/test_dag.py 2>&1

echo "check-deploy: all checks passed"
