#!/bin/sh
# Entry point of the Drawbridge image: fills DRAWBRIDGE_* variables from
# files (the usual NAME_FILE convention for container secrets), then runs
# `drawbridge` with the container's arguments, as PID 1's only child.
set -eu
for name in DRAWBRIDGE_BASTION_HOST_KEY DRAWBRIDGE_ZK_PASSWORD DRAWBRIDGE_JWT_SECRET; do
  file=$(printenv "${name}_FILE" || true)
  if [ -n "$file" ] && [ -z "$(printenv "$name" || true)" ]; then
    # Wait briefly for a file another container is still writing (compose's setup step).
    i=0
    while [ ! -s "$file" ] && [ $i -lt 60 ]; do i=$((i + 1)); sleep 1; done
    value=$(cat "$file")
    export "$name=$value"
  fi
done
exec drawbridge "$@"
