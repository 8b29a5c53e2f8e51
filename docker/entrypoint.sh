#!/bin/sh
# migrate: apply pending migrations (creates the database if missing) and exit; compose runs it once, before the apps.
# api | worker | inference: run that app (migrations are not applied here: several replicas start at once).
# Anything else runs as a command.
set -eu
app="${1:-api}"
case "$app" in
  migrate) exec node /app/tools/scripts/db.mjs deploy ;;
  api|worker|inference) exec node --enable-source-maps "/app/dist/apps/$app/main.js" ;;
  *) exec "$@" ;;
esac
