#!/usr/bin/env bash
# Brings Drawbridge up on this machine and runs a real deployment of the
# example infrastructure repository:
#   a ZooKeeper and a bastion (sshd on loopback with generated keys), from
#   scripts/local-stack.sh; `drawbridge run` (scheduler, executor, web) and a
#   second `drawbridge scheduler`; then the deploy pipeline for the head of the
#   example repository, followed to its end; then where to look.
# A second run reuses the stack and the processes the first one started.
#
#   scripts/demo.sh         bring up (or reuse) and deploy
#   scripts/demo.sh stop    stop the Drawbridge processes and the local stack
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
BASE=${DRAWBRIDGE_LOCAL:-$TOP/.drawbridge/local}
CONFIG="$BASE/drawbridge.yaml"
RUN="$BASE/run"
db() { node "$TOP/bin/drawbridge.js" "$@"; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_all() {
  for name in scheduler-2 drawbridge-run; do
    if alive "$RUN/$name.pid"; then
      kill -TERM "$(cat "$RUN/$name.pid")"
      echo "demo: stopping $name"
    fi
  done
  for name in scheduler-2 drawbridge-run; do
    for _ in $(seq 1 120); do
      alive "$RUN/$name.pid" || break
      sleep 0.5
    done
    rm -f "$RUN/$name.pid"
  done
  scripts/local-stack.sh stop
}

if [ "${1:-}" = stop ]; then
  stop_all
  exit 0
fi

[ -f dist/cli/main.js ] || npm run build --silent
scripts/local-stack.sh start
mkdir -p "$RUN"
# shellcheck disable=SC1091
. "$BASE/ports.env"

start_bg() { # name, clone dir, drawbridge arguments...
  local name=$1 clone=$2
  shift 2
  if alive "$RUN/$name.pid"; then
    echo "demo: $name already running (pid $(cat "$RUN/$name.pid"))"
    return
  fi
  DRAWBRIDGE_CLONE=$clone nohup node "$TOP/bin/drawbridge.js" "$@" >"$RUN/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  echo "demo: started $name (pid $!), log $RUN/$name.log"
}
start_bg drawbridge-run state/repository run --config "$CONFIG" --grace 60
start_bg scheduler-2 state/repository-2 scheduler --config "$CONFIG" --grace 60

# Wait until web answers and both schedulers and the executor are registered.
# If not, the processes' last lines say why (the run directory may not outlive a test).
if ! node "$TOP/scripts/wait-components.mjs" "$WEB_PORT" scheduler=2 executor=1; then
  tail -n 20 "$RUN"/*.log >&2
  exit 1
fi
echo "demo: two schedulers, an executor and web are running"

commit=$(git -C "$BASE/repo.git" rev-parse refs/heads/master)
echo "demo: deploying the example repository at $commit through the deploy pipeline"
status=0
db enqueue --config "$CONFIG" --pipeline deploy --commit "$commit" --wait --timeout 1200 || status=$?
echo
db status --config "$CONFIG" || true

cat <<WHERE

Where to look:
  status (JSON)   http://127.0.0.1:$WEB_PORT/api/status
  components      http://127.0.0.1:$WEB_PORT/api/components
  status (CLI)    node bin/drawbridge.js status --config $CONFIG
  build logs      $BASE/logs/
  process logs    $RUN/
  what ran        /tmp/drawbridge-example/record.log (each playbook records its start and end)
Stop everything:  npm run demo -- stop
WHERE
exit "$status"
