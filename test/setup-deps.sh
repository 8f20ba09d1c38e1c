#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Install everything stafd needs to build, test and run its VM suite on
# Debian 12 (as root).  Safe to run again.
set -euo pipefail

PACKAGES=(
        # build
        meson ninja-build pkg-config gcc clang libclang-rt-14-dev
        libsystemd-dev libnvme-dev libavahi-client-dev libinih-dev libjson-c-dev libcmocka-dev
        # system tests
        dbus avahi-daemon avahi-utils python3 python3-dasbus python3-dbus python3-gi util-linux iproute2 socat valgrind
        # VM suite (real kernel under qemu)
        qemu-system-x86 busybox-static cpio kmod nvme-cli systemd udev
)

missing=()
for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
                echo "setup-deps: missing packages: ${missing[*]} (run as root)" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
