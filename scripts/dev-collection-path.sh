#!/bin/sh
# Make this checkout usable in place as the stackato.cluster collection.
#
#   eval "$(scripts/dev-collection-path.sh)"     # exports ANSIBLE_COLLECTIONS_PATH
#   scripts/dev-collection-path.sh --print-dir   # only prints the directory
#
# Ansible finds collections as <path>/ansible_collections/<namespace>/<name>; the repo root is
# the collection root, so a symlink stackato/cluster -> repo under .cache/collections does it.
set -eu
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
dir="${STACKATO_COLLECTIONS_DIR:-$repo/.cache/collections}"
mkdir -p "$dir/ansible_collections/stackato"
link="$dir/ansible_collections/stackato/cluster"
if [ "$(readlink "$link" 2>/dev/null || true)" != "$repo" ]; then
    rm -f "$link"
    ln -s "$repo" "$link"
fi
if [ "${1:-}" = "--print-dir" ]; then
    printf '%s\n' "$dir"
else
    printf 'export ANSIBLE_COLLECTIONS_PATH=%s\n' "$dir${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
fi
