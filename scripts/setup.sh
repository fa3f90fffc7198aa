#!/usr/bin/env bash
# Idempotent set-up of a Debian 12 machine for this project (run as root on a fresh machine):
# apt packages, the Python 3.12 venv with pinned tools, and the simulated node image.
# Each step checks first, so a second run takes seconds.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
REQUIREMENTS="$REPO/requirements.txt"
CONTAINERS_CONF_FILE="$REPO/tests/harness/containers.conf"

# Host side only: tinyproxy, sshd and the simulator run inside the node image.
# runc: crun fails here ("cgroups in hybrid mode not supported"); catatonit: `podman run --init`.
# haproxy: the load balancer in front of the routers of a traffic cluster (run by the harness).
# chromium: the report test opens report.html headless (loopback only) and screenshots it.
APT_PACKAGES=(podman runc catatonit uidmap debootstrap openssh-client openssl ca-certificates tar make haproxy chromium)

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

missing_packages() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if [ "${#missing[@]}" -eq 0 ]; then
        return
    fi
    [ "$(id -u)" -eq 0 ] || die "packages missing (${missing[*]}): run this script as root"
    say "installing ${missing[*]}"
    # Only refresh the package lists when there is something to install.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

is_python312() {
    "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null
}

# ansible-core 2.20+ needs Python 3.12; Debian 12's python3 is 3.11.
find_python312() {
    local candidate
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    for candidate in "$(command -v python3.12 || true)" \
                     "$pyenv_root"/versions/3.12*/bin/python3.12 \
                     /root/.pyenv/versions/3.12*/bin/python3.12 \
                     /usr/local/bin/python3.12 /usr/bin/python3.12; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && is_python312 "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

requirements_stamp() {
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1
}

setup_venv() {
    local stamp="$VENV/.requirements.sha256"
    if [ -x "$VENV/bin/python" ] && is_python312 "$VENV/bin/python" \
       && [ "$(cat "$stamp" 2>/dev/null)" = "$(requirements_stamp)" ]; then
        return
    fi
    local python
    python="$(find_python312)" \
        || die "Python 3.12 not found (looked on PATH and in pyenv): install python3.12"
    if [ -x "$VENV/bin/python" ] && ! is_python312 "$VENV/bin/python"; then
        say "replacing $VENV (not Python 3.12)"
        rm -rf "$VENV"
    fi
    say "creating $VENV from $python and installing requirements.txt"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    requirements_stamp >"$stamp"
}

build_image() {
    [ -f "$CONTAINERS_CONF_FILE" ] || die "missing $CONTAINERS_CONF_FILE"
    # cluster.py selects the project's containers.conf itself and skips an image that exists.
    CONTAINERS_CONF="$CONTAINERS_CONF_FILE" "$VENV/bin/python" "$REPO/tests/harness/cluster.py" build-image >/dev/null
}

main() {
    install_packages
    setup_venv
    build_image
    say "ready"
}

main "$@"
