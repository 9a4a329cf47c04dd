#!/bin/sh
# Container entry point: `run` applies migrations first (idempotent), then every scraper command runs
# as PID 1 via exec, so SIGTERM reaches it directly. Anything that is not a scraper command (sh, python)
# is run as given, for debugging.
set -eu

if [ "$#" -eq 0 ]; then
  set -- run
fi

case "$1" in
  run)
    if [ "${SCRAPER_MIGRATE:-1}" != "0" ]; then
      scraper db upgrade
    fi
    exec scraper "$@"
    ;;
  worker|db|sources|rules|alerts|search|extract|demo|config|doctor|queue|--help|-*)
    exec scraper "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
