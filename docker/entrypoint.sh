#!/bin/sh
# Runs migrations (idempotent; creates the database if missing), then the requested app: api | worker | inference.
set -eu
app="${1:-api}"
case "$app" in
  api|worker|inference) ;;
  *) exec "$@" ;;
esac
node /app/tools/scripts/db.mjs deploy
exec node --enable-source-maps "/app/dist/apps/$app/main.js"
