#!/usr/bin/env bash
# A one-node Slurm on this machine from Debian's packages, for trying the deploy/slurm scripts and for tools/cluster/test-slurm.sh.
#   slurm-local.sh start   installs slurm-wlm and munge if missing (root + apt), writes a munge key and a slurm.conf naming
#                          this host, then starts munged, slurmctld and slurmd; state, spool, sockets and logs stay under
#                          one folder ($VCP_SLURM_DIR, default /tmp/vcp-slurm-local)
#   slurm-local.sh env     prints the export line: eval "$(tools/cluster/slurm-local.sh env)"; then sbatch, squeue, scancel
#   slurm-local.sh stop    stops the three daemons (by their pid files) and removes the folder
# Ports: $VCP_SLURM_PORT (slurmctld, default 16817) and the next one (slurmd), so a system Slurm on 6817 is not disturbed.
set -euo pipefail
dir="${VCP_SLURM_DIR:-/tmp/vcp-slurm-local}"
port="${VCP_SLURM_PORT:-16817}"
conf="$dir/slurm.conf"
host="$(hostname -s)"

die() { echo "slurm-local: $*" >&2; exit 1; }

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "slurm-wlm and munge are not installed and this is not root: install them (apt-get install slurm-wlm munge)"
  command -v apt-get >/dev/null || die "slurm-wlm and munge are not installed and there is no apt-get"
  echo "slurm-local: installing slurm-wlm and munge..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } \
    || die "apt-get install slurm-wlm munge failed"
}

stop_pid() { # pid file, name
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  [ -d "$dir" ] || return 0
  stop_pid "$dir/slurmd.pid"
  stop_pid "$dir/slurmctld.pid"
  stop_pid "$dir/munge/munged.pid"
  rm -rf "$dir"
}

start() {
  [ "$(id -u)" = 0 ] || die "start needs root (slurmd runs jobs as their users; munged and slurmctld run as root here)"
  install_packages
  [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null && die "already running in $dir (stop it first)"
  stop
  mkdir -p "$dir"/{state,spool,log,munge}
  chmod 700 "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
  local cpus
  cpus="$(nproc)"
  cat >"$conf" <<CONF
# One-node Slurm written by tools/cluster/slurm-local.sh; everything lives under $dir.
ClusterName=vcplocal
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF="$conf"
  slurmctld -f "$conf"
  slurmd -f "$conf"
  for _ in $(seq 100); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm-local: one-node Slurm up ($host, $cpus CPUs) in $dir; next: eval \"\$($0 env)\"" >&2
      return 0
    fi
    sleep 0.2
  done
  echo "slurm-local: the node did not come up; logs:" >&2
  tail -n 20 "$dir"/log/*.log >&2 || true
  stop
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    [ -f "$conf" ] || die "not started ($conf missing): run '$0 start' first"
    echo "export SLURM_CONF=$conf"
    ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
