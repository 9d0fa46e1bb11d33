# Takes an online, consistent snapshot of a live SQLite database (Atelier's Backup-ServiceDb).
# Arguments (each quoted by Atelier): $1 database path (absolute, ~/..., or relative to $HOME), $2 how many
# snapshots of this database to keep, $3 tool (auto, sqlite3, bun, python3), $4 "plan" to only print the plan.
# Output: "atelier-snapshot <path> <bytes> <tool> <commit> <stamp>" on success; errors on stderr, exit 65-69 (or the
# tool's own exit code when VACUUM INTO fails, e.g. SQLITE_FULL on a full disk), 143 on TERM, INT or HUP.
# A failed snapshot leaves nothing in ~/.atelier/snapshots: its temporary file (named per run) and the -journal, -wal
# and -shm files SQLite may have made beside it are removed on every way out.
set -eu
db=$1 keep=$2 want=$3 mode=${4:-run}
case $db in "~/"*) db=$HOME/${db#"~/"} ;; /*) ;; *) db=$HOME/$db ;; esac
dir=$HOME/.atelier/snapshots

sqlite3_ok() {
  command -v sqlite3 >/dev/null 2>&1 || return 1
  # VACUUM INTO needs SQLite 3.27 or later.
  v=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1)
  major=${v%%.*} rest=${v#*.} minor=${rest%%.*}
  [ "${major:-0}" -gt 3 ] || { [ "${major:-0}" -eq 3 ] && [ "${minor:-0}" -ge 27 ]; }
}
pick_tool() {
  case $want in
    auto) if sqlite3_ok; then echo sqlite3; elif command -v bun >/dev/null 2>&1; then echo bun;
          elif command -v python3 >/dev/null 2>&1; then echo python3; else echo none; fi ;;
    sqlite3) if sqlite3_ok; then echo sqlite3; else echo none; fi ;;
    *) if command -v "$want" >/dev/null 2>&1; then echo "$want"; else echo none; fi ;;
  esac
}

tool=$(pick_tool)
if [ "$tool" = none ]; then
  echo "atelier: cannot snapshot: no SQLite tool on this host for user $(id -un) (looked for: sqlite3 3.27+, bun, python3 on PATH=$PATH; wanted: $want)" >&2
  exit 69
fi
[ -f "$db" ] || { echo "atelier: no database file at $db" >&2; exit 66; }
commit=$(git -C "$HOME/app" rev-parse --short=12 HEAD 2>/dev/null || echo nocommit)
stamp=$(date -u +%Y%m%dT%H%M%S%3NZ)
base=$(basename "$db")
case $base in ?*.db) base=${base%.db} ;; ?*.sqlite3) base=${base%.sqlite3} ;; ?*.sqlite) base=${base%.sqlite} ;; esac
name=$base.$stamp.$commit.db
if [ "$mode" = plan ]; then
  echo "atelier-plan $db -> $dir/$name with $tool, keeping $keep"
  exit 0
fi

umask 077
mkdir -p "$dir"
chmod 700 "$HOME/.atelier" "$dir"
tmp=$dir/.$name.$$.partial
discard() { rm -f "$tmp" "$tmp-journal" "$tmp-wal" "$tmp-shm"; }
discard
trap discard EXIT
trap 'trap "" TERM INT HUP; discard; exit 143' TERM INT HUP
# The tool says what went wrong; this says where, and how much room there was (a full disk is the usual cause).
vacuum_failed() {
  discard
  size=$(stat -c %s "$db" 2>/dev/null) || size=
  free=$(df -B1 --output=avail "$dir" 2>/dev/null | tail -n 1 | tr -d ' ') || free=
  echo "atelier: the snapshot of $db (${size:-?} bytes) into $dir with $tool failed (exit code $1); ${free:-?} bytes are free there" >&2
  exit "$1"
}

case $tool in
  sqlite3)
    sql_tmp=$(printf '%s' "$tmp" | sed "s/'/''/g")
    sqlite3 -bail "$db" ".timeout 30000" "VACUUM INTO '$sql_tmp'" || vacuum_failed $?
    check=$(sqlite3 "$tmp" "PRAGMA integrity_check")
    ;;
  bun)
    check=$(ATELIER_DB=$db ATELIER_TMP=$tmp bun -e '
      const { Database } = require("bun:sqlite");
      const live = new Database(process.env.ATELIER_DB, { create: false });
      live.exec("PRAGMA busy_timeout = 30000");
      live.query("VACUUM INTO ?").run(process.env.ATELIER_TMP);
      live.close();
      const copy = new Database(process.env.ATELIER_TMP, { readonly: true });
      console.log(copy.query("PRAGMA integrity_check").all().map(r => Object.values(r)[0]).join("\n"));
      copy.close();') || vacuum_failed $?
    ;;
  python3)
    check=$(ATELIER_DB=$db ATELIER_TMP=$tmp python3 -c '
import os, sqlite3
live = sqlite3.connect(os.environ["ATELIER_DB"], timeout=30, isolation_level=None)
live.execute("VACUUM INTO ?", (os.environ["ATELIER_TMP"],))
live.close()
copy = sqlite3.connect(os.environ["ATELIER_TMP"])
print("\n".join(row[0] for row in copy.execute("PRAGMA integrity_check")))
copy.close()') || vacuum_failed $?
    ;;
esac

if [ "$check" != ok ]; then
  echo "atelier: the snapshot failed PRAGMA integrity_check: $check" >&2
  exit 65
fi
chmod 600 "$tmp"
rm -f "$tmp-journal" "$tmp-wal" "$tmp-shm"
mv "$tmp" "$dir/$name"
trap - EXIT TERM INT HUP

# Keep the newest $keep snapshots of this database (names sort by time).
ls -1 "$dir" | grep -E "^$(printf '%s' "$base" | sed 's/[.[\*^$+]/\\&/g')\.[0-9]{8}T[0-9]{9}Z\.[0-9a-z]+\.db$" | sort -r | tail -n +"$((keep + 1))" |
  while IFS= read -r old; do rm -f "$dir/$old" && echo "pruned $dir/$old"; done

echo "atelier-snapshot $dir/$name $(stat -c %s "$dir/$name") $tool $commit $stamp"
