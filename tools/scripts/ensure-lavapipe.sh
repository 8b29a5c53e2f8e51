#!/usr/bin/env bash
# The webgpu backend's specs (libs/model/src/webgpu.spec.ts and the CLI job on TRACETUNE_BACKEND=webgpu) run on
# Mesa's software Vulkan driver, lavapipe, when no GPU is present. Dawn needs a newer Vulkan driver than Debian 12's
# own Mesa 22.3 provides, so lavapipe comes from the bookworm-backports suite (Mesa 25.x), with the Vulkan loader.
set -euo pipefail

lavapipe_ok() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -Eq '^(2[4-9]|[3-9][0-9])\.' &&
    ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 &&
    ldconfig -p | grep -q 'libvulkan\.so\.1'
}

if lavapipe_ok; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "ensure-lavapipe: installing Mesa's software Vulkan driver (lavapipe) from bookworm-backports" >&2
LIST=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee "$LIST" >/dev/null
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends -t bookworm-backports \
  mesa-vulkan-drivers libvulkan1
dpkg-query -W -f='mesa-vulkan-drivers ${Version}\n' mesa-vulkan-drivers
