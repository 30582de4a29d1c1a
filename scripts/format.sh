#!/usr/bin/env bash
# format.sh: clang-format every C file we own (not generated code). --check only reports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files '*.c' '*.h')
[ ${#files[@]} -gt 0 ] || exit 0
command -v clang-format >/dev/null || { echo "format.sh: clang-format not installed" >&2; exit 1; }
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
