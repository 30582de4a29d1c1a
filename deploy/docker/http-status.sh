#!/bin/bash
# rs-http-status HOST PORT PATH: exit 0 when GET PATH answers 200 within 3 s (the gateway image's
# HEALTHCHECK; the image has no curl, bash's /dev/tcp is enough for one request).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: rs-http-status HOST PORT PATH" >&2; exit 64; }
exec 3<>"/dev/tcp/$1/$2"
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$3" "$1" >&3
read -r -t 3 _proto status _rest <&3
[ "$status" = 200 ]
