# Appends one deploy record to the host's deploy history, ~/.atelier/deploys.jsonl (Atelier's HostHistory).
# Arguments (quoted by Atelier): $1 the record, one line of JSON.
# Writers never interleave: the append holds flock(1) on the file when the host has it, else a mkdir lock
# beside it (deploys.jsonl.lock) that is taken over after 10 s, when its holder must have died.
# A last line left without its newline (a writer killed mid-line) gets one first, so it cannot swallow this record.
# Exit 65: the record is empty or not one line; 75: the file stayed locked.
set -eu
line=$1
nl='
'
case $line in '' | *"$nl"* | *"$(printf '\r')"*)
  echo "atelier: a deploy history record must be one non-empty line" >&2; exit 65 ;;
esac
dir=$HOME/.atelier
file=$dir/deploys.jsonl
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

append() {
  if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then printf '\n' >> "$file"; fi
  printf '%s\n' "$line" >> "$file"
}

if command -v flock >/dev/null 2>&1; then
  exec 9>>"$file"
  flock -w 30 9 || { echo "atelier: the deploy history $file stayed locked for 30 s" >&2; exit 75; }
  append
else
  lock=$file.lock
  tries=0
  while ! mkdir "$lock" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 100 ]; then
      echo "atelier: taking over the deploy history lock $lock, held for 10 s" >&2
      rmdir "$lock" 2>/dev/null || true
      tries=0
    fi
    sleep 0.1 2>/dev/null || sleep 1
  done
  trap 'rmdir "$lock" 2>/dev/null || true' EXIT
  trap 'exit 143' TERM INT HUP
  append
fi
chmod 600 "$file"
