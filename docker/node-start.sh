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
        fedlookup registry generate --country "$country" --records "$FEDLOOKUP_DEMO_RECORDS" \
            --seed "$(date +%s)" --out /tmp/demo-registry.csv
        fedlookup registry import /tmp/demo-registry.csv --db "$url"
        rm -f /tmp/demo-registry.csv /tmp/demo-registry.csv.*
    fi
fi

# Incremental: only records changed since the last run cost elliptic-curve work.
fedlookup node index --config "$CONFIG"
exec fedlookup node serve --config "$CONFIG"
