#!/usr/bin/env bash
# Static checks of the collection, offline:
#   1. ansible-test sanity (in a copy under .../ansible_collections/stackato/cluster, --venv)
#   2. ansible-lint (production profile, offline)
#   3. antsibull-docs lint-collection-docs (module documentation)
#   4. antsibull-changelog lint (changelog fragments)
#   5. ansible-galaxy collection build, offline install, docs and playbook from the installed copy
#
# Usage: tests/static/run.sh [sanity] [lint] [docs] [changelog] [build]   (default: all five)
# Tools come from the project's .venv, or from $VENV when .venv does not exist.
# sanity runs beside the other steps (STATIC_JOBS=1: one after the other, in the order given).
# SANITY_ARGS adds arguments to ansible-test sanity (e.g. SANITY_ARGS="--test validate-modules").
# SANITY_TARGETS limits sanity to paths (default: the whole collection).
# SANITY_EXCLUDES are left out of sanity (default: nothing; paths need a trailing slash,
# e.g. SANITY_EXCLUDES="tests/simulator/").
# shellcheck disable=SC2317  # the step functions are called indirectly, through run_step
set -euo pipefail

repo=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd -P)
if [ -x "$repo/.venv/bin/ansible-test" ]; then
    venv="$repo/.venv"
elif [ -n "${VENV:-}" ] && [ -x "$VENV/bin/ansible-test" ]; then
    venv="$VENV"
else
    echo "run.sh: no tools: create $repo/.venv (Python 3.12 with ansible-core, ansible-lint, antsibull-docs," \
         "antsibull-changelog) or set VENV to such a venv" >&2
    exit 2
fi
export PATH="$venv/bin:$PATH"

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(sanity lint docs changelog build)

work=$(mktemp -d "${TMPDIR:-/tmp}/stackato-static.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A collection path with ansible_collections/stackato/cluster -> repo, for lint and docs.
mkdir -p "$work/collections/ansible_collections/stackato"
ln -s "$repo" "$work/collections/ansible_collections/stackato/cluster"
export ANSIBLE_COLLECTIONS_PATH="$work/collections"

# ansible-test --venv bootstraps pip with a script it downloads from a host that is not
# reachable here; it uses a cached copy first. The stand-in installs pip with ensurepip and then
# runs pip with the bootstrap's own arguments.
get_pip_stand_in() {
    local pip_version cache
    pip_version=$(python -c 'import re, ansible_test._internal.python_requirements as m, inspect
print(re.search(r"pip=.([0-9.]+).", inspect.getsource(m.get_venv_packages)).group(1))')
    cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
    [ -f "$cache" ] && return 0
    mkdir -p "$(dirname "$cache")"
    cat > "$cache" <<'EOF'
# Offline stand-in for ansible-test's get-pip download (see tests/static/run.sh).
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
EOF
    echo "run.sh: wrote the offline get-pip stand-in $cache"
}

copy_collection() {
    local dest=$1
    mkdir -p "$dest"
    local excludes=(.venv .run .cache .ansible .git .pytest_cache dist tests/output __pycache__ '*.pyc' '*.tar.gz')
    if command -v rsync >/dev/null; then
        rsync -a "${excludes[@]/#/--exclude=}" "$repo/" "$dest/"
    else
        tar -C "$repo" "${excludes[@]/#/--exclude=./}" -cf - . | tar -C "$dest" -xf -
    fi
}

declare -A status=() seconds=()
run_step() {
    local name=$1
    shift
    local start=$SECONDS
    echo "=== $name"
    if "$@"; then status[$name]=ok; else status[$name]=FAILED; fi
    seconds[$name]=$((SECONDS - start))
    echo "=== $name: ${status[$name]} in ${seconds[$name]}s"
}

sanity() {
    get_pip_stand_in
    local dest="$work/sanity/ansible_collections/stackato/cluster"
    copy_collection "$dest"
    local exclude excludes=()
    for exclude in ${SANITY_EXCLUDES-}; do
        [ -e "$dest/$exclude" ] && excludes+=(--exclude "$exclude")
    done
    # shellcheck disable=SC2086  # word splitting of the optional arguments is intended
    (cd "$dest" && ansible-test sanity --venv --python 3.12 --color no "${excludes[@]}" ${SANITY_ARGS:-} ${SANITY_TARGETS:-})
}

lint() {
    (cd "$repo" && ansible-lint --offline)
}

docs() {
    (cd "$repo" && antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck \
        --validate-collection-refs=all --disallow-unknown-collection-refs .)
}

changelog() {
    (cd "$repo" && antsibull-changelog lint)
}

# The tarball an operator or AWX installs: built, installed offline into an empty path, and used
# from there only (not from the checkout): every module and role documented, the playbook found
# by its FQCN.
build() {
    local out="$work/build" installed="$work/installed"
    mkdir -p "$out" "$installed"
    (cd "$repo" && ansible-galaxy collection build --output-path "$out" .) || return 1
    local tarball
    tarball=$(find "$out" -name 'stackato-cluster-*.tar.gz' -print -quit)
    ANSIBLE_COLLECTIONS_PATH="$installed" ansible-galaxy collection install --offline --force -p "$installed" "$tarball" || return 1
    local module role count=0
    (
        export ANSIBLE_COLLECTIONS_PATH="$installed" ANSIBLE_NOCOLOR=1
        for module in "$installed"/ansible_collections/stackato/cluster/plugins/modules/*.py; do
            module=$(basename "$module" .py)
            ansible-doc "stackato.cluster.$module" | grep -q '^EXAMPLES' || { echo "no docs for $module" >&2; exit 1; }
            count=$((count + 1))
        done
        for role in "$installed"/ansible_collections/stackato/cluster/roles/*/; do
            role=$(basename "$role")
            ansible-doc -t role "stackato.cluster.$role" >/dev/null || { echo "no docs for role $role" >&2; exit 1; }
        done
        for unwanted in .venv .run .cache tests/output; do
            [ ! -e "$installed/ansible_collections/stackato/cluster/$unwanted" ] || { echo "$unwanted was built in" >&2; exit 1; }
        done
        cd "$work" && ansible-playbook -i localhost, --syntax-check stackato.cluster.upgrade >/dev/null || exit 1
        echo "installed offline from $(basename "$tarball"): $count modules documented, playbook stackato.cluster.upgrade found"
    )
}

for step in "${steps[@]}"; do
    case $step in
        sanity|lint|docs|changelog|build) ;;
        *) echo "run.sh: unknown step $step (sanity, lint, docs, changelog, build)" >&2; exit 2 ;;
    esac
done

# sanity (the longest step, one core most of its time) runs beside the others when there are others and
# STATIC_JOBS (default 2) allows: its output is printed, whole, once it ends.
background=""
if [ "${STATIC_JOBS:-2}" -gt 1 ] && [ ${#steps[@]} -gt 1 ] && [[ " ${steps[*]} " == *" sanity "* ]]; then
    background=sanity
    (
        start=$SECONDS
        if sanity >"$work/sanity.log" 2>&1; then echo ok >"$work/sanity.status"; else echo FAILED >"$work/sanity.status"; fi
        echo $((SECONDS - start)) >"$work/sanity.seconds"
    ) &
    sanity_pid=$!
    echo "=== sanity: started beside the other steps (STATIC_JOBS=1: one after the other)"
fi
for step in "${steps[@]}"; do
    [ "$step" != "$background" ] || continue
    run_step "$step" "$step"
done
if [ -n "$background" ]; then
    wait "$sanity_pid" || true
    echo "=== sanity"
    cat "$work/sanity.log"
    status[sanity]=$(cat "$work/sanity.status" 2>/dev/null || echo FAILED)
    seconds[sanity]=$(cat "$work/sanity.seconds" 2>/dev/null || echo 0)
    echo "=== sanity: ${status[sanity]} in ${seconds[sanity]}s"
fi

failed=0
echo "=== summary"
for step in "${steps[@]}"; do
    printf '%-10s %-7s %4ss\n' "$step" "${status[$step]}" "${seconds[$step]}"
    [ "${status[$step]}" = ok ] || failed=1
done
exit $failed
