# A service's deploy lock on the host (Atelier's DeployLock): the folder ~/.atelier/deploy-<service>.lock, made
# with mkdir (atomic on POSIX, so of two deploys started together exactly one gets it), holding "owner": one
# key=value per line (service, operation, by, commit, since, token).
# Arguments (each quoted by Atelier): $1 action, $2 service, then
#   acquire: $3 token, $4 operation, $5 who, $6 commit (may be empty), $7 "break" to break a held lock first;
#   release: $3 token (the lock is removed only while its owner still has this token);
#   read:    nothing.
# Output: "atelier-lock <tag> key=value" lines, the tag saying whose owner record it is (acquired, held, broken,
# other) or a bare "atelier-lock <tag>" (free, released; held or broken with no owner record).
# Exit 0: done; 75: the lock is held by someone else; 65: a refused argument; 73: the lock cannot be created.
set -eu
action=$1 service=$2
case $service in '' | -* | *[!a-z0-9_-]*) echo "atelier: refused service name: $service" >&2; exit 65 ;; esac
dir=$HOME/.atelier
lock=$dir/deploy-$service.lock
nl='
'
cr=$(printf '\r')

# Prints the owner record of the lock folder $2 as "atelier-lock $1 key=value" lines ($1 is a fixed word).
show() {
  sed "s/^/atelier-lock $1 /" "$2/owner" 2>/dev/null || printf 'atelier-lock %s\n' "$1"
}

one_line() {
  case $1 in *"$nl"* | *"$cr"*) echo "atelier: the lock's $2 must be one line" >&2; exit 65 ;; esac
}

case $action in
  acquire)
    token=$3 operation=$4 by=$5 commit=$6 mode=$7
    case $token in '' | *[!0-9a-f]*) echo "atelier: refused lock token: $token" >&2; exit 65 ;; esac
    one_line "$operation" operation
    one_line "$by" holder
    one_line "$commit" commit
    umask 077
    mkdir -p "$dir"
    chmod 700 "$dir"
    # The owner record is written first, then moved into the new lock folder: readers never see half of it.
    staged=$dir/.lock-owner.$token
    trap 'rm -f "$staged"' EXIT
    trap 'exit 143' TERM INT HUP
    {
      printf 'service=%s\n' "$service"
      printf 'operation=%s\n' "$operation"
      printf 'by=%s\n' "$by"
      printf 'commit=%s\n' "$commit"
      printf 'since=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      printf 'token=%s\n' "$token"
    } > "$staged"
    if [ "$mode" = break ] && [ -d "$lock" ]; then
      # Renaming is atomic: a lock released meanwhile is simply not there to break.
      aside=$dir/.lock-broken.$token
      if mv "$lock" "$aside" 2>/dev/null; then
        show broken "$aside"
        rm -rf "$aside"
      fi
    fi
    tries=0
    until mkdir "$lock" 2>/dev/null; do
      if [ -d "$lock" ]; then
        # A holder between its mkdir and its owner record: give it a moment to write it.
        [ -f "$lock/owner" ] || sleep 1
        show held "$lock"
        exit 75
      fi
      tries=$((tries + 1))
      if [ "$tries" -ge 3 ]; then
        echo "atelier: cannot create the deploy lock $lock" >&2
        exit 73
      fi
    done
    mv "$staged" "$lock/owner"
    show acquired "$lock"
    ;;
  release)
    token=$3
    case $token in '' | *[!0-9a-f]*) echo "atelier: refused lock token: $token" >&2; exit 65 ;; esac
    if grep -qxF "token=$token" "$lock/owner" 2>/dev/null; then
      aside=$dir/.lock-released.$token
      mv "$lock" "$aside"
      rm -rf "$aside"
      echo "atelier-lock released"
    elif [ -d "$lock" ]; then
      show other "$lock"
    else
      echo "atelier-lock free"
    fi
    ;;
  read)
    if [ -d "$lock" ]; then show held "$lock"; else echo "atelier-lock free"; fi
    ;;
  *)
    echo "atelier: unknown lock action: $action" >&2
    exit 65
    ;;
esac
