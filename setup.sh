#!/usr/bin/env bash
# Brine's set-up for a fresh Debian 12 machine: system packages, the Python environment (.venv)
# and the web app's pinned npm dependencies. Idempotent and quick when nothing changed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

say() { printf 'brine-setup: %s\n' "$*" >&2; }

# What the lab, the tests and the host side need from Debian.
packages=(
    libvirt-daemon-system libvirt-clients libvirt-dev pkg-config qemu-system-x86 qemu-utils
    dnsmasq-base iproute2 iptables bridge-utils nginx-light openssl curl cpio kmod procps
    chromium chromium-driver gcc python3-dev git
    debootstrap
    # Hosts install VMs with virt-install (docs/provisioning.md); the lab's install tree is built
    # from Debian packages fetched with apt-get download (nothing more to install for it).
    virtinst osinfo-db
    # virt-xml-validate (libvirt-clients) checks the landscape's network, pool and domain XML with
    # xmllint (docs/landscape.md).
    libxml2-utils
    # Containers (docs/containers.md): each lab host runs its own Docker engine, and the master
    # side a local registry holding images built offline.
    docker.io docker-registry
    # Virtual clusters: each node's configuration on a small FAT disk, made without mounting it.
    dosfstools mtools
)
# The lab installer's scripts are tested with busybox (either Debian package will do).
command -v busybox >/dev/null || packages+=(busybox-static)

if [ "$(id -u)" -eq 0 ]; then
    missing=()
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
else
    say "not root: skipping Debian packages (the lab and end-to-end tests need root anyway)"
fi

python=${PYTHON:-python3}
stamp=.venv/.brine-requirements
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "creating the Python environment in .venv (pinned requirements.txt)"
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    # (Some machines' pip configuration names extra local indexes that may be absent: its
    # warnings about them say nothing about Brine.)
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt \
        2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
    echo "$want" > "$stamp"
fi

if [ -f web/package.json ]; then
    npm_stamp=web/node_modules/.brine-lock
    npm_want=$(sha256sum web/package-lock.json | cut -d' ' -f1)
    if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
        say "installing the web app's pinned npm packages"
        (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$npm_want" > "$npm_stamp"
    fi
fi
