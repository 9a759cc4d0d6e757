#!/usr/bin/env bash
# Runs COMMAND on a brand-new Debian 12 machine: a minbase bookworm root made
# with debootstrap, holding a clone of this repository's committed HEAD in
# /root/hexz.  COMMAND runs there as root, from /root/hexz, with a clean
# environment (PATH, HOME, LANG=C.UTF-8 and CI only), in its own PID and
# mount namespaces with /dev, /dev/pts, /proc and /sys (and so /dev/fuse).
# On exit, even after a failure or Ctrl-C, every process started inside is
# killed and everything mounted under the root is unmounted; the root is
# then removed (--keep leaves it, unmounted, to look at).
#
#   scripts/fresh-root.sh [--keep] [--cache-dir DIR] [--] COMMAND [ARG...]
#   e.g. scripts/fresh-root.sh ./run-tests.sh --quick
#        scripts/fresh-root.sh bash                  # a shell in a fresh root
#
# The pristine root is cached as DIR/bookworm-minbase.tar (default DIR:
# $HEXZ_CACHE_DIR, else /var/cache/hexz, outside the repository) and rebuilt
# when it is missing; the .deb files apt downloads inside are kept in
# DIR/debs for the next run.  Delete DIR (or give an empty one) to start
# from nothing.  debootstrap uses $HEXZ_MIRROR (default deb.debian.org);
# apt inside uses the host's sources when the host runs bookworm.
# Needs root, debootstrap, git, unshare.
# Exit status: COMMAND's, or 1 if the root could not be set up (2: usage).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

usage() { sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"; }
keep=false
cache=${HEXZ_CACHE_DIR:-/var/cache/hexz}
while [ $# -gt 0 ]; do
  case $1 in
    --keep) keep=true ;;
    --cache-dir) cache=${2:?--cache-dir needs a directory}; shift ;;
    --cache-dir=*) cache=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "$0: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
if [ $# -eq 0 ]; then
  echo "$0: no command given (see --help)" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "$0: run as root (it uses debootstrap, chroot and mounts)" >&2
  exit 1
fi
for c in debootstrap git unshare chroot tar; do
  command -v "$c" > /dev/null || { echo "$0: $c is not installed" >&2; exit 1; }
done

top=$(cd "$(dirname "$0")/.." && pwd)
head=$(git -C "$top" rev-parse --verify HEAD)
suite=bookworm
mirror=${HEXZ_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/$suite-minbase.tar
mkdir -p "$cache/debs" "$cache/debootstrap"
now() { date +%s; }
took() { echo "fresh-root: $1 took $(($(now) - $2))s"; }

# Unmounts everything mounted at or under DIR, deepest first.
unmount_under() {
  local dir=$1 m
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" || true
    done
  ! awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# Kills every process whose root directory is DIR (a safety net: they all
# live in the PID namespace, which dies with its first process).
kill_inside() {
  local dir=$1 p l
  for p in /proc/[0-9]*; do
    l=$(readlink "$p/root" 2>/dev/null) || continue
    case $l in "$dir" | "$dir"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
}

# Removes DIR unless something is still mounted under it (rm never crosses
# into another filesystem either way).
remove_root() {
  local dir=$1
  if unmount_under "$dir"; then
    rm -rf --one-file-system "$dir"
  else
    echo "fresh-root: something is still mounted under $dir; not removing it" >&2
  fi
}

# The pristine root, built once and kept as a tarball (under a lock, so that
# two runs do not both build it).
build_tarball() {
  local t0 tmp
  t0=$(now)
  echo "fresh-root: building the pristine $suite root (debootstrap --variant=minbase)"
  tmp=$(mktemp -d "$cache/root.XXXXXX")
  trap 'kill_inside "$tmp"; remove_root "$tmp"' EXIT
  debootstrap --variant=minbase --cache-dir="$cache/debootstrap" "$suite" "$tmp" "$mirror" > "$cache/debootstrap.log" 2>&1 ||
    { tail -n 30 "$cache/debootstrap.log" >&2; echo "fresh-root: debootstrap failed (log: $cache/debootstrap.log)" >&2; exit 1; }
  rm -f "$tmp"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$tmp" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  kill_inside "$tmp"
  remove_root "$tmp"
  trap - EXIT
  took "debootstrap into $tarball" "$t0"
}
exec 9> "$cache/lock"
flock 9
[ -s "$tarball" ] || (build_tarball)
exec 9>&-

t0=$(now)
root=$(mktemp -d /var/tmp/hexz-fresh.XXXXXX)
chmod 755 "$root"  # a machine's / (mktemp made it 0700: apt's _apt user could not enter it)
pid=
cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  if [ -n "$pid" ]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  kill_inside "$root"
  unmount_under "$root" || echo "fresh-root: could not unmount everything under $root" >&2
  # Keep what apt downloaded for the next run (only this run's set).
  if [ -d "$root/var/cache/apt/archives" ] && compgen -G "$root/var/cache/apt/archives/*.deb" > /dev/null; then
    find "$cache/debs" -name '*.deb' -exec sh -c 'for f; do [ -e "$0/${f##*/}" ] || rm -f "$f"; done' \
      "$root/var/cache/apt/archives" {} +
    cp -n "$root"/var/cache/apt/archives/*.deb "$cache/debs/" 2>/dev/null || true
  fi
  if $keep; then
    echo "fresh-root: the root is kept in $root"
  else
    remove_root "$root"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

tar --numeric-owner -C "$root" -xpf "$tarball"

# Network and the host's apt sources (the same mirrors and suites, so the
# same package versions as on the host; a plain bookworm list otherwise).
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# Trust anchors the machine's administrator added (update-ca-certificates
# merges them when ca-certificates is installed inside): a new machine on
# this network has them too, and TLS through its egress proxy needs them.
if compgen -G '/usr/local/share/ca-certificates/*.crt' > /dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
if grep -qx 'VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null &&
  { compgen -G '/etc/apt/sources.list.d/*.sources' > /dev/null || [ -s /etc/apt/sources.list ]; }; then
  rm -f "$root/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    cp "$f" "$root$f"
    # A keyring the root lacks comes from the host too.
    grep -oE '(Signed-By:|signed-by=)[[:space:]]*/[^] ]+' "$f" | sed 's/^[^/]*//' | sort -u |
      while read -r key; do
        [ -e "$root$key" ] || [ ! -f "$key" ] || { mkdir -p "$root${key%/*}"; cp "$key" "$root$key"; }
      done
  done
else
  cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://security.debian.org/debian-security $suite-security main
EOF
fi
# No daemon starts from a package's postinst (there is no init here).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Debs from an earlier run (apt checks them against the index).
cp -l "$cache"/debs/*.deb "$root/var/cache/apt/archives/" 2>/dev/null ||
  cp "$cache"/debs/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true

# The repository, as committed (not the work tree's uncommitted changes).
git clone -q --no-local --no-checkout "$top" "$root/root/hexz"
git -C "$root/root/hexz" checkout -q -B "$(git -C "$top" symbolic-ref -q --short HEAD || echo fresh)" "$head"
took "setting up $root (hexz $(git -C "$top" rev-parse --short HEAD))" "$t0"

# Inside new PID and mount namespaces: the mounts vanish with the namespace,
# and when its first process (this inner shell) dies, the kernel kills all
# the others.  The inner shell waits for COMMAND instead of exec'ing it so
# that COMMAND is not PID 1 (which would ignore signals it has no handler
# for); env restores SIGINT/SIGQUIT, which bash ignores in background jobs.
inner='
set -e
r=$1
shift
mount -t proc proc "$r/proc"
mount --rbind /sys "$r/sys"
mount --bind /dev "$r/dev"
mount --bind /dev/pts "$r/dev/pts"
mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
mount -t tmpfs -o mode=755 run "$r/run"
mkdir -m 1777 "$r/run/lock"
set +e
chroot "$r" /usr/bin/env -i "${envs[@]}" /bin/bash -c "cd /root/hexz && exec \"\$@\"" fresh-root "$@"
exit $?
'
envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
[ -z "${CI+set}" ] || envs+=("CI=$CI")
t0=$(now)
# COMMAND gets this script's standard input (/dev/null if there is none).
if { true <&0; } 2> /dev/null; then exec 3<&0; else exec 3< /dev/null; fi
unshare --pid --mount --fork --kill-child --propagation private -- \
  env --default-signal=INT,QUIT bash -c "envs=(${envs[*]@Q}); $inner" fresh-root "$root" "$@" <&3 3<&- &
pid=$!
exec 3<&-
rc=0
wait "$pid" || rc=$?
pid=
took "$*" "$t0"
exit $rc
