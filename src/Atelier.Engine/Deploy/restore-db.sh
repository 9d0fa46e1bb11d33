# Puts a snapshot back in place of a stopped service's SQLite database (a deploy's rollback, Restore-ServiceDeploy),
# or checks, before anything is stopped, that the restore can fit.
# Arguments (each quoted by Atelier): $1 "check" or "restore", $2 the snapshot, $3 the database (absolute, ~/..., or
# relative to $HOME), $4 (restore only) this restore's tag, 1 to 64 of [0-9a-z], which names its temporary file.
#
# check: measures the free space of the database's file system (what an unprivileged user may use) against the
#   snapshot's size plus a margin of max(1 MiB, 2 % of the snapshot), and prints
#   "atelier-space needed=<bytes> available=<bytes> snapshot=<bytes> mount=<mount point>". Exit 0 when it fits.
# restore: copies the snapshot to <db>.atelier-restore.<tag> beside the database, gives the copy the database's mode
#   (it runs as the database's user, so the copy has its owner), sets the live -wal, -shm and -journal aside under
#   the same temporary name, renames the copy over the database and deletes what was set aside. Prints
#   "restored <db> from <snapshot>". On any failure, a signal included, the temporary goes and the database and its
#   -wal, -shm and -journal are left as they were. Temporaries of other tags are never touched.
# Exit codes (errors on stderr, "atelier: ..."): 64 bad arguments, 66 the snapshot is gone, 71 the free space could
# not be measured, 73 the copy could not be put in place, 74 the copy could not be written (a full disk), 75 (check)
# the restore would not fit, 77 the copy could not take the database's mode, 129/130/143 HUP/INT/TERM.
set -eu
op=${1-} snap=${2-} db=${3-} tag=${4-}
fail() { code=$1; shift; echo "atelier: $*" >&2; exit "$code"; }
case $op in check | restore) ;; *) fail 64 "usage: restore-db.sh check|restore <snapshot> <database> [<tag>]" ;; esac
[ -n "$snap" ] && [ -n "$db" ] || fail 64 "usage: restore-db.sh check|restore <snapshot> <database> [<tag>]"
case $snap in "~/"*) snap=$HOME/${snap#"~/"} ;; /*) ;; *) snap=$HOME/$snap ;; esac
case $db in "~/"*) db=$HOME/${db#"~/"} ;; /*) ;; *) db=$HOME/$db ;; esac
[ -f "$snap" ] || fail 66 "the snapshot $snap is gone"

if [ "$op" = check ]; then
  size=$(stat -c %s "$snap")
  dir=$(dirname "$db")
  [ -d "$dir" ] || fail 71 "cannot measure the free space for $db: there is no folder $dir"
  df_out=$(df -B1 --output=avail,target "$dir") || fail 71 "cannot measure the free space for $db: df failed on $dir"
  read -r available mount <<EOF
${df_out#*
}
EOF
  case $available in '' | *[!0-9]*) fail 71 "cannot measure the free space for $db: df printed: $df_out" ;; esac
  margin=$((size / 50))
  [ "$margin" -ge 1048576 ] || margin=1048576
  needed=$((size + margin))
  echo "atelier-space needed=$needed available=$available snapshot=$size mount=$mount"
  [ "$available" -ge "$needed" ] ||
    fail 75 "the restore of $db needs $needed bytes free on $mount (the snapshot's $size and a margin of $margin), and only $available are free"
  exit 0
fi

case $tag in '' | *[!0-9a-z]*) fail 64 "the restore tag '$tag' must be 1 to 64 lowercase letters and digits" ;; esac
[ "${#tag}" -le 64 ] || fail 64 "the restore tag '$tag' must be 1 to 64 lowercase letters and digits"
tmp=$db.atelier-restore.$tag

# While the copy exists, nothing has replaced the database: undo (put what was set aside back, then drop the copy).
# Once the copy is gone (renamed over the database), what was set aside belongs to the old database: delete it.
# The file system says which, so a signal between two commands cannot leave an old -wal beside the new database.
finish() {
  if [ -e "$tmp" ] || [ -L "$tmp" ]; then
    for side in wal shm journal; do
      if [ -e "$tmp-$side" ]; then
        mv -f "$tmp-$side" "$db-$side" || echo "atelier: could not put $db-$side back: it is still $tmp-$side" >&2
      fi
    done
    rm -f "$tmp"
  else
    rm -f "$tmp-wal" "$tmp-shm" "$tmp-journal"
  fi
}
trap finish EXIT
trap 'trap "" HUP INT TERM; trap - EXIT; finish; exit 129' HUP
trap 'trap "" HUP INT TERM; trap - EXIT; finish; exit 130' INT
trap 'trap "" HUP INT TERM; trap - EXIT; finish; exit 143' TERM

umask 077
mode=$(stat -c %a "$db" 2>/dev/null || echo 600)
rm -f "$tmp"
if ! cp "$snap" "$tmp" || ! sync "$tmp"; then
  fail 74 "could not write the copy $tmp of $snap (is the disk full?); the database is untouched"
fi
chmod "$mode" "$tmp" || fail 77 "could not give $tmp the mode $mode of $db; the database is untouched"
for side in wal shm journal; do
  if [ -e "$db-$side" ]; then
    mv -f "$db-$side" "$tmp-$side" || fail 73 "could not set $db-$side aside; the database is untouched"
  fi
done
mv -f -T "$tmp" "$db" || fail 73 "could not rename $tmp over $db; the database is untouched"
finish
trap - EXIT HUP INT TERM
echo "restored $db from $snap"
