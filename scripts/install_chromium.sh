#!/usr/bin/env bash
# The studio's browser tests drive Debian's chromium through its chromedriver (a browser
# download at test time cannot work offline). Installs both when missing and apt can;
# otherwise says so, and those tests are skipped with that reason.
set -uo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
if { $SUDO apt-get update -qq &&
     DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
       chromium chromium-driver >/dev/null; }; then
  exit 0
fi
echo "warning: could not install chromium + chromium-driver (apt): the studio's browser tests will be skipped" >&2
