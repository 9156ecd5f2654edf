#!/usr/bin/env bash
# A Drawbridge stack on this machine, for the demo and for trying things out:
# ZooKeeper and an sshd "bastion" on free loopback ports, a bare git repository
# made from config/example, and a drawbridge.yaml that points at all of them.
#
#   scripts/local-stack.sh [start]   set up what is missing, start what is not running
#   scripts/local-stack.sh status    say what runs where
#   scripts/local-stack.sh stop      stop what start started (files are kept)
#   scripts/local-stack.sh clean     stop, then remove the whole directory
#
# Everything lives in $DRAWBRIDGE_LOCAL (default .drawbridge/local at the top
# of the checkout). A second start reuses the keys, ports, repository and data
# of the first. Needs what `npm run bootstrap` installs (zookeeper, openssh-server, git).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)

BASE=${DRAWBRIDGE_LOCAL:-$TOP/.drawbridge/local}
mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
ZK_SERVER_SH=${ZK_SERVER_SH:-/usr/share/zookeeper/bin/zkServer.sh}
SSHD=${SSHD:-/usr/sbin/sshd}
PORTS="$BASE/ports.env"

say() { echo "local-stack: $*"; }
die() {
  echo "local-stack: $*" >&2
  exit 1
}

# A pid file names a live process.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Below the kernel's ephemeral range (32768 and up on Linux): a port remembered
# from there can meanwhile be the source port of any outgoing connection.
free_port() {
  node -e '
    const net = require("net");
    const tryPort = (left) => {
      const port = 20000 + Math.floor(Math.random() * 12000);
      const s = net.createServer();
      s.once("error", () => (left > 0 ? tryPort(left - 1) : process.exit(1)));
      s.listen(port, "127.0.0.1", () => s.close(() => console.log(port)));
    };
    tryPort(100);'
}

# Ports are chosen once and remembered, so the config stays valid across restarts.
load_ports() {
  # shellcheck disable=SC1090
  [ -f "$PORTS" ] && . "$PORTS"
  local changed=0
  for name in ZK_PORT SSH_PORT WEB_PORT LOG_PORT; do
    if [ -z "${!name:-}" ]; then
      printf -v "$name" '%s' "$(free_port)"
      changed=1
    fi
  done
  if [ "$changed" = 1 ]; then
    printf 'ZK_PORT=%s\nSSH_PORT=%s\nWEB_PORT=%s\nLOG_PORT=%s\n' \
      "$ZK_PORT" "$SSH_PORT" "$WEB_PORT" "$LOG_PORT" >"$PORTS"
  fi
}

zk_serving() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && printf srvr >&3 && cat <&3) 2>/dev/null || true)
  [[ "$reply" == *"Mode: standalone"* ]]
}

start_zookeeper() {
  local dir="$BASE/zookeeper"
  mkdir -p "$dir/data"
  if alive "$dir/zookeeper.pid"; then
    say "ZooKeeper already running (pid $(cat "$dir/zookeeper.pid"))"
    return
  fi
  [ -x "$ZK_SERVER_SH" ] || die "$ZK_SERVER_SH not found: run npm run bootstrap"
  cat >"$dir/zoo.cfg" <<EOF
tickTime=500
dataDir=$dir/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
minSessionTimeout=1000
maxSessionTimeout=60000
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr,stat
autopurge.purgeInterval=1
EOF
  # start-foreground execs the JVM, so $! is ZooKeeper's own pid.
  JMXDISABLE=true JVMFLAGS=${JVMFLAGS:--Xmx256m -XX:+UseSerialGC} \
    nohup "$ZK_SERVER_SH" start-foreground "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 </dev/null &
  echo $! >"$dir/zookeeper.pid"
  local deadline=$((SECONDS + 60))
  until zk_serving; do
    alive "$dir/zookeeper.pid" || die "ZooKeeper exited; see $dir/zookeeper.log"
    [ $SECONDS -lt $deadline ] || die "ZooKeeper did not serve within 60 s; see $dir/zookeeper.log"
    sleep 0.2
  done
  say "ZooKeeper started (pid $(cat "$dir/zookeeper.pid"))"
}

setup_keys() {
  local sshd="$BASE/sshd" ssh="$BASE/ssh"
  mkdir -p "$sshd" "$ssh"
  chmod 700 "$ssh"
  [ -f "$sshd/ssh_host_ed25519_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C drawbridge-local-bastion -f "$sshd/ssh_host_ed25519_key"
  [ -f "$ssh/id_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C drawbridge-local-executor -f "$ssh/id_ed25519"
  cp "$ssh/id_ed25519.pub" "$sshd/authorized_keys"
  chmod 600 "$sshd/authorized_keys"
  HOST_KEY=$(ssh-keygen -l -E sha256 -f "$sshd/ssh_host_ed25519_key.pub" | awk '{print $2}')
}

start_sshd() {
  local dir="$BASE/sshd"
  if alive "$dir/sshd.pid"; then
    say "bastion sshd already running (pid $(cat "$dir/sshd.pid"))"
    return
  fi
  [ -x "$SSHD" ] || die "$SSHD not found: run npm run bootstrap"
  mkdir -p /run/sshd "$BASE/workspaces"
  cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel ERROR
MaxSessions 10
MaxStartups 100
Subsystem sftp internal-sftp
EOF
  # sshd insists on an absolute path to itself; it daemonizes and writes its pid file.
  "$SSHD" -f "$dir/sshd_config" -E "$dir/sshd.log"
  local deadline=$((SECONDS + 10))
  until alive "$dir/sshd.pid" && (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "sshd did not listen within 10 s; see $dir/sshd.log"
    sleep 0.1
  done
  say "bastion sshd started (pid $(cat "$dir/sshd.pid"))"
}

setup_repo() {
  local bare="$BASE/repo.git"
  if [ -d "$bare" ]; then
    say "repository $bare already there"
    return
  fi
  local work
  work=$(mktemp -d)
  cp -r "$TOP/config/example/." "$work/"
  git -C "$work" init -q -b master
  git -C "$work" add -A
  git -C "$work" -c user.name=drawbridge -c user.email=drawbridge@localhost \
    commit -qm "example infrastructure"
  git clone -q --bare "$work" "$bare"
  rm -rf "$work"
  say "repository $bare created from config/example"
}

write_config() {
  mkdir -p "$BASE/logs" "$BASE/state"
  cat >"$BASE/drawbridge.yaml" <<EOF
# Written by scripts/local-stack.sh for the stack in this directory; it is
# rewritten on every start. Options: docs/daemon-config.md.
zookeeper:
  hosts:
    - 127.0.0.1:$ZK_PORT
  root: /drawbridge
  sessionTimeout: 10
  connectTimeout: 10
layout:
  fromRepository: true
  paths:
    - zuul.d
  playbookDir: playbooks
repository:
  url: $BASE/repo.git
  branch: master
  pollInterval: 10
  # Each scheduler process needs a clone of its own: a second one on this
  # host is started with DRAWBRIDGE_CLONE=state/repository-2.
  localPath: \${DRAWBRIDGE_CLONE:-state/repository}
bastion:
  host: 127.0.0.1
  port: $SSH_PORT
  user: $(id -un)
  privateKey: ssh/id_ed25519
  hostKey: "$HOST_KEY"
  workspaceRoot: $BASE/workspaces
  sessionLimit: 10
  commitSource: fetch
executor:
  slots: 4
  logRoot: logs
  logStream: 127.0.0.1:$LOG_PORT
  killGrace: 10
scheduler:
  timers: true
  statusInterval: 1
web:
  listen: 127.0.0.1:$WEB_PORT
  publicUrl: http://127.0.0.1:$WEB_PORT
state:
  dir: state
log:
  level: info
  format: pretty
EOF
}

status() {
  load_ports
  local zk="stopped" sshd="stopped"
  alive "$BASE/zookeeper/zookeeper.pid" && zk="running, pid $(cat "$BASE/zookeeper/zookeeper.pid")"
  alive "$BASE/sshd/sshd.pid" && sshd="running, pid $(cat "$BASE/sshd/sshd.pid")"
  cat <<EOF
ZooKeeper      127.0.0.1:$ZK_PORT ($zk)   log: $BASE/zookeeper/zookeeper.log
bastion sshd   127.0.0.1:$SSH_PORT ($sshd)   user $(id -un), key $BASE/ssh/id_ed25519
repository     $BASE/repo.git (branch master)
config         $BASE/drawbridge.yaml   (web will listen on 127.0.0.1:$WEB_PORT)

  node bin/drawbridge.js config check --config $BASE/drawbridge.yaml
  node bin/drawbridge.js executor --config $BASE/drawbridge.yaml
  node bin/drawbridge.js web --config $BASE/drawbridge.yaml
  scripts/local-stack.sh stop
EOF
}

stop_one() {
  local name=$1 pidfile=$2
  if ! alive "$pidfile"; then
    rm -f "$pidfile"
    say "$name not running"
    return
  fi
  local pid
  pid=$(cat "$pidfile")
  kill "$pid"
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$pidfile"
  say "$name stopped"
}

case "${1:-start}" in
  start)
    load_ports
    setup_keys
    setup_repo
    start_zookeeper
    start_sshd
    write_config
    status
    ;;
  status) status ;;
  stop)
    stop_one "bastion sshd" "$BASE/sshd/sshd.pid"
    stop_one ZooKeeper "$BASE/zookeeper/zookeeper.pid"
    ;;
  clean)
    stop_one "bastion sshd" "$BASE/sshd/sshd.pid"
    stop_one ZooKeeper "$BASE/zookeeper/zookeeper.pid"
    rm -rf "$BASE"
    say "removed $BASE"
    ;;
  *) die "usage: $0 [start|status|stop|clean]" ;;
esac
