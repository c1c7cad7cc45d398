#!/bin/sh
# Start command of a node container (docker/compose.yml): optional demo registry, index,
# then serve. Every step is a `fedlookup` command an operator can also run by hand.
set -eu

CONFIG="${FEDLOOKUP_CONFIG:-/etc/fedlookup/node.toml}"

# Demo only: fill an empty registry with synthetic records (never set in production, where
# the operator imports the country's registry or connects the node to it).
if [ -n "${FEDLOOKUP_DEMO_RECORDS:-}" ]; then
    count="$(fedlookup registry stats --config "$CONFIG" --json \
        | python -c 'import json, sys; print(json.load(sys.stdin)["records"])')"
    if [ "$count" = "0" ]; then
        country="$(python -c 'import sys; from pathlib import Path; from node.config import NodeConfig; print(NodeConfig.from_toml(Path(sys.argv[1])).node.country)' "$CONFIG")"
        fedlookup registry generate --country "$country" --records "$FEDLOOKUP_DEMO_RECORDS" \
            --out /tmp/seed.csv
        fedlookup registry import /tmp/seed.csv --config "$CONFIG"
        rm -f /tmp/seed.csv
    fi
fi

# Incremental: only records changed since the last run are re-tagged.
fedlookup node index --config "$CONFIG"
exec fedlookup node serve --config "$CONFIG"
