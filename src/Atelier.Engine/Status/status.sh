# What Get-ServiceStatus reads of one service in its account on the host (Atelier's ServiceStatusReader), in one
# run: the deployed commit and its subject; origin's branch, fetched first (unless told not to, and never while a
# deploy holds the service's lock: that deploy fetches itself; the fetch holds the lock's mutex, so a deploy starting
# meanwhile waits for it) and how many commits each side has that the other has not; the unit's state; and the host
# history's newest records of the service.
# Arguments (each quoted by Atelier): $1 service, $2 branch, $3 "fetch" or "nofetch", $4 the fetch's timeout in
# seconds.
# Output: "atelier-status <key> <value>" lines, every one of them prefixed (what git, systemctl or the history file
# say is never a line of its own). It always exits 0: what could not be read says so in its own line.
set -u
umask 077
service=$1 branch=$2 fetch=$3 fetch_timeout=$4
case $service in '' | -* | *[!a-z0-9_-]*) echo "atelier: refused service name: $service" >&2; exit 65 ;; esac
case $fetch_timeout in '' | *[!0-9]*) echo "atelier: refused fetch timeout: $fetch_timeout" >&2; exit 65 ;; esac
say() { printf 'atelier-status %s %s\n' "$1" "$2"; }
# Each line of $2 as an "atelier-status $1 ..." line (at most the last 5).
lines() { printf '%s\n' "$2" | tail -n 5 | sed "s/^/atelier-status $1 /"; }

# Fetches origin's branch: no FETCH_HEAD (a deploy's fetch of a revision reads its own; git 2.29 or later), no
# automatic gc or maintenance, no prompt, at most $fetch_timeout seconds when the host has timeout(1).
fetch_origin() {
  t=
  if command -v timeout >/dev/null 2>&1; then t="timeout $fetch_timeout"; fi
  if out=$(GIT_TERMINAL_PROMPT=0 $t git -c gc.auto=0 -c maintenance.auto=false fetch --quiet --no-write-fetch-head origin "$branch" 2>&1); then
    say fetch ok
  else
    say fetch failed
    lines fetch-error "$out"
  fi
}

say now "$(date +%s)"
app=$HOME/app
if [ ! -d "$app" ]; then
  say git-error "$app does not exist"
elif ! head=$(cd "$app" && git rev-parse --verify --quiet 'HEAD^{commit}' 2>&1); then
  lines git-error "${head:-$app has no commit checked out}"
else
  say head "$head"
  cd "$app"
  git log -1 --format='atelier-status subject %s' "$head" 2>/dev/null || true
  if [ "$fetch" = fetch ]; then
    lock=$HOME/.atelier/deploy-$service.lock
    mutex=$HOME/.atelier/.deploy-$service.mutex
    if [ -d "$HOME/.atelier" ] && command -v flock >/dev/null 2>&1; then
      # Under the lock's own mutex (lock.sh's): a deploy that takes the lock meanwhile waits for this fetch to end
      # rather than fetching beside it. A mutex held for 2 s is a deploy taking the lock: no fetch then either.
      exec 8>>"$mutex"
      if flock -w 2 8; then
        if [ -d "$lock" ]; then say fetch locked; else fetch_origin; fi
        flock -u 8
      else
        say fetch locked
      fi
      exec 8>&-
    elif [ -d "$lock" ]; then
      say fetch locked
    else
      fetch_origin
    fi
  else
    say fetch off
  fi
  if origin=$(git rev-parse --verify --quiet "refs/remotes/origin/$branch^{commit}" 2>/dev/null); then
    say origin "$origin"
    counts=$(git rev-list --left-right --count "$head...$origin" 2>&1) && say counts "$counts" || lines git-error "$counts"
  else
    say git-error "origin/$branch is not known in $app (never fetched, or origin has no such branch)"
  fi
fi

if unit=$(TZ=UTC LC_ALL=C systemctl show "$service.service" \
  --property=LoadState,ActiveState,SubState,NRestarts,Result,ExecMainStatus,MainPID,ActiveEnterTimestamp,InvocationID 2>&1); then
  printf '%s\n' "$unit" | sed 's/^/atelier-status unit /'
else
  lines unit-error "${unit:-systemctl show failed}"
fi

history=$HOME/.atelier/deploys.jsonl
if [ -f "$history" ]; then
  # The service's newest lines (a record is written when it starts and again when it ends, under one id).
  grep -F "\"service\":\"$service\"" "$history" 2>/dev/null | tail -n 20 | sed 's/^/atelier-status history /'
fi
exit 0
