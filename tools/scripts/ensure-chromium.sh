#!/usr/bin/env bash
# The dashboard's browser tests (apps/dashboard-e2e) drive Debian's chromium through playwright-core;
# `npx playwright install` cannot download browsers here, so the distribution package is the browser.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "ensure-chromium: /usr/bin/chromium is missing; installing Debian's chromium" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
