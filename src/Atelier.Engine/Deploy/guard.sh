# The guard of one deploy or restore (Atelier's DeployLock): started by lock.sh acquire in its own session, as the
# service's user, detached from the SSH connection. It watches the lock folder ~/.atelier/deploy-<service>.lock:
# while the client's heartbeat is fresher than the lock's timeout it only waits; it exits as soon as the client
# ends the deploy (decided/ made by lock.sh finish) or the lock is no longer this deploy's. When the client falls
# silent, it takes the decision (mkdir decided, atomic against a late finish), stops the step the client left
# running, runs the deploy's put-back plan (stop, database, checkout, install, build, start: the commands the
# client wrote with arm, the same ones its own rollback runs), waits for health, closes the deploy's history
# record with the outcome and why, leaves a notice for the next deploy, and releases the lock.
# Arguments: $1 service, $2 the lock's token. Output: its log, in the lock folder; kept as ~/.atelier/guard-<service>.log
# when it took over (a client that finishes in time leaves nothing of its guard behind).
set -u
service=$1 token=$2
dir=$HOME/.atelier
lock=$dir/deploy-$service.lock
notice=$dir/deploy-$service.notice
log=$dir/guard-$service.log
cd "$HOME" || exit 1

say() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$service" "$*"; }
field() { sed -n "s/^$1=//p" "$lock/owner" 2>/dev/null | head -n 1; }
ours() { grep -qxF "token=$token" "$lock/owner" 2>/dev/null; }
started_at() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

printf '%s %s\n' "$$" "$(started_at $$)" > "$lock/.guard.pid.new" && mv -f "$lock/.guard.pid.new" "$lock/guard.pid"
sleeper= last= failed= healthy=null
trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM INT HUP
say "guarding the $(field operation) by $(field by) (timeout $(field timeout) s)"

# One HTTP GET of $1: prints the status code, or 0 when nothing answered (curl, else bun, else python3).
http_code() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || echo 0
  elif command -v bun >/dev/null 2>&1; then
    ATELIER_URL=$1 bun -e 'try { const r = await fetch(process.env.ATELIER_URL, { signal: AbortSignal.timeout(5000) }); console.log(r.status); } catch { console.log(0); }' 2>/dev/null || echo 0
  elif command -v python3 >/dev/null 2>&1; then
    ATELIER_URL=$1 python3 -c '
import os, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(os.environ["ATELIER_URL"], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)' 2>/dev/null || echo 0
  else
    echo 0
  fi
}

# True once the service answers: its health URL with a 2xx, else its unit active, running, and not restarting.
healthy_once() {
  if [ -n "$url" ]; then
    code=$(http_code "$url")
    last="HTTP $code"
    case $code in 2??) return 0 ;; esac
    return 1
  fi
  s1=$(systemctl show "$service.service" -p ActiveState -p SubState -p NRestarts 2>/dev/null | tr '\n' ' ')
  case $s1 in *ActiveState=active*SubState=running*) ;; *) last=$s1; return 1 ;; esac
  sleep 2
  s2=$(systemctl show "$service.service" -p ActiveState -p SubState -p NRestarts 2>/dev/null | tr '\n' ' ')
  last=$s2
  [ "$s1" = "$s2" ]
}

wait_healthy() {
  url=$(field url) limit=$(field healthtimeout)
  deadline=$(( $(date +%s) + ${limit:-60} ))
  while :; do
    if healthy_once; then return 0; fi
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Runs the put-back plan from the item named $1 (or from its start when no item has that name).
put_back() {
  from=$1 started=no failed=
  stopped=no
  for f in "$lock"/plan/*.name; do
    [ -f "$f" ] || continue
    name=$(cat "$f")
    if [ "$started" = no ]; then
      if grep -qxF "$from" "$lock"/plan/*.name 2>/dev/null && [ "$name" != "$from" ]; then continue; fi
      started=yes
    fi
    case $name in *stop) stopped=yes ;; esac
    printf 'guard: %s\n' "$name" > "$lock/step"
    case $name in
      health | *": health")
        say "waiting for health"
        if wait_healthy; then healthy=true; say "healthy ($last)"; else healthy=false; say "unhealthy: $last"; fi
        continue ;;
    esac
    say "$name"
    if ! sh "${f%.name}.sh"; then
      failed=$name
      say "$name failed"
      break
    fi
  done
  if [ -n "$failed" ] && [ "$stopped" = yes ]; then
    # The unit was stopped: start it all the same (a down service helps nobody), and say so.
    for f in "$lock"/plan/*.name; do
      case $(cat "$f") in *start) say "starting the unit after the failure"; sh "${f%.name}.sh" || true ;; esac
    done
    healthy=false
  fi
}

# Closes the deploy's "started" history record: status $1, error $2 (plain words: no quotes or backslashes).
close_record() {
  [ -f "$lock/record" ] || return 0
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  begun=$(sed -n 's/.*"startedAt":"\([^"]*\)".*/\1/p' "$lock/record")
  ms=$(( $(date -u +%s%3N) - $(date -u -d "$begun" +%s%3N 2>/dev/null || date -u +%s%3N) ))
  [ "$ms" -ge 0 ] || ms=0
  line=$(sed -e "s|\"status\":\"Started\"|\"status\":\"$1\"|" \
             -e "s|\"finishedAt\":\"[^\"]*\"|\"finishedAt\":\"$now\"|" \
             -e "s|\"durationMs\":[0-9]*|\"durationMs\":$ms|" \
             -e 's|,"step":"[^"]*"||' \
             -e "s|}\$|,\"failedStep\":\"$lost\",\"error\":\"$2\",\"healthy\":$healthy}|" "$lock/record")
  sh "$lock/append.sh" "$line" || say "could not record the outcome in the deploy history"
}

take_over() {
  trap '' TERM INT HUP
  lost=$(cat "$lock/step" 2>/dev/null || echo lock)
  case $lost in '' | -* | *[!a-z:\ -]*) lost=unknown ;; esac
  operation=$(field operation)
  say "the client fell silent at the $lost step (no heartbeat for $age s): taking over"
  sh "$lock/lock.sh" stop-step "$service" "$token" || true
  healthy=null
  if [ "$(field moved)" != yes ]; then
    status=Failed
    detail="Client lost at the $lost step; nothing had changed on the host. The guard stopped the step and released the lock."
  elif [ "$lost" = post-deploy ]; then
    # The deploy was healthy before its post-deploy hook began: a hook never rolls a deploy back.
    status=Succeeded healthy=true
    detail="Client lost during the post-deploy hook of a healthy deploy; the guard stopped the hook and put nothing back."
  else
    put_back "$lost"
    previous=$(field previous)
    if [ -n "$failed" ]; then
      status=$([ "$operation" = restore ] && echo Failed || echo RollbackFailed)
      detail="Client lost at the $lost step; the guard's put-back failed at its $failed step (see ~/.atelier/guard-$service.log)."
    elif [ "$healthy" = true ]; then
      status=$([ "$operation" = restore ] && echo Succeeded || echo RolledBack)
      detail="Client lost at the $lost step; the guard put back $previous and it is healthy ($last)."
    else
      status=$([ "$operation" = restore ] && echo Failed || echo RollbackFailed)
      detail="Client lost at the $lost step; the guard put back $previous but it is not healthy ($last)."
    fi
    detail=$(printf '%s' "$detail" | tr -d '"\\|&')
  fi
  close_record "$status" "$detail"
  say "$status: $detail"
  # The notice starts with this lock's token: a client that finishes late learns from it that its guard took over.
  printf '%s %s %s of %s by %s: %s %s\n' "$token" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$operation" "$(field commit)" "$(field by)" "$status." "$detail" > "$notice"
  say "done"
  # What the guard did outlives the lock: the log of its last takeover.
  cp "$lock/guard.log" "$log" 2>/dev/null || true
  sh "$lock/lock.sh" release "$service" "$token" > /dev/null || say "could not release the lock" >> "$log"
  exit 0
}

while :; do
  ours || exit 0
  [ ! -d "$lock/decided" ] || exit 0
  timeout=$(field timeout)
  age=$(( $(date +%s) - $(stat -c %Y "$lock/heartbeat" 2>/dev/null || echo 0) ))
  if [ "$age" -gt "${timeout:-30}" ]; then
    if mkdir "$lock/decided" 2>/dev/null; then
      echo guard > "$lock/decided/by"
      take_over
    fi
    exit 0
  fi
  sleep 1 &
  sleeper=$!
  wait "$sleeper"
done
