#!/bin/sh
# Start command of a node container (docker/compose.yml): optional demo registry, index,
# then serve. Every step is a `fedlookup` command an operator can also run by hand.
set -eu

CONFIG="${FEDLOOKUP_CONFIG:-/etc/fedlookup/node.toml}"

# Demo only: fill an empty registry with synthetic records. Never set in production, where
# the operator imports the country's registry or connects the node to it
# (docs/operations.md, section 3).
if [ -n "${FEDLOOKUP_DEMO_RECORDS:-}" ]; then
    read_config='import sys; from pathlib import Path; from node.config import NodeConfig
c = NodeConfig.from_toml(Path(sys.argv[1])); print(c.node.country, c.registry.url)'
    set -- $(python -c "$read_config" "$CONFIG")
    country="$1" url="$2"
    fedlookup registry migrate --db "$url"
    count="$(fedlookup registry stats --db "$url" --json \
        | python -c 'import json, sys; print(json.load(sys.stdin)["records"])')"
    if [ "$count" = "0" ]; then
        seed_dir="$(mktemp -d)"
        fedlookup registry generate --country "$country" --records "$FEDLOOKUP_DEMO_RECORDS" \
            --seed "$(date +%s)" --out "$seed_dir/registry.csv"
        fedlookup registry import "$seed_dir/registry.csv" --db "$url"
        rm -rf "$seed_dir"
    fi
fi

# Incremental: only records changed since the last run cost elliptic-curve work.
fedlookup node index --config "$CONFIG"
# FEDLOOKUP_PORT_FILE: for supervisors that want the bound port in a file (the loopback
# topology test starts nodes through this script too).
exec fedlookup node serve --config "$CONFIG" ${FEDLOOKUP_PORT_FILE:+--port-file "$FEDLOOKUP_PORT_FILE"}
