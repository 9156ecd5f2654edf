/**
 * The shell programs Drawbridge runs on the bastion. Each is a constant passed
 * as `sh -c <script> <name> <args...>`: values arrive as positional parameters,
 * never spliced into the script text, so quoting them once (shQuote) suffices.
 * POSIX sh plus util-linux (setsid, flock) and git; nothing is installed there.
 */

/**
 * alive PGID EXCEPT: true while the group has a live (non-zombie) member
 * other than pid EXCEPT. Zombies do not count: reaping them is init's business.
 */
const ALIVE_FUNCTION = `alive() {
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null < "$f" || continue
    p=\${f#/proc/}; p=\${p%/stat}
    set -- "$1" "$2" \${s##*) }
    [ "$5" = "$1" ] && [ "$3" != Z ] && [ "$p" != "$2" ] && return 0
  done
  return 1
}`;

/** Prefix of the first stdout line of every grouped command: its process group id. */
export const PGID_MARKER = 'DRAWBRIDGE_PGID=';

/**
 * Runs "$@" as the leader's child in a fresh session/process group (the caller
 * wraps it in `setsid -w`), records the group id in a pid file and reports it
 * on stdout before the command starts. Unless the command reads stdin, a
 * watchdog waits for EOF on the channel's stdin, which only comes when the
 * channel or the whole connection is gone: it then ends the group, so a lost
 * executor never leaves a playbook running unobserved.
 * $1 pid file, $2 "stdin" or "watch", then the command.
 */
export const GROUP_SCRIPT = `pidfile=$1; mode=$2; shift 2
${ALIVE_FUNCTION}
{ [ -d "\${pidfile%/*}" ] || mkdir -p "\${pidfile%/*}"; } && echo "$$" > "$pidfile" || exit 125
printf '${PGID_MARKER}%s\\n' "$$"
if [ "$mode" = stdin ]; then
  "$@"
  rc=$?
else
  exec 3<&0
  "$@" </dev/null 3<&- &
  cmd=$!
  {
    while read -r _; do :; done
    trap '' TERM
    kill -s TERM 0
    me=$(sh -c 'echo "$PPID"')
    n=0
    while [ "$n" -lt 30 ] && alive "$$" "$me"; do sleep 0.1; n=$((n+1)); done
    kill -s KILL 0
  } <&3 >/dev/null 2>&1 &
  watch=$!
  exec 3<&-
  wait "$cmd"
  rc=$?
  kill "$watch" 2>/dev/null
fi
rm -f "$pidfile"
exit "$rc"`;

/**
 * TERM the group, wait up to $3 tenths of a second for it to go, then KILL.
 * The pid file check keeps a finished command's reused group id safe.
 * $1 group id, $2 pid file, $3 grace in tenths of a second.
 */
export const KILL_SCRIPT = `pg=$1; pidfile=$2; tenths=$3
[ "$(cat "$pidfile" 2>/dev/null)" = "$pg" ] || exit 0
${ALIVE_FUNCTION}
if kill -s TERM -- "-$pg" 2>/dev/null; then
  n=0
  while alive "$pg" 0; do
    if [ "$n" -ge "$tenths" ]; then kill -s KILL -- "-$pg" 2>/dev/null; break; fi
    sleep 0.1
    n=$((n+1))
  done
fi
rm -f "$pidfile"
exit 0`;

/**
 * Retention: keep the newest $2 workspaces (by creation stamp), remove the
 * rest unless a job holds their lock (shared) or a checkout does (exclusive).
 * $1 root, $2 how many to keep.
 */
const PRUNE_FUNCTION = `prune() {
  n=0
  for stamp in $(ls -1t "$root/.locks/" 2>/dev/null | grep '[.]ws$'); do
    n=$((n+1))
    [ "$n" -le "$2" ] && continue
    b=\${stamp%.ws}
    [ -e "$root/.locks/$b.lock" ] || continue
    exec 7<"$root/.locks/$b.lock"
    if flock -n -x 7; then
      rm -rf "$root/$b" "$root/$b.tmp" && rm -f "$root/.locks/$stamp"
      git -C "$root/mirror.git" update-ref -d "refs/drawbridge/$b" 2>/dev/null
      echo "drawbridge-prune: removed $b"
    fi
    exec 7<&-
  done
}`;

export const PRUNE_SCRIPT = `root=$1
${PRUNE_FUNCTION}
prune "$root" "$2"`;

/**
 * The checkout step for one buildset, exactly once however many executors
 * race: an exclusive flock per buildset serialises them and the workspace
 * appears by an atomic rename, so the second comer finds it and only verifies.
 * $1 root, $2 buildset, $3 sha, $4 mode (url | push | bundle), $5 url or the bundle's ref,
 * $6 workspaces to keep (0: no pruning). Mode "push" exits 75 when the mirror
 * lacks the commit; mode "bundle" reads a git bundle from stdin first.
 */
export const CHECKOUT_SCRIPT = `set -u
root=$1; bs=$2; sha=$3; mode=$4; src=$5; keep=$6
ws=$root/$bs; mirror=$root/mirror.git; locks=$root/.locks; bundle=
fail() { printf 'drawbridge-checkout: %s\\n' "$*" >&2; [ -n "$bundle" ] && rm -f "$bundle"; exit 1; }
head_of() { git -C "$1" rev-parse --verify -q HEAD 2>/dev/null; }
mkdir -p "$locks" "$root/.vars" "$root/.tmp" && chmod 700 "$root/.vars" || fail "cannot create directories under $root"
if [ "$mode" = bundle ]; then
  bundle=$root/.tmp/$bs.$$.bundle
  cat > "$bundle" || fail "cannot store the bundle"
fi
exec 8>>"$locks/$bs.lock"
flock -x 8 || fail "cannot lock $locks/$bs.lock"
if [ -d "$ws" ]; then
  got=$(head_of "$ws")
  [ "$got" = "$sha" ] || fail "workspace $ws exists at \${got:-no commit}, not at $sha"
  [ -n "$bundle" ] && rm -f "$bundle"
  echo "drawbridge-checkout: verified existing $ws at $sha"
  exit 0
fi
exec 9>>"$locks/mirror.lock"
flock -x 9 || fail "cannot lock the mirror"
if [ ! -d "$mirror" ]; then
  rm -rf "$mirror.tmp" && git init -q --bare "$mirror.tmp" && mv "$mirror.tmp" "$mirror" || fail "cannot create $mirror"
fi
if ! git -C "$mirror" cat-file -e "$sha^{commit}" 2>/dev/null; then
  case $mode in
    url)
      git -C "$mirror" fetch -q "$src" '+refs/heads/*:refs/heads/*' >&2 || fail "fetch from $src failed"
      git -C "$mirror" cat-file -e "$sha^{commit}" 2>/dev/null || git -C "$mirror" fetch -q "$src" "$sha" >&2 ;;
    push)
      echo "drawbridge-checkout: need-objects"
      exit 75 ;;
    bundle)
      git -C "$mirror" fetch -q "$bundle" "+$src:refs/drawbridge/$bs" >&2 || fail "cannot fetch from the bundle" ;;
    *) fail "unknown mode $mode" ;;
  esac
  git -C "$mirror" cat-file -e "$sha^{commit}" 2>/dev/null || fail "commit $sha not found after fetching ($mode)"
fi
[ -n "$bundle" ] && rm -f "$bundle"
git -C "$mirror" update-ref "refs/drawbridge/$bs" "$sha" || fail "cannot pin $sha in the mirror"
exec 9>&-
rm -rf "$ws.tmp"
git clone -q --shared --no-checkout "$mirror" "$ws.tmp" >&2 && git -C "$ws.tmp" checkout -q --detach "$sha" >&2 || fail "cannot check out $sha"
got=$(head_of "$ws.tmp")
[ "$got" = "$sha" ] || fail "new workspace is at \${got:-no commit}, not at $sha"
mv "$ws.tmp" "$ws" && : > "$locks/$bs.ws" || fail "cannot move the workspace into place"
echo "drawbridge-checkout: created $ws at $sha"
exec 8>&-
${PRUNE_FUNCTION}
[ "$keep" -gt 0 ] && prune "$root" "$keep"
exit 0`;

/**
 * The groups of a dead job runner's jobs, all at once: one command, so no
 * kill waits in the control lane behind another's grace period. Arguments are
 * pairs of a grace in tenths of a second and a pid file, then "--" and files
 * to remove afterwards (the jobs' vars). TERM every group named by an existing
 * pid file, KILL each one still alive after its grace. Prints `gone <pid file>`
 * for each group it signalled and saw end, `ended <pid file>` for one already
 * gone before the TERM (it ended by itself, its result unknown); a missing pid
 * file prints nothing (the job may never have started, or may run on unrecorded).
 */
export const KILL_ORPHANS_SCRIPT = `${ALIVE_FUNCTION}
files=; groups=
while [ "$#" -ge 2 ] && [ "$1" != -- ]; do
  pg=$(cat "$2" 2>/dev/null)
  case "$pg" in
    '' | *[!0-9]*) ;;
    # A group already gone before the TERM ended by itself, its result unknown: not "gone".
    *) if kill -s TERM -- "-$pg" 2>/dev/null; then files="$files $2"; groups="$groups $pg:$1"; else rm -f "$2"; echo "ended $2"; fi ;;
  esac
  shift 2
done
[ "$1" = -- ] && shift
n=0
while [ "$n" -lt 1000 ]; do
  left=
  for g in $groups; do
    alive "\${g%:*}" 0 || continue
    t=\${g#*:}
    # KILL after the grace; 5 s more for KILL to work before giving up on the group.
    [ "$n" -ge $((t + 50)) ] && continue
    left="$left $g"
    [ "$n" -ge "$t" ] && kill -s KILL -- "-\${g%:*}" 2>/dev/null
  done
  [ -z "$left" ] && break
  groups=$left
  sleep 0.1
  n=$((n+1))
done
# pidf, not f: alive() sets f.
for pidf in $files; do
  pg=$(cat "$pidf" 2>/dev/null)
  if [ -n "$pg" ] && alive "$pg" 0; then echo "alive $pidf"; else rm -f "$pidf"; echo "gone $pidf"; fi
done
[ "$#" -eq 0 ] || rm -f -- "$@"
exit 0`;
