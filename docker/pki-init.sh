#!/bin/sh
# One-shot job of docker/compose.yml (service `pki`): the federation PKI and directory for the
# three-country topology, written under $FEDLOOKUP_PKI (docker/pki/ on the host).
#
#   ca/                 the federation CA: ca.pem, ca.key (0600, stays here), crl.pem, issued.json
#   nodes/<CC>/         per node: node.key (0600), node.pem, audit.key (0600), audit.pub
#   federation/         public, mounted read-only into every node: ca.pem, crl.pem, directory.json
#   postgres/           FR's database password (for PostgreSQL) and the pgpass line (for FR)
#
# Idempotent: existing keys and certificates are kept; the public federation/ folder (CA
# certificate, current CRL, signed directory) is republished on every run, which is how a
# revocation or a renewal reaches the nodes (docs/operations.md).
set -eu

PKI="${FEDLOOKUP_PKI:-/pki}"
COUNTRIES="${FEDLOOKUP_COUNTRIES:-DE FR NL}"
DOMAIN="${FEDLOOKUP_DOMAIN:-fedlookup.test}"
PORT="${FEDLOOKUP_PORT:-7443}"
NODE_UID=10001   # the image's fedlookup user
PG_UID=999       # the postgres image's postgres user

umask 077
mkdir -p "$PKI/ca" "$PKI/nodes" "$PKI/federation" "$PKI/postgres"

if [ ! -f "$PKI/ca/ca.key" ]; then
    fedlookup ca init --dir "$PKI/ca" --name "fedlookup compose federation"
fi

members=""
for cc in $COUNTRIES; do
    host="$(printf '%s' "$cc" | tr 'A-Z' 'a-z').$DOMAIN"
    dir="$PKI/nodes/$cc"
    if [ ! -f "$dir/node.pem" ]; then
        fedlookup ca issue --ca-dir "$PKI/ca" --country "$cc" --host "$host" --out "$dir"
    fi
    if [ ! -f "$dir/audit.key" ]; then
        fedlookup audit keygen --out "$dir/audit.key"
    fi
    members="$members --member $cc=https://$host:$PORT"
done

umask 022
cp "$PKI/ca/ca.pem" "$PKI/federation/ca.pem"
cp "$PKI/ca/crl.pem" "$PKI/federation/crl.pem"
# shellcheck disable=SC2086 # one --member option per country
fedlookup ca directory --ca-dir "$PKI/ca" --nodes "$PKI/nodes" $members \
    --out "$PKI/federation/directory.json"

umask 077
if [ ! -f "$PKI/postgres/password" ]; then
    password="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    printf '%s' "$password" > "$PKI/postgres/password"
    printf 'postgres:5432:registry:fedlookup:%s\n' "$password" > "$PKI/postgres/pgpass"
fi

# Non-swarm compose mounts secrets as the host files are: give each to the uid reading it.
chown -R "$NODE_UID:$NODE_UID" "$PKI/nodes" "$PKI/federation" "$PKI/postgres/pgpass"
chown "$PG_UID:$PG_UID" "$PKI/postgres/password"
chmod 0755 "$PKI" "$PKI/federation"
chmod 0644 "$PKI/federation/"*
echo "pki: federation material in $PKI for: $COUNTRIES"
