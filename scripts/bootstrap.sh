#!/usr/bin/env bash
# Installs what Drawbridge's tests, benchmarks and local demo need on a fresh
# Debian machine, then the npm dependencies. Safe to run again: it skips what
# is already there. Needs root (or sudo) for the system packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real components, never mocks: ZooKeeper, sshd (the bastion), ansible, git;
# chromium (and a font for it) drives the status page's browser test;
# postgresql is the history database the history tests also run against.
PACKAGES=(zookeeper openssh-server openssh-client ansible-core git procps iproute2 chromium fonts-liberation postgresql)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "bootstrap: installing system packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "bootstrap: system packages present"
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.drawbridge-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "bootstrap: npm ci"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
else
  echo "bootstrap: npm dependencies up to date"
fi

npm run build --silent
echo "bootstrap: done"
