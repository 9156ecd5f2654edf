#!/bin/sh
# One-shot setup of the local cluster, run by compose before anything else:
# the executor's key and the bastion's host key (in the keys volume, with the
# host key's fingerprint for drawbridge.yaml's pin), and a bare repository
# made from config/example (in the repo volume). Keeps what exists.
set -eu
umask 077
if [ ! -s /keys/executor_ed25519 ]; then
  ssh-keygen -q -t ed25519 -N '' -C drawbridge-executor -f /keys/executor_ed25519
fi
if [ ! -s /keys/bastion_host_ed25519_key ]; then
  ssh-keygen -q -t ed25519 -N '' -C drawbridge-bastion -f /keys/bastion_host_ed25519_key
fi
ssh-keygen -l -E sha256 -f /keys/bastion_host_ed25519_key.pub | awk '{print $2}' \
  >/keys/bastion_host_key.fingerprint
# The executor (uid 10001) reads its key; everyone reads the public parts.
chown 10001:10001 /keys/executor_ed25519
chmod 0400 /keys/executor_ed25519
chmod 0444 /keys/executor_ed25519.pub /keys/bastion_host_ed25519_key.pub /keys/bastion_host_key.fingerprint
chmod 0755 /keys
if [ ! -d /srv/repo.git ]; then
  work=$(mktemp -d)
  cp -r /src/example/. "$work/"
  git -C "$work" init -q -b master
  git -C "$work" add -A
  git -C "$work" -c user.name=drawbridge -c user.email=drawbridge@localhost \
    commit -qm "example infrastructure"
  git clone -q --bare "$work" /srv/repo.git
  rm -rf "$work"
  chown -R 10001:10001 /srv/repo.git
  chmod -R u=rwX,go=rX /srv/repo.git
fi
echo "setup: keys in /keys, repository /srv/repo.git (host key $(cat /keys/bastion_host_key.fingerprint))"
