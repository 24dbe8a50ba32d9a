# Helpers the harness scripts share; sourced by control-plane.sh, node.sh
# and e2e-install.sh.

# proc_in ROOT NAME: prints the pid of NAME (started with launch_in ROOT) if
# it runs and its command line names ROOT (a pid may have been reused).
proc_in() {
  local f="$1/pids/$2.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1/" || return 1
  echo "$pid"
}

# launch_in ROOT NAME CMD...: starts CMD in a new session (a Ctrl-C meant for
# the caller does not hit it), stdin and stdout detached (a caller reading our
# output sees EOF when we exit), output appended to ROOT/logs/NAME.log, pid
# in ROOT/pids/NAME.pid.
launch_in() {
  local root=$1 name=$2
  shift 2
  setsid "$@" </dev/null >>"$root/logs/$name.log" 2>&1 &
  echo $! >"$root/pids/$name.pid"
}

# poll SECONDS CMD...: succeeds as soon as CMD does (tried every 0.2 s),
# fails after SECONDS.
poll() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}
