#!/bin/sh
# Debian's chromium for the browser tests (tests/integration/test_web_browser.py drive it with
# Playwright through executable_path; `playwright install` is never run). Idempotent.
set -eu
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq chromium
fi
chromium --version
