#!/usr/bin/env bash
# The deployment spec (libs/testing/src/lib/deployment-files.spec.ts) validates docker/compose*.yml with a real Compose
# implementation. No Docker daemon is needed for `config`. The `docker compose` v2 plugin is not packaged in Debian 12,
# so Debian's docker-compose (1.29) does it: it resolves anchors, merges and interpolation and checks the file against
# the Compose schema it knows.
set -euo pipefail

if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "ensure-docker-compose: no Compose CLI; installing Debian's docker-compose" >&2
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends docker-compose
docker-compose version
