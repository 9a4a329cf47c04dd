#!/bin/sh
# Debian's chromium for the browser tests (tests/integration/test_web_browser.py drive it with
# Playwright through executable_path; `playwright install` is never run). Idempotent.
set -eu
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "chromium is missing: install Debian's chromium package (apt-get install chromium) as root" >&2
        exit 1
    fi
    apt-get update -qq
    apt-get install -y -qq chromium
fi
chromium --version
