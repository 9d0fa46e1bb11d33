#!/usr/bin/env bash
# testhost.sh - a real target host for Atelier's tests.
#
# Boots a Debian 12 tree with systemd in a systemd-nspawn container and prepares it the way
# NixOS's `mkService` prepares a host: service users with ~/app (a git clone) and ~/data (SQLite),
# a narrow NOPASSWD sudo rule per service, a systemd unit per service, sshd on the host's loopback,
# and /run/current-system/sw/bin/systemctl. The container shares the host's network, so sshd and the
# two demo services listen on 127.0.0.1 ports chosen at each start.
#
# For infrastructure deploys it also has what deploy-rs meets on a NixOS node: the system profile
# /nix/var/nix/profiles/system -> system-3-link, generations 1..3 each linking a closure folder
# /nix/store/<hash>-nixos-system-<host name>-<N> with a stand-in bin/switch-to-configuration (it
# logs to /var/log/atelier-switch.log), a stand-in nix-env at /run/current-system/sw/bin/nix-env
# (both programs are next to this script), and the ssh user `deploy` with passwordless sudo.
#
# Several hosts can run at once, each from its own state dir: each gets its own ports (reserved
# under /run/atelier-testhost while it lives), keys, machine name, cgroup and tree.
#
# Usage:
#   testhost.sh start            boot a fresh container; prints the path of the state file (JSON)
#   testhost.sh stop             power it off and remove the per-run tree (never fails when idle)
#   testhost.sh exec -- CMD...   run CMD as root inside the container; passes the exit code through
#   testhost.sh status           print the state JSON, or exit 1 when no container is running
#
# Environment:
#   ATELIER_TESTHOST_STATE       per-run state dir   (default /tmp/atelier-testhost)
#   ATELIER_TESTHOST_HOSTNAME    host and machine name (default atelier-test for the default state
#                                dir, atelier-test-<n> for .../atelier-testhost-<n>, else
#                                atelier-test-<state dir name>)
#   ATELIER_TESTHOST_CACHE       base-tree/bun cache (default /var/cache/atelier-testhost)
#   ATELIER_TESTHOST_SSH_PORT, ATELIER_TESTHOST_DEMO_PORT, ATELIER_TESTHOST_NOTES_PORT
#                                fixed ports instead of free ones picked at random
#   ATELIER_TESTHOST_BUN_VERSION npm version of bun to install (default 1.4.5)
#   ATELIER_TESTHOST_MIRROR      Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   ATELIER_TESTHOST_TIMEOUT     seconds to wait for SSH and health after boot (default 120)
#
# Must run as root (debootstrap, chroot, systemd-nspawn, nsenter). selfcheck.sh next to this file
# starts a host, checks what the tests rely on, and stops it.
set -euo pipefail

STATE_DIR=${ATELIER_TESTHOST_STATE:-/tmp/atelier-testhost}
CACHE_DIR=${ATELIER_TESTHOST_CACHE:-/var/cache/atelier-testhost}
MIRROR=${ATELIER_TESTHOST_MIRROR:-http://deb.debian.org/debian}
BUN_VERSION=${ATELIER_TESTHOST_BUN_VERSION:-1.4.5}
TIMEOUT=${ATELIER_TESTHOST_TIMEOUT:-120}

SUITE=bookworm
INCLUDE=systemd,systemd-sysv,dbus,openssh-server,sudo,sqlite3,git,python3,ca-certificates,procps,iproute2
# Bump when the one-time steps applied to the debootstrap output (build_base_tree) change.
BASE_RECIPE=2

HOST_NAME=""                      # set by main (default_host_name)
PASSPHRASE=atelier-test-passphrase
SERVICES=(demo notes)             # both get a unit, a repo, a sudo rule; `notes` also "none" SSH auth
NONE_AUTH_USER=notes
declare -A SVC_PORT=()            # service name -> its port on 127.0.0.1, chosen by cmd_start
SAMPLE_APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/SampleApp"

STATE_FILE=$STATE_DIR/testhost.json
ROOT=$STATE_DIR/root             # the per-run tree the container boots from
UPPER=$STATE_DIR/overlay-upper   # overlay mode: the run's writes land here
WORK=$STATE_DIR/overlay-work
CONTAINER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SYSTEMCTL_LINK=/run/current-system/sw/bin/systemctl
NIX_ENV_LINK=/run/current-system/sw/bin/nix-env
DEPLOY_USER=deploy                # deploy-rs's ssh user: passwordless sudo, like wheelNeedsPassword = false
SYSTEM_PROFILE=/nix/var/nix/profiles/system
SWITCH_LOG=/var/log/atelier-switch.log
GENERATIONS=3                     # system generations present at boot; the last one is current
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORTS_DIR=/run/atelier-testhost/ports   # one folder per port a live test host uses

log() { printf '[testhost] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------

# JSON string literal (the values here are paths and key lines; escape \ and " anyway).
json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# True when PID is a live (non-zombie) process.
pid_alive() {
    local pid=$1 state
    [[ -n $pid && -r /proc/$pid/stat ]] || return 1
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z && $state != X ]]
}

# True when something listens on 127.0.0.1:PORT (or on any address with that port).
port_in_use() {
    ss -ltnH "( sport = :$1 )" 2>/dev/null | grep -q .
}

# A free TCP port below Linux's ephemeral range (32768+), not in the arguments already taken and
# not reserved by another test host.
pick_port() {
    local p taken i
    for ((i = 0; i < 500; i++)); do
        p=$((20000 + RANDOM % 12000))
        for taken in "$@"; do [[ $p == "$taken" ]] && continue 2; done
        port_in_use "$p" && continue
        port_reserved_by_other "$p" && continue
        echo "$p"
        return 0
    done
    die "no free port found"
}

# Ports are chosen seconds before sshd and the services bind them, so a host starting at the same
# time could choose the same one: each host reserves its ports (mkdir is atomic) until it stops.
# A reservation whose owner is neither starting (state dir lock held) nor running is stale.
port_reserved_by_other() {
    local owner
    [[ -d $PORTS_DIR/$1 ]] || return 1
    owner=$(cat "$PORTS_DIR/$1/owner" 2>/dev/null || true)
    [[ $owner == "$STATE_DIR" ]] && return 1
    [[ -n $owner ]] && state_dir_alive "$owner"
}

state_dir_alive() {  # state_dir_alive DIR: a start or stop holds its lock, or its nspawn runs
    local dir=$1 pid
    if [[ -f $dir/.lock ]] && ! flock -n "$dir/.lock" true 2>/dev/null; then return 0; fi
    [[ -f $dir/nspawn.pid ]] && pid=$(<"$dir/nspawn.pid") && pid_alive "$pid" \
        && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]]
}

reserve_port() {  # reserve_port PORT, or fail when another live host holds it
    local p=$1
    mkdir -p "$PORTS_DIR"
    if ! mkdir "$PORTS_DIR/$p" 2>/dev/null; then
        ! port_reserved_by_other "$p" || die "port $p is reserved by the test host in $(cat "$PORTS_DIR/$p/owner")"
        rm -rf "${PORTS_DIR:?}/$p"             # stale, or ours from before
        mkdir "$PORTS_DIR/$p" 2>/dev/null || die "port $p was reserved meanwhile"
    fi
    printf '%s\n' "$STATE_DIR" >"$PORTS_DIR/$p/owner"
    echo "$p" >>"$STATE_DIR/ports"
}

release_ports() {
    local p
    [[ -f $STATE_DIR/ports ]] || return 0
    while read -r p; do
        if [[ -n $p && $(cat "$PORTS_DIR/$p/owner" 2>/dev/null) == "$STATE_DIR" ]]; then
            rm -rf "${PORTS_DIR:?}/$p"
        fi
    done <"$STATE_DIR/ports"
    rm -f "$STATE_DIR/ports"
}

# The host (and nspawn machine) name: distinct per state dir, so that two hosts never share one.
default_host_name() {
    local name=${STATE_DIR%/}
    name=${name##*/}
    case $name in
        atelier-testhost) echo atelier-test; return ;;
        atelier-testhost-*) name=${name#atelier-testhost-} ;;
    esac
    name=$(printf '%s' "$name" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9-' '-' | cut -c1-40)
    echo "atelier-test-${name:-x}"
}

# 32 characters of Nix's base-32 alphabet: the hash part of a store path.
store_hash() {
    local alphabet=0123456789abcdfghijklmnpqrsvwxyz hex out="" i
    hex=$(printf '%s %s %s' "$1" "$RANDOM" "$(date +%s%N)" | sha256sum | cut -c1-64)
    for ((i = 0; i < 64; i += 2)); do
        out+=${alphabet:$((16#${hex:i:2} % 32)):1}
    done
    echo "$out"
}

# Unmount every mount point at or below DIR, deepest first (left by a killed debootstrap, say).
umount_under() {
    local dir=$1 m
    [[ -e $dir ]] || return 0
    findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

# Is FILE an ELF executable? (magic bytes; `file` may be missing)
is_elf() {
    [[ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' \n')" == '177ELF' ]]
}

# ----------------------------------------------------------------------------------------------
# Host prerequisites and caches
# ----------------------------------------------------------------------------------------------

ensure_host_packages() {
    local c missing=()
    for c in systemd-nspawn debootstrap ssh ssh-keygen curl ss ps nsenter flock findmnt; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing host packages (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq systemd-container debootstrap debian-archive-keyring openssh-client \
        curl ca-certificates iproute2 procps util-linux >&2
}

# Extra CA certificates of this machine (a TLS-re-signing proxy); empty on ordinary machines.
host_extra_cas() {
    compgen -G '/usr/local/share/ca-certificates/*.crt' || true
}

# Make the tree at $1 trust this machine's extra CAs (no-op when they are already there or absent).
install_extra_cas() {
    local root=$1 ca changed=0
    while read -r ca; do
        [[ -n $ca ]] || continue
        if ! cmp -s "$ca" "$root/usr/local/share/ca-certificates/${ca##*/}"; then
            install -D -m 0644 "$ca" "$root/usr/local/share/ca-certificates/${ca##*/}"
            changed=1
        fi
    done < <(host_extra_cas)
    if ((changed)); then
        log "trusting the host's extra CA certificates inside the tree"
        chroot "$root" update-ca-certificates >/dev/null 2>&1
    fi
}

# The cached debootstrap tree, keyed on everything that goes into it. Prints its path.
ensure_base_tree() {
    local key base tmp
    key=$(printf '%s\n' "$SUITE" "$MIRROR" "minbase" "$INCLUDE" "$BASE_RECIPE" | sha256sum | cut -c1-16)
    base=$CACHE_DIR/base-$key
    if [[ ! -d $base ]]; then
        lock_cache
        if [[ ! -d $base ]]; then
            for tmp in "$CACHE_DIR"/base-*.tmp.*; do  # remains of killed builds are never reused
                [[ -d $tmp ]] || continue
                umount_under "$tmp"
                rm -rf --one-file-system "$tmp"
            done
            tmp=$base.tmp.$$
            log "building base tree with debootstrap (about a minute) into $tmp"
            debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" >&2 \
                || { umount_under "$tmp"; die "debootstrap failed"; }
            build_base_tree "$tmp"
            mv -T "$tmp" "$base"                   # complete: now visible under its final name
        fi
        unlock_cache
    fi
    echo "$base"
}

# One cache builder at a time on this machine (fd 8).
lock_cache() {
    mkdir -p "$CACHE_DIR"
    exec 8>"$CACHE_DIR/.lock"
    flock 8
}
unlock_cache() {
    flock -u 8
    exec 8>&-
}

# One-time changes to a fresh debootstrap output (bump BASE_RECIPE when editing).
build_base_tree() {
    local t=$1
    chroot "$t" apt-get clean
    : >"$t/etc/machine-id"                         # each boot gets its own machine id
    rm -f "$t/var/lib/dbus/machine-id"
    rm -f "$t"/etc/ssh/ssh_host_*                  # each run generates its own host keys
    # No console to log in on (read-only console), and no periodic jobs (apt, fstrim...) that
    # would compete with the tests for the CPU.
    chroot "$t" systemctl mask console-getty.service getty@tty1.service apt-daily.timer \
        apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
    install_extra_cas "$t"
}

# The real bun binary (not npm's node shim), cached per version. Prints its path.
ensure_bun() {
    local dir=$CACHE_DIR/bun-$BUN_VERSION tmp f
    if [[ ! -x $dir/bun ]]; then
        lock_cache
        if [[ ! -x $dir/bun ]]; then
            tmp=$dir.tmp.$$
            rm -rf "$tmp"
            mkdir -p "$tmp"
            log "installing bun@$BUN_VERSION from npm"
            npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >&2
            # npm 11: node_modules/bun/bin/bun.exe is the ELF; older npm: @oven/bun-linux-x64*/bin/bun.
            while read -r f; do
                if is_elf "$f" && "$f" --version >/dev/null 2>&1; then
                    install -m 0755 "$f" "$tmp/bun"
                    break
                fi
            done < <(find "$tmp/node_modules" -type f \( -name bun -o -name bun.exe \))
            [[ -x $tmp/bun ]] || die "no runnable bun binary found in the npm package"
            rm -rf "$tmp/node_modules" "$tmp"/package*.json   # keep only the binary
            rm -rf "$dir"
            mv -T "$tmp" "$dir"
        fi
        unlock_cache
    fi
    echo "$dir/bun"
}

# ----------------------------------------------------------------------------------------------
# Per-run tree
# ----------------------------------------------------------------------------------------------

# A fresh root for this run: an overlay over the cached tree when the kernel allows it (instant),
# else a full copy.
make_run_tree() {
    local base=$1
    mkdir -p "$ROOT" "$UPPER" "$WORK"
    if mount -t overlay overlay -o "lowerdir=$base,upperdir=$UPPER,workdir=$WORK" "$ROOT" 2>/dev/null; then
        log "per-run tree: overlay on $ROOT"
    else
        rmdir "$UPPER" "$WORK"
        log "per-run tree: copying the base tree to $ROOT"
        cp -a --reflink=auto "$base/." "$ROOT/"
    fi
}

write_unit() {  # write_unit NAME PORT
    local name=$1 port=$2
    cat >"$ROOT/etc/systemd/system/$name.service" <<EOF
[Unit]
Description=$name service (Atelier test host)
After=network.target
# Tests and benchmarks restart the unit many times in a row: no start rate limit.
StartLimitIntervalSec=0

[Service]
Type=exec
User=$name
Group=$name
WorkingDirectory=/var/lib/$name/app
ExecStart=/usr/local/bin/bun run src/index.ts
Environment=PORT=$port DATABASE_PATH=/var/lib/$name/data/$name.db NODE_ENV=production
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
EOF
}

# The seed commit of every origin repository: the SampleApp files, author "Atelier Test".
# A fixed date makes the commit id the same for every run (and for both services).
make_seed_repo() {
    local seed=$ROOT/tmp/atelier-seed
    rm -rf "$seed"
    mkdir -p "$seed"
    tar -C "$SAMPLE_APP_DIR" --exclude=node_modules --exclude=dist --exclude='*.db*' -cf - . | tar -C "$seed" -xf -
    chroot "$ROOT" env HOME=/root \
        GIT_AUTHOR_NAME="Atelier Test" GIT_AUTHOR_EMAIL="test@atelier.invalid" \
        GIT_COMMITTER_NAME="Atelier Test" GIT_COMMITTER_EMAIL="test@atelier.invalid" \
        GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z" \
        sh -ec 'cd /tmp/atelier-seed
                git init -q -b main .
                git add -A
                git commit -q -m "Initial commit: sample app"'
}

prepare_service() {  # prepare_service NAME PORT
    local name=$1 port=$2 home=/var/lib/$1
    chroot "$ROOT" useradd --system --user-group --create-home --home-dir "$home" \
        --shell /bin/bash --groups services,systemd-journal "$name"
    chmod 0750 "$ROOT$home"
    install -d -m 0750 -o "$(uid_of "$name")" -g "$(gid_of "$name")" "$ROOT$home/data" "$ROOT$home/.ssh"
    chmod 0700 "$ROOT$home/.ssh"
    cat "$STATE_DIR/id_ed25519.pub" "$STATE_DIR/id_ed25519_pass.pub" >"$ROOT$home/.ssh/authorized_keys"
    chmod 0600 "$ROOT$home/.ssh/authorized_keys"
    chroot "$ROOT" chown -R "$name:$name" "$home/.ssh"

    # Bare origin (owned by the service user) holding the seed commit, and ~/app cloned from it.
    mkdir -p "$ROOT/srv/git"
    chroot "$ROOT" git init -q --bare -b main "/srv/git/$name.git"
    chroot "$ROOT" env HOME=/root git -C /tmp/atelier-seed push -q "/srv/git/$name.git" main:main
    chroot "$ROOT" chown -R "$name:$name" "/srv/git/$name.git"
    chroot --userspec="$(uid_of "$name"):$(gid_of "$name")" "$ROOT" env HOME="$home" \
        git clone -q --no-hardlinks "/srv/git/$name.git" "$home/app"

    # sudo: exactly restart/stop/start/status of the own unit, through the NixOS path.
    local s=$SYSTEMCTL_LINK
    printf '%s ALL=(root) NOPASSWD: %s restart %s.service, %s stop %s.service, %s start %s.service, %s status %s.service\n' \
        "$name" "$s" "$name" "$s" "$name" "$s" "$name" "$s" "$name" >"$ROOT/etc/sudoers.d/$name"
    chmod 0440 "$ROOT/etc/sudoers.d/$name"
    chroot "$ROOT" visudo -c -q -f "/etc/sudoers.d/$name" || die "sudoers file for $name is invalid"

    write_unit "$name" "$port"
}

# The system profile of a NixOS machine: generations 1..GENERATIONS, each a closure folder with
# bin/switch-to-configuration and nixos-version, dated days apart; the last one is current.
prepare_system_profile() {
    local profiles=$ROOT${SYSTEM_PROFILE%/*} name=${SYSTEM_PROFILE##*/} n closure when
    install -d -m 0755 "$ROOT/nix" "$ROOT/nix/store" "$ROOT/nix/var" "$ROOT/nix/var/nix" "$profiles"
    for ((n = 1; n <= GENERATIONS; n++)); do
        closure=/nix/store/$(store_hash "$HOST_NAME-$n")-nixos-system-$HOST_NAME-$n
        install -d -m 0755 "$ROOT$closure" "$ROOT$closure/bin"
        install -m 0755 "$HERE/switch-to-configuration" "$ROOT$closure/bin/switch-to-configuration"
        printf '25.05.%s.atelier (Warbler)\n' "$n" >"$ROOT$closure/nixos-version"
        ln -sfn "$closure" "$profiles/$name-$n-link"
        when=$(date -d "-$(((GENERATIONS - n) * 3 + 1)) days" '+%Y-%m-%d %H:%M:%S')
        touch -h -d "$when" "$profiles/$name-$n-link"
    done
    ln -sfn "$name-$GENERATIONS-link" "$ROOT$SYSTEM_PROFILE"
    install -m 0644 /dev/null "$ROOT$SWITCH_LOG"
}

# deploy-rs's ssh user: logs in with the run's keys and may run anything as root without a password.
prepare_deploy_user() {
    local home=/home/$DEPLOY_USER
    chroot "$ROOT" useradd --create-home --home-dir "$home" --shell /bin/bash "$DEPLOY_USER"
    install -d -m 0700 "$ROOT$home/.ssh"
    cat "$STATE_DIR/id_ed25519.pub" "$STATE_DIR/id_ed25519_pass.pub" >"$ROOT$home/.ssh/authorized_keys"
    chmod 0600 "$ROOT$home/.ssh/authorized_keys"
    chroot "$ROOT" chown -R "$DEPLOY_USER:$DEPLOY_USER" "$home/.ssh"
    printf '%s ALL=(root) NOPASSWD: ALL\n' "$DEPLOY_USER" >"$ROOT/etc/sudoers.d/$DEPLOY_USER"
    chmod 0440 "$ROOT/etc/sudoers.d/$DEPLOY_USER"
    chroot "$ROOT" visudo -c -q -f "/etc/sudoers.d/$DEPLOY_USER" || die "sudoers file for $DEPLOY_USER is invalid"
}

uid_of() { chroot "$ROOT" id -u "$1"; }
gid_of() { chroot "$ROOT" id -g "$1"; }

# Everything `mkService` and the NixOS system would provide, done with chroot before boot.
prepare_tree() {
    local bun=$1 ssh_port=$2 name

    # Host name (sudo warns when it cannot resolve it).
    echo "$HOST_NAME" >"$ROOT/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
        "$HOST_NAME" >"$ROOT/etc/hosts"

    install -m 0755 "$bun" "$ROOT/usr/local/bin/bun"
    install_extra_cas "$ROOT"
    if [[ -n $(host_extra_cas) ]]; then
        echo "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" >>"$ROOT/etc/environment"
    fi

    # NixOS paths: /run is a tmpfs at boot, so the systemctl link is made by tmpfiles at boot.
    cat >"$ROOT/etc/tmpfiles.d/atelier-nixos.conf" <<EOF
d /run/current-system 0755 root root -
d /run/current-system/sw 0755 root root -
d /run/current-system/sw/bin 0755 root root -
L+ $SYSTEMCTL_LINK - - - - /usr/bin/systemctl
L+ $NIX_ENV_LINK - - - - /usr/local/bin/nix-env
EOF
    install -m 0755 "$HERE/nix-env" "$ROOT/usr/local/bin/nix-env"
    prepare_system_profile
    prepare_deploy_user

    # Service users, repositories, sudo rules and units.
    chroot "$ROOT" groupadd --system services
    make_seed_repo
    for name in "${SERVICES[@]}"; do
        prepare_service "$name" "${SVC_PORT[$name]}"
    done
    rm -rf "$ROOT/tmp/atelier-seed"
    chroot "$ROOT" passwd -q -d "$NONE_AUTH_USER"  # empty password: "none" auth (see sshd below)

    # A unit that crash-loops forever once started (tests start it through `exec`).
    cat >"$ROOT/etc/systemd/system/flaky.service" <<'EOF'
[Unit]
Description=Crash-looping unit (Atelier test host)
StartLimitIntervalSec=0

[Service]
User=demo
Group=demo
ExecStart=/bin/sh -c 'echo flaky starting; sleep 2; echo flaky crashing >&2; exit 3'
Restart=always
RestartSec=1
EOF
    chroot "$ROOT" systemctl enable -q "${SERVICES[@]/%/.service}" ssh.service

    # sshd: loopback only, keys only, except that one user may use the "none" method the way
    # Tailscale SSH lets a tailnet user in (OpenSSH: empty password + PAM nullok).
    cat >"$ROOT/etc/ssh/sshd_config.d/atelier.conf" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no

Match User $NONE_AUTH_USER
    PasswordAuthentication yes
    PermitEmptyPasswords yes
Match all
EOF
    rm -f "$ROOT"/etc/ssh/ssh_host_*
    chroot "$ROOT" ssh-keygen -A >/dev/null
    mkdir -p "$ROOT/run/sshd"                      # only for `sshd -t`; /run is a tmpfs at boot
    chroot "$ROOT" /usr/sbin/sshd -t || die "sshd configuration is invalid"
}

# ----------------------------------------------------------------------------------------------
# Subcommands
# ----------------------------------------------------------------------------------------------

cmd_start() {
    [[ $EUID -eq 0 ]] || die "must run as root"
    [[ -f $SAMPLE_APP_DIR/src/index.ts ]] || die "sample app not found at $SAMPLE_APP_DIR"
    mkdir -p "$STATE_DIR"
    cmd_stop                                       # a previous run from this state dir, if any

    ensure_host_packages
    local base bun
    base=$(ensure_base_tree)
    bun=$(ensure_bun)

    # Ports: overrides, else free ones.
    local ssh_port name override p
    ssh_port=${ATELIER_TESTHOST_SSH_PORT:-$(pick_port)}
    for name in "${SERVICES[@]}"; do
        override=ATELIER_TESTHOST_${name^^}_PORT
        SVC_PORT[$name]=${!override:-$(pick_port "$ssh_port" "${SVC_PORT[@]}")}
    done
    for p in "$ssh_port" "${SVC_PORT[@]}"; do
        [[ $p =~ ^[0-9]+$ ]] || die "invalid port: $p"
        ! port_in_use "$p" || die "port $p is already in use"
        reserve_port "$p"
    done

    # Client keys of this run: one plain, one with a passphrase.
    rm -f "$STATE_DIR"/id_ed25519* "$STATE_DIR/known_hosts"
    ssh-keygen -q -t ed25519 -N '' -C atelier-test -f "$STATE_DIR/id_ed25519"
    ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -C atelier-test-pass -f "$STATE_DIR/id_ed25519_pass"

    make_run_tree "$base"
    prepare_tree "$bun" "$ssh_port"

    local host_key_line
    host_key_line=$(cut -d' ' -f1,2 "$ROOT/etc/ssh/ssh_host_ed25519_key.pub")
    echo "[127.0.0.1]:$ssh_port $host_key_line" >"$STATE_DIR/known_hosts"

    # nspawn (--keep-unit) creates payload/ and supervisor/ cgroups under its own cgroup and leaves
    # them behind. Give each state dir its own cgroup so that two test hosts never share those and
    # stop can remove exactly this run's (the file lists what stop removes, deepest first).
    local cgdirs=() d
    mapfile -t cgdirs < <(run_cgroups)
    printf '%s\n' "${cgdirs[@]}" >"$STATE_DIR/cgroups"

    log "booting the container"
    (
        for d in "${cgdirs[@]}"; do
            if ! { mkdir -p "$d" && echo "$BASHPID" >"$d/cgroup.procs"; }; then
                echo "warning: cannot use cgroup $d; nspawn runs in its parent" >&2
                printf '%s\n' "${d%/*}/payload" "${d%/*}/supervisor" >>"$STATE_DIR/cgroups"
            fi
        done
        export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
        exec setsid systemd-nspawn -D "$ROOT" -b -M "$HOST_NAME" \
            --register=no --keep-unit --link-journal=no --console=read-only
    ) >"$STATE_DIR/nspawn.log" 2>&1 </dev/null 9>&- &   # fd 9 (the lock) must not stay open
    local nspawn_pid=$!
    echo "$nspawn_pid" >"$STATE_DIR/nspawn.pid"

    # Wait for the container's init (the child of systemd-nspawn), then SSH, then both services.
    local deadline=$((SECONDS + TIMEOUT)) leader="" ssh_ok=0 healthy=0
    fail_boot() {
        log "$1; last lines of $STATE_DIR/nspawn.log:"
        tail -n 30 "$STATE_DIR/nspawn.log" >&2 || true
        cmd_stop
        exit 1
    }
    while :; do
        pid_alive "$nspawn_pid" || fail_boot "systemd-nspawn exited"
        ((SECONDS < deadline)) || fail_boot "not ready after ${TIMEOUT}s"
        if [[ -z $leader ]]; then
            leader=$(ps -o pid= --ppid "$nspawn_pid" | awk 'NR == 1 { print $1 }' || true)
            [[ -n $leader && $(cat "/proc/$leader/comm" 2>/dev/null) == systemd ]] || leader=""
            [[ -n $leader ]] && echo "$leader" >"$STATE_DIR/leader.pid"
        fi
        if ((!ssh_ok)) && ssh -F /dev/null -i "$STATE_DIR/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
            -o UserKnownHostsFile="$STATE_DIR/known_hosts" -o StrictHostKeyChecking=yes \
            -o ConnectTimeout=2 -p "$ssh_port" "${SERVICES[0]}@127.0.0.1" true 2>/dev/null; then
            ssh_ok=1
        fi
        healthy=1
        for name in "${SERVICES[@]}"; do
            curl -fsS -m 2 -o /dev/null "http://127.0.0.1:${SVC_PORT[$name]}/health" 2>/dev/null || healthy=0
        done
        [[ -n $leader && $ssh_ok == 1 && $healthy == 1 ]] && break
        sleep 0.2
    done
    nsenter -t "$leader" -a -- /usr/bin/test -L "$SYSTEMCTL_LINK" \
        || fail_boot "$SYSTEMCTL_LINK is missing inside the container"
    nsenter -t "$leader" -a -- /usr/bin/test -x "$NIX_ENV_LINK" \
        || fail_boot "$NIX_ENV_LINK is missing inside the container"

    # The state file, written last: its presence means "ready".
    local svc_json="" port
    for name in "${SERVICES[@]}"; do
        port=${SVC_PORT[$name]}
        svc_json+="${svc_json:+,
}    $(json_str "$name"): { \"user\": $(json_str "$name"), \"home\": $(json_str "/var/lib/$name"), \"port\": $port, \
\"healthUrl\": $(json_str "http://127.0.0.1:$port/health"), \"dbPath\": $(json_str "/var/lib/$name/data/$name.db"), \
\"origin\": $(json_str "/srv/git/$name.git"), \"noneAuth\": $([[ $name == "$NONE_AUTH_USER" ]] && echo true || echo false) }"
    done
    cat >"$STATE_FILE.tmp" <<EOF
{
  "host": "127.0.0.1",
  "sshPort": $ssh_port,
  "hostName": $(json_str "$HOST_NAME"),
  "stateDir": $(json_str "$STATE_DIR"),
  "root": $(json_str "$ROOT"),
  "nspawnPid": $nspawn_pid,
  "leaderPid": $leader,
  "identityFile": $(json_str "$STATE_DIR/id_ed25519"),
  "identityFileWithPassphrase": $(json_str "$STATE_DIR/id_ed25519_pass"),
  "passphrase": $(json_str "$PASSPHRASE"),
  "hostKeyLine": $(json_str "$host_key_line"),
  "knownHosts": $(json_str "$STATE_DIR/known_hosts"),
  "systemctl": $(json_str "$SYSTEMCTL_LINK"),
  "deployUser": $(json_str "$DEPLOY_USER"),
  "systemProfile": $(json_str "$SYSTEM_PROFILE"),
  "nixEnv": $(json_str "$NIX_ENV_LINK"),
  "switchLog": $(json_str "$SWITCH_LOG"),
  "log": $(json_str "$STATE_DIR/nspawn.log"),
  "services": {
$svc_json
  }
}
EOF
    mv -f "$STATE_FILE.tmp" "$STATE_FILE"
    log "ready: $HOST_NAME, ssh on 127.0.0.1:$ssh_port; services on ports: ${SVC_PORT[*]}"
    echo "$STATE_FILE"
}

# This state dir's cgroup in each hierarchy nspawn uses: the unified (v2) one and, on hybrid
# hosts, the v1 name=systemd one.
run_cgroups() {
    local name ctrl path mnt
    name=atelier-testhost-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)
    while IFS=: read -r _ ctrl path; do
        case $ctrl in
            "") mnt=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1) ;;
            name=systemd) mnt=$(findmnt -rn -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /name=systemd/ { print $1; exit }') ;;
            *) continue ;;
        esac
        if [[ -n $mnt ]]; then echo "$mnt${path%/}/$name"; fi
    done </proc/self/cgroup
}

# Processes of systemd-nspawn booting $ROOT: the recorded pid plus any other nspawn on that root.
nspawn_pids() {
    local pid cmdline
    [[ -f $STATE_DIR/nspawn.pid ]] && pid=$(<"$STATE_DIR/nspawn.pid") && pid_alive "$pid" \
        && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]] && echo "$pid"
    for pid in $(ps -C systemd-nspawn -o pid= 2>/dev/null); do
        cmdline=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || continue
        grep -qxF -- "$ROOT" <<<"$cmdline" && echo "$pid"
    done
    return 0
}

# Wait up to $2 seconds for PID $1 to be gone.
wait_gone() {
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

cmd_stop() {
    local pid leader=""
    [[ -f $STATE_DIR/leader.pid ]] && leader=$(<"$STATE_DIR/leader.pid")
    for pid in $(nspawn_pids | sort -u); do
        log "stopping systemd-nspawn (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true      # nspawn powers the container off
        if ! wait_gone "$pid" 10; then
            log "still running after 10 s: killing"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 5 || log "warning: pid $pid did not exit"
        fi
    done
    # The container's init dies with nspawn, except when nspawn itself was SIGKILLed: then kill it
    # (only if that pid is still a systemd in another pid namespace, i.e. not a reused pid).
    if [[ -n $leader ]] && pid_alive "$leader" && [[ $(cat "/proc/$leader/comm" 2>/dev/null) == systemd ]] \
        && [[ $(readlink "/proc/$leader/ns/pid") != "$(readlink /proc/self/ns/pid)" ]]; then
        log "killing the container's init (pid $leader)"
        kill -KILL "$leader" 2>/dev/null || true   # kills every process of the container
        wait_gone "$leader" 5 || log "warning: pid $leader did not exit"
    fi

    # The run's cgroups with the payload/ and supervisor/ folders nspawn leaves: remove them,
    # deepest first (cgroup folders go with rmdir once no process is left in them).
    local dir i
    if [[ -f $STATE_DIR/cgroups ]]; then
        while read -r dir; do
            for ((i = 0; i < 20; i++)); do         # processes may take a moment to leave
                [[ -d $dir ]] || break
                find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || sleep 0.1
            done
            if [[ -d $dir ]]; then log "warning: could not remove cgroup $dir"; fi
        done <"$STATE_DIR/cgroups"
        rm -f "$STATE_DIR/cgroups"
    fi

    # The per-run tree.
    if mountpoint -q "$ROOT" 2>/dev/null; then
        umount "$ROOT" 2>/dev/null || umount -l "$ROOT"
    fi
    umount_under "$ROOT"
    rm -rf --one-file-system "$ROOT" "$UPPER" "$WORK"
    rm -f "$STATE_FILE" "$STATE_DIR/nspawn.pid" "$STATE_DIR/leader.pid" "$STATE_DIR/.#root.lck" \
        "$STATE_DIR"/id_ed25519* "$STATE_DIR/known_hosts"
    release_ports
    return 0
}

# The container's init, or fail.
running_leader() {
    local leader
    [[ -f $STATE_FILE && -f $STATE_DIR/leader.pid ]] || return 1
    leader=$(<"$STATE_DIR/leader.pid")
    pid_alive "$leader" || return 1
    echo "$leader"
}

cmd_exec() {
    [[ ${1:-} == -- ]] && shift
    [[ $# -gt 0 ]] || die "usage: testhost.sh exec -- CMD..."
    local leader
    leader=$(running_leader) || die "no test host is running (state dir $STATE_DIR)"
    exec nsenter -t "$leader" -a -- /usr/bin/env -i PATH="$CONTAINER_PATH" HOME=/root LANG=C.UTF-8 "$@"
}

cmd_status() {
    running_leader >/dev/null || { log "not running (state dir $STATE_DIR)"; exit 1; }
    cat "$STATE_FILE"
}

# One start/stop at a time per state dir.
lock_state_dir() {
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    flock 9
}

main() {
    HOST_NAME=${ATELIER_TESTHOST_HOSTNAME:-$(default_host_name)}
    [[ $HOST_NAME =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "invalid host name: $HOST_NAME"
    case ${1:-} in
        start) lock_state_dir; cmd_start ;;
        stop) lock_state_dir; cmd_stop ;;
        exec) shift; cmd_exec "$@" ;;
        status) cmd_status ;;
        *) echo "usage: $0 {start|stop|exec -- CMD...|status}" >&2; exit 2 ;;
    esac
    # Exit from inside main (parsed whole before it runs), so bash never reads past this point:
    # editing the file while a run is under way cannot derail that run.
    exit 0
}

main "$@"
