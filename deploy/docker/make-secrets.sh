#!/bin/bash
# rs-make-secrets [DIR]: the credentials of a compose deployment, made on the first start and kept
# in DIR (default /var/lib/recsys/secrets, the `secrets` volume), each 0600, owned by the service
# user; a file that exists is kept (delete one and restart to get a new one). The same files as
# scripts/up.sh keeps in var/:
#   session-key     32 random bytes as hex: the gateway's RS_SESSION_KEY_FILE
#   admin-token     24 random bytes as hex: the gateway's RS_ADMIN_TOKEN
#   demo-password   16 letters/digits: every demo customer's password
#   admin-password  16 letters/digits: the login "admin"
#   pg-password     24 random bytes as hex: PostgreSQL's POSTGRES_PASSWORD_FILE
#   pgpass          libpq password file for that password (RS_PG_DSN names it: passfile=...)
# The API key (api-key) is made by `rs-gateway apikey create --key-file` in the accounts job.
set -euo pipefail
DIR="${1:-/var/lib/recsys/secrets}"
umask 077
hex() { [ -s "$DIR/$1" ] || od -An -N"$2" -tx1 /dev/urandom | tr -d ' \n' >"$DIR/$1"; }
password() {
  [ -s "$DIR/$1" ] || (set +o pipefail; tr -dc 'A-Za-z0-9' </dev/urandom | head -c 16 >"$DIR/$1")
}
hex session-key 32
hex admin-token 24
hex pg-password 24
password demo-password
password admin-password
[ -s "$DIR/pgpass" ] || printf '*:*:*:recsys:%s\n' "$(cat "$DIR/pg-password")" >"$DIR/pgpass"
# The postgres image reads pg-password as root before it drops to its own user; every other
# reader runs as uid 10001, the owner.
chmod 0600 "$DIR"/*
echo "secrets: $(ls "$DIR" | tr '\n' ' ')in $DIR"
