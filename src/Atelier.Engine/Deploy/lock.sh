# A service's deploy lock on the host, and its guard (Atelier's DeployLock). The lock is the folder
# ~/.atelier/deploy-<service>.lock; every change to it happens under a mutex (flock(1) on
# ~/.atelier/.deploy-<service>.mutex, else a mkdir lock), so of two deploys or two breakers only one wins.
# The folder holds:
#   owner         key=value lines: service, operation, by, commit, since, token, timeout, and what the deploy
#                 noted as it went (record, previous, snapshot, db, moved)
#   heartbeat     touched by the client while it lives (its mtime is the last sign of life)
#   step          the step running now; step.pgid: "<process group> <start time>" of its processes
#   guard.pid     "<pid> <start time>" of the guard; guard.sh, lock.sh, append.sh: the scripts it runs; guard.log:
#                 what it did (kept as ~/.atelier/guard-<service>.log when it took over, else gone with the lock)
#   record, plan/ the deploy's "started" history line and its put-back plan (written by arm)
#   decided/      made (atomically, with mkdir) by whoever ends the deploy: the client (finish) or the guard
# Arguments (each quoted by Atelier): $1 action, $2 service, then
#   acquire: $3 token, $4 operation, $5 who, $6 commit (may be empty), $7 "break" or "wait", $8 the guard's
#            timeout in seconds, $9 guard.sh, $10 append.sh, $11 this script (installed for the guard), $12 the
#            operation's "started" history line (kept for the guard, not written to the history), or empty,
#            $13 a maintenance lock's message (operation "maintenance": no heartbeat and no guard; it lives until
#            unlocked)
#   beat:    $3 token                       step: $3 token, $4 step name, key=value notes..., --, the command
#   arm:     $3 token, key=value notes..., --, the started history line, then pairs of plan item name and command
#   finish:  $3 token, $4 the outcome's history line (optional)        release, stop-step: $3 token
#   read:    nothing
#   unlock:  $3 a token (names the folder set aside), $4 who unlocks, $5 "force" or empty: removes the lock when
#            its holder is dead, or it is a maintenance lock of the same who; a live holder's only with force
#            (its guard is stopped first); a dead deploy that had moved the code only with force
# Output: "atelier-lock <tag> key=value" lines, the tag saying whose record it is (acquired, held, broken,
# other) or a bare "atelier-lock <tag>" (free, released, finished, alive, notice text...).
# Exit 0: done; 75: held by someone else; 76: the guard has taken over this deploy; 77: the lock is no longer
# this deploy's; 65: a refused argument; 73: the lock cannot be created.
set -eu
action=$1 service=$2
case $service in '' | -* | *[!a-z0-9_-]*) echo "atelier: refused service name: $service" >&2; exit 65 ;; esac
dir=$HOME/.atelier
lock=$dir/deploy-$service.lock
mutex=$dir/.deploy-$service.mutex
notice=$dir/deploy-$service.notice
nl='
'
cr=$(printf '\r')

# Prints the owner record of the lock folder $2 as "atelier-lock $1 key=value" lines, then its state.
show() {
  sed "s/^/atelier-lock $1 /" "$2/owner" 2>/dev/null || printf 'atelier-lock %s\n' "$1"
  [ -f "$2/owner" ] || return 0
  liveness "$2"
  printf 'atelier-lock %s alive=%s\natelier-lock %s why=%s\n' "$1" "$alive" "$1" "$why"
  if [ -f "$2/step" ]; then printf 'atelier-lock %s step=%s\n' "$1" "$(cat "$2/step")"; fi
  if [ -d "$2/decided" ]; then printf 'atelier-lock %s decided=%s\n' "$1" "$(cat "$2/decided/by" 2>/dev/null || echo someone)"; fi
}

one_line() {
  case $1 in *"$nl"* | *"$cr"*) echo "atelier: the lock's $2 must be one line" >&2; exit 65 ;; esac
}

check_token() {
  case $1 in '' | *[!0-9a-f]*) echo "atelier: refused lock token: $1" >&2; exit 65 ;; esac
}

# The value of key $1 in the owner record of lock folder $2 (empty when absent).
field() {
  sed -n "s/^$1=//p" "$2/owner" 2>/dev/null | head -n 1
}

ours() {
  grep -qxF "token=$token" "$lock/owner" 2>/dev/null
}

# The start time (clock ticks since boot) of process $1: with its pid, it names one process for good.
started_at() {
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# True when the file $1 holds "<pid> <start time>" of a live process.
process_lives() {
  [ -f "$1" ] || return 1
  read -r p t < "$1" || return 1
  [ -n "$p" ] && [ "$(started_at "$p")" = "$t" ]
}

# True when the step recorded in lock folder $1 still has processes: its process group, if the group's leader
# is the recorded one, or if the leader is gone (a pid is never reused while its group has members).
step_lives() {
  [ -f "$1/step.pgid" ] || return 1
  read -r g t < "$1/step.pgid" || return 1
  [ -n "$g" ] || return 1
  if [ -r "/proc/$g/stat" ] && [ "$(started_at "$g")" != "$t" ]; then return 1; fi
  kill -0 "-$g" 2>/dev/null
}

# Sets alive (yes, no, unknown) and why, for the lock folder $1.
liveness() {
  if [ "$(field operation "$1")" = maintenance ]; then
    alive=yes why="a maintenance lock, held until Unlock-ServiceDeploy: $(field message "$1")"
    return
  fi
  t=$(field timeout "$1")
  if [ -z "$t" ]; then
    alive=unknown why="a lock without a heartbeat, taken by an older Atelier"
    return
  fi
  if [ -d "$1/decided" ] && process_lives "$1/guard.pid"; then
    alive=yes why="its guard (pid $(cut -d' ' -f1 "$1/guard.pid")) is putting the service back"
    return
  fi
  if [ -f "$1/heartbeat" ]; then
    age=$(( $(date +%s) - $(stat -c %Y "$1/heartbeat") ))
    if [ "$age" -le "$t" ]; then
      alive=yes why="its client's last heartbeat was ${age} s ago"
      return
    fi
  fi
  if step_lives "$1"; then
    alive=yes why="its $(cat "$1/step" 2>/dev/null || echo current) step is still running (process group $(cut -d' ' -f1 "$1/step.pgid"))"
    return
  fi
  if process_lives "$1/guard.pid"; then
    alive=yes why="its guard (pid $(cut -d' ' -f1 "$1/guard.pid")) is about to take over"
    return
  fi
  alive=no why="no heartbeat for ${age:-?} s, no guard and no step running"
}

# Runs "$@" holding the service's mutex: flock(1) when the host has it, else a mkdir lock taken over after 10 s.
locked() {
  umask 077
  mkdir -p "$dir"
  chmod 700 "$dir"
  if command -v flock >/dev/null 2>&1; then
    exec 8>>"$mutex"
    flock -w 30 8 || { echo "atelier: the lock mutex $mutex stayed held for 30 s" >&2; exit 73; }
    "$@"
    flock -u 8
  else
    tries=0
    while ! mkdir "$mutex.d" 2>/dev/null; do
      tries=$((tries + 1))
      if [ "$tries" -ge 100 ]; then rmdir "$mutex.d" 2>/dev/null || true; tries=0; fi
      sleep 0.1 2>/dev/null || sleep 1
    done
    trap 'rmdir "$mutex.d" 2>/dev/null || true' EXIT
    "$@"
    rmdir "$mutex.d" 2>/dev/null || true
    trap - EXIT
  fi
}

# Replaces or adds key=value notes in the owner record ("$@"), atomically.
note() {
  cp "$lock/owner" "$lock/.owner.new"
  for kv in "$@"; do
    k=${kv%%=*}
    case $k in '' | *[!a-z]*) echo "atelier: refused lock note: $kv" >&2; exit 65 ;; esac
    one_line "$kv" note
    grep -v "^$k=" "$lock/.owner.new" > "$lock/.owner.tmp" || true
    printf '%s\n' "$kv" >> "$lock/.owner.tmp"
    mv -f "$lock/.owner.tmp" "$lock/.owner.new"
  done
  mv -f "$lock/.owner.new" "$lock/owner"
}

# Kills the processes of the recorded step (TERM, then KILL after 2 s) and waits until they are gone.
stop_step() {
  [ -f "$lock/step.pgid" ] || return 0
  read -r g t < "$lock/step.pgid" || return 0
  if [ -z "$g" ] || { [ -r "/proc/$g/stat" ] && [ "$(started_at "$g")" != "$t" ]; }; then return 0; fi
  kill -TERM "-$g" 2>/dev/null || return 0
  i=0
  while kill -0 "-$g" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -eq 20 ]; then kill -KILL "-$g" 2>/dev/null || true; fi
    [ "$i" -lt 40 ] || break
    sleep 0.1
  done
  echo "atelier-lock stopped-step $g"
}

take() {
  if [ -d "$lock" ]; then
    if [ "$mode" = break ]; then
      liveness "$lock"
      if [ "$alive" = yes ]; then
        show held "$lock"
        printf 'atelier-lock live %s\n' "$why"
        exit 75
      fi
      # Renaming is atomic, and under the mutex nobody takes the lock between the check and the break.
      aside=$dir/.lock-broken.$token
      mv "$lock" "$aside"
      show broken "$aside"
      rm -rf "$aside"
    else
      # A holder between its mkdir and its owner record: give it a moment to write it.
      [ -f "$lock/owner" ] || sleep 1
      show held "$lock"
      exit 75
    fi
  fi
  mkdir "$lock" || { echo "atelier: cannot create the deploy lock $lock" >&2; exit 73; }
  {
    printf 'service=%s\n' "$service"
    printf 'operation=%s\n' "$operation"
    printf 'by=%s\n' "$by"
    printf 'commit=%s\n' "$commit"
    printf 'since=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'token=%s\n' "$token"
    printf 'timeout=%s\n' "$timeout"
    if [ "$operation" = maintenance ]; then printf 'message=%s\n' "$message"; fi
  } > "$lock/.owner.new"
  mv "$lock/.owner.new" "$lock/owner"
  if [ "$operation" = maintenance ]; then
    printf 'maintenance\n' > "$lock/step"
    show acquired "$lock"
    return
  fi
  touch "$lock/heartbeat"
  printf 'lock\n' > "$lock/step"
  if [ -n "$record" ]; then printf '%s\n' "$record" > "$lock/record"; fi
  printf '%s' "$guard_script" > "$lock/guard.sh"
  printf '%s' "$append_script" > "$lock/append.sh"
  printf '%s' "$lock_script" > "$lock/lock.sh"
  start_guard
  show acquired "$lock"
  if [ -f "$notice" ]; then
    sed 's/^[0-9a-f]* /atelier-lock notice /' "$notice"
    rm -f "$notice"
  fi
}

# Starts the guard detached from this SSH session (its own session: the connection's end does not end it).
start_guard() {
  log=$lock/guard.log
  if command -v setsid >/dev/null 2>&1; then
    setsid sh "$lock/guard.sh" "$service" "$token" < /dev/null >> "$log" 2>&1 &
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import os, sys; os.setsid(); os.execvp("sh", ["sh"] + sys.argv[1:])' "$lock/guard.sh" "$service" "$token" < /dev/null >> "$log" 2>&1 &
  else
    nohup sh "$lock/guard.sh" "$service" "$token" < /dev/null >> "$log" 2>&1 &
  fi
  i=0
  until [ -f "$lock/guard.pid" ]; do
    i=$((i + 1))
    [ "$i" -lt 200 ] || { echo "atelier: the guard did not start (see $log)" >&2; exit 73; }
    sleep 0.025
  done
}

# The client ends its deploy: it wins unless the guard has taken over; the guard is stopped and the lock removed.
finish() {
  if ! ours; then
    # Not ours any more: either the guard took over, finished and released it (its notice names our token), or
    # someone broke it.
    if grep -q "^$token " "$notice" 2>/dev/null; then echo "atelier-lock taken-over"; exit 76; fi
    echo "atelier-lock lost"
    exit 77
  fi
  if ! mkdir "$lock/decided" 2>/dev/null; then
    show taken-over "$lock"
    exit 76
  fi
  echo client > "$lock/decided/by"
  if [ -n "$line" ]; then
    sh "$lock/append.sh" "$line" || echo "atelier: the outcome could not be recorded in the host's deploy history" >&2
  fi
  if [ -f "$lock/guard.pid" ]; then
    read -r p t < "$lock/guard.pid" || p=
    if process_lives "$lock/guard.pid"; then
      kill -TERM "$p" 2>/dev/null || true
      i=0
      while process_lives "$lock/guard.pid" && [ "$i" -lt 30 ]; do i=$((i + 1)); sleep 0.1; done
    fi
  fi
  aside=$dir/.lock-released.$token
  mv "$lock" "$aside"
  rm -rf "$aside"
  echo "atelier-lock finished"
}

release() {
  if ours; then
    aside=$dir/.lock-released.$token
    mv "$lock" "$aside"
    rm -rf "$aside"
    echo "atelier-lock released"
  elif [ -d "$lock" ]; then
    show other "$lock"
  else
    echo "atelier-lock free"
  fi
}

# Removes the lock for Unlock-ServiceDeploy (see unlock above).
unlock() {
  if [ ! -d "$lock" ]; then echo "atelier-lock free"; return; fi
  liveness "$lock"
  if [ "$force" != force ]; then
    if [ "$alive" = yes ] && ! { [ "$(field operation "$lock")" = maintenance ] && [ "$(field by "$lock")" = "$by" ]; }; then
      show held "$lock"
      printf 'atelier-lock live %s\n' "$why"
      exit 75
    fi
    if [ "$alive" != yes ] && [ "$(field moved "$lock")" = yes ]; then
      show held "$lock"
      echo "atelier-lock moved"
      exit 75
    fi
  fi
  if [ ! -d "$lock/decided" ] && process_lives "$lock/guard.pid"; then
    read -r p t < "$lock/guard.pid" || p=
    kill -TERM "$p" 2>/dev/null || true
    i=0
    while process_lives "$lock/guard.pid" && [ "$i" -lt 30 ]; do i=$((i + 1)); sleep 0.1; done
  fi
  aside=$dir/.lock-unlocked.$token
  mv "$lock" "$aside"
  show unlocked "$aside"
  rm -rf "$aside"
}

arm() {
  ours || { echo "atelier-lock lost"; exit 77; }
  [ ! -d "$lock/decided" ] || { show taken-over "$lock"; exit 76; }
  note "$@"
}

case $action in
  acquire)
    token=$3 operation=$4 by=$5 commit=$6 mode=$7 timeout=$8 guard_script=$9
    shift 9
    append_script=$1 lock_script=$2 record=${3-} message=${4-}
    check_token "$token"
    one_line "$message" message
    one_line "$operation" operation
    one_line "$by" holder
    one_line "$commit" commit
    one_line "$record" record
    case $timeout in '' | *[!0-9]*) echo "atelier: refused guard timeout: $timeout" >&2; exit 65 ;; esac
    locked take
    ;;
  beat)
    token=$3
    check_token "$token"
    ours || { echo "atelier-lock lost"; exit 77; }
    if [ -d "$lock/decided" ]; then show taken-over "$lock"; exit 76; fi
    touch "$lock/heartbeat"
    echo "atelier-lock alive"
    ;;
  step)
    token=$3 name=$4
    shift 4
    check_token "$token"
    case $name in '' | -* | *[!a-z:\ -]*) echo "atelier: refused step name: $name" >&2; exit 65 ;; esac
    ours || { echo "atelier: the deploy lock of $service is no longer this deploy's" >&2; exit 77; }
    notes=
    while [ "$1" != -- ]; do notes="$notes$nl$1"; shift; done
    shift
    printf '%s\n' "$name" > "$lock/.step.new"
    mv -f "$lock/.step.new" "$lock/step"
    if [ -n "$notes" ]; then
      # shellcheck disable=SC2086 # one note a line, each a key=value word without spaces in its key
      old_ifs=$IFS IFS=$nl
      set -f
      locked note $notes
      set +f
      IFS=$old_ifs
    fi
    # The step's process group, when it has a session of its own (as sshd gives each command): never a group it
    # shares with whoever started it.
    set -- "$1" $(sed 's/^.*) //' /proc/$$/stat | cut -d' ' -f3,4)
    if [ "${2-}" = "${3-}" ] && [ -n "${2-}" ]; then
      printf '%s %s\n' "$2" "$(started_at "$2")" > "$lock/.pgid.new"
      mv -f "$lock/.pgid.new" "$lock/step.pgid"
    else
      rm -f "$lock/step.pgid"
    fi
    # Checked after the process group is recorded: a guard that takes over from here on also stops this step.
    if [ -d "$lock/decided" ]; then echo "atelier: the guard has taken over this deploy of $service" >&2; exit 76; fi
    exec sh -c "$1"
    ;;
  arm)
    token=$3
    shift 3
    check_token "$token"
    ours || { echo "atelier-lock lost"; exit 77; }
    notes=
    while [ "$1" != -- ]; do notes="$notes$nl$1"; shift; done
    shift
    record=$1
    shift
    one_line "$record" record
    rm -rf "$lock/.plan.new"
    mkdir "$lock/.plan.new"
    n=10
    while [ $# -ge 2 ]; do
      printf '%s\n' "$1" > "$lock/.plan.new/$n.name"
      printf '%s\n' "$2" > "$lock/.plan.new/$n.sh"
      n=$((n + 1))
      shift 2
    done
    old_ifs=$IFS IFS=$nl
    set -f
    # shellcheck disable=SC2086
    locked arm $notes
    set +f
    IFS=$old_ifs
    rm -rf "$lock/plan"
    mv "$lock/.plan.new" "$lock/plan"
    printf '%s\n' "$record" > "$lock/record"
    sh "$lock/append.sh" "$record"
    echo "atelier-lock armed"
    ;;
  finish)
    token=$3 line=${4-}
    check_token "$token"
    one_line "$line" record
    locked finish
    ;;
  release)
    token=$3
    check_token "$token"
    locked release
    ;;
  stop-step)
    token=$3
    check_token "$token"
    ours || { echo "atelier-lock lost"; exit 77; }
    stop_step
    ;;
  read)
    if [ -d "$lock" ]; then show held "$lock"; else echo "atelier-lock free"; fi
    ;;
  unlock)
    token=$3 by=$4 force=${5-}
    check_token "$token"
    one_line "$by" holder
    locked unlock
    ;;
  *)
    echo "atelier: unknown lock action: $action" >&2
    exit 65
    ;;
esac
