#!/bin/sh
# Starts the bastion's sshd in the foreground once setup has written the keys.
set -eu
i=0
until [ -s /keys/bastion_host_ed25519_key ] && [ -s /keys/executor_ed25519.pub ]; do
  i=$((i + 1))
  [ $i -lt 60 ] || { echo "bastion: no keys in /keys after 60 s (did setup run?)" >&2; exit 1; }
  sleep 1
done
install -d -m 700 -o deploy -g deploy /home/deploy/.ssh
install -m 600 -o deploy -g deploy /keys/executor_ed25519.pub /home/deploy/.ssh/authorized_keys
exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
