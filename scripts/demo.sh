#!/usr/bin/env bash
# Brings Drawbridge up on the example infrastructure repository.
#
# Today that means: validate the example layout, make a throw-away git copy of
# the example repository with one realistic change, and show the plan each
# pipeline would run for it. The scheduler, executor and web processes are not
# built yet (docs/architecture.md, "Status"); when they are, this script starts
# them and runs the deploy pipeline for real.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f dist/cli/main.js ] || npm run build --silent
db() { node bin/drawbridge.js "$@"; }

work="${DRAWBRIDGE_DEMO_DIR:-.drawbridge/demo}"
rm -rf "$work/repo"
mkdir -p "$work"
cp -r config/example "$work/repo"
git -C "$work/repo" init -q -b master
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=demo -c user.email=demo@localhost commit -qm "example infrastructure"
echo "# a change an operator might push" >> "$work/repo/playbooks/service-gitea.yaml"
git -C "$work/repo" -c user.name=demo -c user.email=demo@localhost commit -qam "gitea: tune"

echo "== drawbridge validate $work/repo/zuul.d"
db validate "$work/repo/zuul.d"

echo
echo "== a push that changed playbooks/service-gitea.yaml, through the deploy pipeline"
db plan --pipeline deploy --git-range HEAD~1..HEAD --repo "$work/repo" "$work/repo/zuul.d"

echo
echo "== the daily periodic pipeline (a timer runs every job)"
db plan --pipeline periodic "$work/repo/zuul.d"

echo
echo "Drawbridge's scheduler, executor and web are not built yet; see docs/architecture.md."
echo "The example repository used here is in $work/repo."
