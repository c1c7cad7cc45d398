#!/bin/sh
# One-shot job of docker/compose.yml (service `pki`): the federation PKI and directory for the
# three-country topology, written under $FEDLOOKUP_PKI (docker/pki/ on the host). The loopback
# topology test runs this same script with loopback endpoints.
#
#   ca/                 the federation CA: ca.pem, ca.key (0600, stays here), crl.pem, issued.json
#   nodes/<CC>/tls/     node.key (0600), node.pem, ca.pem
#   nodes/<CC>/keys/    audit.key (Ed25519, 0600), audit.pub
#   members.toml        the directory's members; edit it, rerun the job, and a new signed
#                       directory is published (docs/pki.md has the format)
#   federation/         public, mounted read-only into every node: ca.pem, crl.pem, directory.json
#   postgres/           FR's database password (for PostgreSQL) and its pgpass line (for FR)
#   desk-ca/            the desks' web CA (stand-in for an agency's own web PKI; not the
#                       federation's: a desk certificate is never a node identity)
#   desk-ca.pem         its certificate, readable: what investigators' browsers trust
#   nodes/<CC>/desk/    server.key (0600), server.pem: the HTTPS certificate of the
#                       country's investigators' desk, for desk.<cc>.<domain>
#
# Idempotent: existing keys and certificates are kept. Every run republishes the CA
# certificate and the current CRL into federation/, and re-signs the directory when
# members.toml changed since the last signing: that is how a revocation, a renewal with a
# new key or a change of members reaches the nodes (docs/operations.md).
#
# Environment: FEDLOOKUP_PKI (output folder), FEDLOOKUP_COUNTRIES ("DE FR NL"),
# FEDLOOKUP_DESKS (countries running an investigators' desk, "DE"),
# FEDLOOKUP_DOMAIN (host names <cc>.<domain>), FEDLOOKUP_PORT (7443), FEDLOOKUP_ENDPOINTS
# ("DE=127.0.0.1:7001 ..." overrides the endpoint written for a country), FEDLOOKUP_CHOWN
# (1: when run as root, hand key files to the uids of the containers reading them).
set -eu

PKI="${FEDLOOKUP_PKI:-/pki}"
COUNTRIES="${FEDLOOKUP_COUNTRIES:-DE FR NL}"
DESKS="${FEDLOOKUP_DESKS-DE}"
DOMAIN="${FEDLOOKUP_DOMAIN:-fedlookup.test}"
PORT="${FEDLOOKUP_PORT:-7443}"
ENDPOINTS="${FEDLOOKUP_ENDPOINTS:-}"
NODE_UID=10001   # the image's fedlookup user
PG_UID=999       # the postgres image's postgres user

umask 077
mkdir -p "$PKI/nodes" "$PKI/federation" "$PKI/postgres"

if [ ! -f "$PKI/ca/ca.key" ]; then
    fedlookup ca init --dir "$PKI/ca" --name "fedlookup compose federation"
fi

endpoint_of() {
    for pair in $ENDPOINTS; do
        if [ "${pair%%=*}" = "$1" ]; then
            echo "${pair#*=}"
            return
        fi
    done
    echo "$2:$PORT"
}

new_members=""
if [ ! -f "$PKI/members.toml" ]; then
    new_members="$PKI/.members.toml.tmp"
    cat > "$new_members" <<'TOML'
federation = "fedlookup compose federation"

# What each member may ask of each other member (docs/pki.md).
[defaults.limits]
max_items_per_request = 1000
items_per_day = 100000
TOML
fi
for cc in $COUNTRIES; do
    host="$(printf '%s' "$cc" | tr 'A-Z' 'a-z').$DOMAIN"
    dir="$PKI/nodes/$cc"
    if [ ! -f "$dir/keys/audit.key" ]; then
        # The audit signing key pair; node init's configuration and data folder are not
        # used here (the container's come from docker/config and its volumes).
        fedlookup node init --country "$cc" --dir "$dir"
        rm -rf "$dir/data" "$dir/node.toml"
    fi
    if [ ! -f "$dir/tls/node.pem" ]; then
        fedlookup ca issue --dir "$PKI/ca" --country "$cc" --out "$dir/tls" \
            --host "$host" --host localhost --host 127.0.0.1
    fi
    if [ -n "$new_members" ]; then
        printf '\n[[members]]\ncountry = "%s"\nendpoint = "%s"\n' \
            "$cc" "$(endpoint_of "$cc" "$host")" >> "$new_members"
        printf 'cert = "nodes/%s/tls/node.pem"\naudit_public_key = "nodes/%s/keys/audit.pub"\n' \
            "$cc" "$cc" >> "$new_members"
    fi
done
if [ -n "$new_members" ]; then
    mv "$new_members" "$PKI/members.toml"
fi

# The desks' HTTPS certificates come from a CA of their own: the federation CA vouches for
# nodes only, and a desk certificate (server auth, no country) can never act as one.
if [ -n "$DESKS" ] && [ ! -f "$PKI/desk-ca/ca.key" ]; then
    fedlookup ca init --dir "$PKI/desk-ca" --name "fedlookup compose desks web CA"
fi
for cc in $DESKS; do
    dir="$PKI/nodes/$cc/desk"
    if [ ! -f "$dir/server.pem" ]; then
        fedlookup ca issue-server --dir "$PKI/desk-ca" --out "$dir" \
            --host "desk.$(printf '%s' "$cc" | tr 'A-Z' 'a-z').$DOMAIN" \
            --host localhost --host 127.0.0.1
    fi
done

umask 022
cp "$PKI/ca/ca.pem" "$PKI/federation/ca.pem"
cp "$PKI/ca/crl.pem" "$PKI/federation/crl.pem"
if [ -f "$PKI/desk-ca/ca.pem" ]; then
    cp "$PKI/desk-ca/ca.pem" "$PKI/desk-ca.pem"
    chmod 0644 "$PKI/desk-ca.pem"
fi
directory="$PKI/federation/directory.json"
members_sum="$(sha256sum "$PKI/members.toml" | cut -d' ' -f1)"
if [ ! -f "$directory" ] || [ "$members_sum" != "$(cat "$PKI/.members.sha256" 2>/dev/null)" ]; then
    # Seconds since the epoch, and always above the last version published from here.
    version="$(date +%s)"
    last="$(cat "$PKI/.directory-version" 2>/dev/null || echo 0)"
    if [ "$version" -le "$last" ]; then
        version=$((last + 1))
    fi
    fedlookup ca directory --dir "$PKI/ca" --members "$PKI/members.toml" \
        --version "$version" --out "$directory"
    echo "$version" > "$PKI/.directory-version"
    echo "$members_sum" > "$PKI/.members.sha256"
fi

umask 077
if [ ! -f "$PKI/postgres/password" ]; then
    password="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    printf '%s' "$password" > "$PKI/postgres/password"
    printf 'postgres:5432:registry:fedlookup:%s\n' "$password" > "$PKI/postgres/pgpass"
fi

chmod 0755 "$PKI" "$PKI/federation"
chmod 0644 "$PKI/federation/ca.pem" "$PKI/federation/crl.pem" "$directory" "$PKI/members.toml"
if [ "$(id -u)" = 0 ] && [ "${FEDLOOKUP_CHOWN:-1}" = 1 ]; then
    # Non-swarm compose mounts secrets as the host files are: give each to its reader.
    chown -R "$NODE_UID:$NODE_UID" "$PKI/nodes" "$PKI/federation" "$PKI/postgres/pgpass"
    chown "$PG_UID:$PG_UID" "$PKI/postgres/password"
fi
echo "pki: federation material in $PKI for: $COUNTRIES; desk certificates for: ${DESKS:-none}"
