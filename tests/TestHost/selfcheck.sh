#!/usr/bin/env bash
# selfcheck.sh - boots the test host and checks what Atelier's tests rely on, then stops it.
# Run as root: tests/TestHost/selfcheck.sh   (exit 0 = every check passed)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
th=$here/testhost.sh
failures=0

ok() { printf 'ok    %s\n' "$1"; }
bad() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }
check() {  # check "description" command...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
check_not() {
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then bad "$what"; else ok "$what"; fi
}

command -v jq >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null
}
state_file=$("$th" start)
trap '"$th" stop >/dev/null 2>&1 || true' EXIT   # also when a step below aborts the script
j() { jq -r "$1" "$state_file"; }
port=$(j .sshPort)
key=$(j .identityFile)
known=$(j .knownHosts)

# ssh USER [extra options...] -- COMMAND
ssh_as() {
    local user=$1; shift
    local opts=()
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile="$known" \
        -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -p "$port" "${opts[@]}" "$user@127.0.0.1" "$@"
}
max_id() { "$th" exec -- sqlite3 "/var/lib/$1/data/$1.db" 'SELECT MAX(id) FROM events'; }

check "status prints the state" "$th" status
check "demo restarts its own unit through sudo" \
    ssh_as demo -i "$key" -- 'sudo -n /run/current-system/sw/bin/systemctl restart demo.service'
check_not "demo may not stop notes" \
    ssh_as demo -i "$key" -- 'sudo -n /run/current-system/sw/bin/systemctl stop notes.service'
check_not "systemctl restart without sudo is denied" ssh_as demo -i "$key" -- 'systemctl restart demo.service'
sleep 1   # demo was just restarted
for svc in demo notes; do
    check "$svc /health answers 200" curl -fsS -m 5 "$(j ".services.$svc.healthUrl")"
done
first=$(max_id demo); sleep 1; second=$(max_id demo)
if ((second > first)); then ok "rows keep coming ($first -> $second)"; else bad "rows keep coming ($first -> $second)"; fi
check "journal_mode is wal" \
    bash -c "[[ \$('$th' exec -- sqlite3 /var/lib/notes/data/notes.db 'PRAGMA journal_mode') == wal ]]"
author=$(ssh_as demo -i "$key" -- 'git -C ~/app log -1 --format=%an' || true)
if [[ $author == "Atelier Test" ]]; then ok "git log in ~/app shows the seed commit"; else bad "git log in ~/app ($author)"; fi
askpass=$(mktemp)
printf '#!/bin/sh\necho %s\n' "$(j .passphrase)" >"$askpass"
chmod +x "$askpass"
check "the passphrase key works" env SSH_ASKPASS="$askpass" SSH_ASKPASS_REQUIRE=force \
    ssh -F /dev/null -o IdentitiesOnly=yes -o UserKnownHostsFile="$known" -p "$port" \
    -i "$(j .identityFileWithPassphrase)" notes@127.0.0.1 true
rm -f "$askpass"
check "none auth works for notes" \
    ssh_as notes -o PreferredAuthentications=none -o PubkeyAuthentication=no -- true
check_not "none auth fails for demo" \
    ssh_as demo -o PreferredAuthentications=none -o PubkeyAuthentication=no -- true
check "exec passes the exit code through" bash -c "'$th' exec -- sh -c 'exit 7'; [[ \$? == 7 ]]"
check "systemctl link exists" "$th" exec -- test -L /run/current-system/sw/bin/systemctl
check "nix-env link exists" "$th" exec -- test -L /run/current-system/sw/bin/nix-env
profile=$(j .systemProfile)
link=$(ssh_as "$(j .deployUser)" -i "$key" -- "readlink $profile" || true)
if [[ $link == system-3-link ]]; then ok "the system profile is at generation 3"; else bad "the system profile ($link)"; fi
check "deploy switches generations through sudo" \
    ssh_as deploy -i "$key" -- "sudo -n nix-env -p $profile --switch-generation 2 && [ \$(readlink $profile) = system-2-link ]"
check_not "deploy may not switch generations without sudo" \
    ssh_as deploy -i "$key" -- "nix-env -p $profile --switch-generation 3"
check "switch-to-configuration logs its closure" \
    ssh_as deploy -i "$key" -- "sudo -n $profile/bin/switch-to-configuration switch && tail -n 1 /var/log/atelier-switch.log | grep -q \" switch \$(readlink -f $profile)\$\""
check "deploy switches back" ssh_as deploy -i "$key" -- "sudo -n nix-env -p $profile --switch-generation 3"
"$th" exec -- systemctl start flaky.service
sleep 7
restarts=$("$th" exec -- systemctl show -p NRestarts --value flaky.service)
if ((restarts >= 1)); then ok "flaky.service crash-loops (NRestarts=$restarts)"; else bad "flaky.service crash-loops (NRestarts=$restarts)"; fi

state_dir=$(dirname "$state_file")
root=$(j .root)
"$th" stop
check_not "status fails after stop" "$th" status
check_not "no systemd-nspawn left on this run's tree" \
    bash -c "ps -C systemd-nspawn -o stat=,args= | grep -v '^Z' | grep -qF -- '$root'"
cgroup_name=atelier-testhost-$(printf '%s' "$state_dir" | sha256sum | cut -c1-12)
check_not "no cgroup leftovers" bash -c "find /sys/fs/cgroup -maxdepth 3 -name '$cgroup_name' | grep -q ."
check_not "per-run tree removed" test -e "$root"
check_not "per-run tree unmounted" bash -c "findmnt -rn -o TARGET | grep -qF -- '$root'"
check_not "its ports are no longer reserved" test -e "/run/atelier-testhost/ports/$port"

if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
