#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the browser tests (test/browser/), which drive
# it with playwright-core. Idempotent: does nothing when /usr/bin/chromium already exists.
# Needs root and Debian's apt repositories; Playwright's own browser download is not used.
set -euo pipefail

chromium=/usr/bin/chromium
if [ -x "$chromium" ]; then
  echo "setup-browser: $chromium already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-browser: $chromium is missing and installing it needs root (run: sudo bash scripts/setup-browser.sh)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
echo "setup-browser: installed $(dpkg-query -W -f='${Package} ${Version}' chromium) at $chromium"
