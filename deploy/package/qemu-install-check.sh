#!/usr/bin/env bash
# Installs a built arm64 .deb in a clean Debian bookworm arm64 root and runs its gateway there under qemu,
# as a technician would on a Raspberry Pi, with no network (CI runs it after check.sh):
#  - `apt-get install ./passerelle_….deb` offline: postinst made the account (dialout), the directories,
#    the config root:passerelle 0640 and the store key as a host-encrypted credential; code is root's and
#    nothing is group/other-writable; `passerelle` is on the PATH;
#  - `passerelle run` as the passerelle user on the demo config (the key decrypted from the credential as
#    systemd would, simulators and a Mosquitto broker on loopback): a summary arrives on the broker;
#    SIGTERM stops it with exit 0;
#  - Node-RED as passerelle-nodered.service runs it (nodered.supervisor: systemd): its root step
#    (ExecCondition=+passerelle nodered prepare), then its ExecStart as passerelle-flows: the editor answers
#    401 without a login, the Passerelle nodes connect to the gateway's bridge socket, and passerelle-flows
#    cannot read the store directory, the key credential or the config, nor open a serial device node;
#  - a second install (upgrade) keeps config, credential and store; purge erases them.
# systemd is not PID 1 in the root, so the units themselves are not started (their checks are in
# tests/deploy); their commands are run as they are written in the installed unit files.
#
# How, without touching the machine: the root is made by debootstrap (Debian's mirror, the one apt uses
# here) and cached as a tarball ($PASSERELLE_CACHE, default /var/cache/passerelle); each run unpacks a
# fresh copy. arm64 programs run through qemu-aarch64-static registered with binfmt_misc *inside a user
# namespace* (Linux >= 6.7 gives each user namespace its own binfmt_misc), which also has its own network
# (loopback only: the install is offline by construction), mounts and pids.
# Needs: root, debootstrap, qemu-user-static, mosquitto, mosquitto-clients, iproute2, node (simulators).
# Usage: deploy/package/qemu-install-check.sh dist/passerelle_<version>_arm64.deb
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
QEMU=/usr/bin/qemu-aarch64-static
t0=$SECONDS
say() { printf 'qemu-install: %s (%d s)\n' "$1" "$((SECONDS - t0))"; }
fail() { echo "qemu-install: $*" >&2; exit 1; }

# --- inside the namespaces (see run_in_namespace) ---------------------------------------------------------
if [ "${1:-}" = --inner ]; then
  shift
  root="$1" what="$2"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  # F: the kernel opens qemu now, so it runs inside the chroot where /usr/bin/qemu-aarch64-static is absent.
  printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$QEMU"':F' \
    >/proc/sys/fs/binfmt_misc/register
  ip link set lo up
  mount -t proc proc "$root/proc"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  case "$what" in
    second-stage) container=lxc chroot "$root" /debootstrap/debootstrap --second-stage ;;
    check) "$here/qemu-install-check.sh" --checks "$root" ;;
  esac
  exit 0
fi

# Runs "$0 --inner ROOT WHAT" in new user (identity map of uids/gids 0-65535, so the root's owners are
# real), mount, pid and network namespaces; the map is written from outside once the namespace exists.
run_in_namespace() {
  local fifo pid
  fifo="$(mktemp -u)" && mkfifo "$fifo"
  # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
  unshare --user --mount --pid --net --fork --kill-child --propagation private \
    sh -c 'read -r _ <"$0"; exec "$@"' "$fifo" "$here/qemu-install-check.sh" --inner "$@" &
  pid=$!
  while [ "$(readlink "/proc/$pid/ns/user" 2>/dev/null)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.05; done
  echo '0 0 65536' >"/proc/$pid/uid_map"
  echo '0 0 65536' >"/proc/$pid/gid_map"
  echo go >"$fifo"
  rm -f "$fifo"
  wait "$pid"
}

# --- the checks, inside the namespaces ------------------------------------------------------------------
if [ "${1:-}" = --checks ]; then
  root="$2"
  in_root() { chroot "$root" "$@"; }
  as_gateway() { chroot "$root" setpriv --reuid=passerelle --regid=passerelle --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  as_flows() { chroot "$root" setpriv --reuid=passerelle-flows --regid=passerelle-flows --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  # passerelle-flows is refused (EACCES) what the command does; passerelle, the control, is not.
  flows_refused() {
    local out
    out="$(as_gateway timeout 10 "$@" 2>&1)" || true
    ! grep -q 'Permission denied' <<<"$out" || fail "the control failed: passerelle was refused: $* ($out)"
    out="$(as_flows timeout 10 "$@" 2>&1)" && fail "passerelle-flows could: $*"
    grep -q 'Permission denied' <<<"$out" || fail "passerelle-flows: $* failed, but not for permission: $out"
    echo "  passerelle-flows refused: $*"
  }
  unit_value() { sed -n "s/^$2=//p" "$root/usr/lib/systemd/system/$1"; }
  owner_mode() { in_root stat -c '%U:%G %a' "$1"; }
  expect_owner_mode() { [ "$(owner_mode "$1")" = "$2" ] || fail "$1 is $(owner_mode "$1"), expected $2"; }
  pids=()
  cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
  trap cleanup EXIT

  say "apt-get install (offline: this namespace has loopback only)"
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/passerelle.deb >"$root/tmp/apt.log" 2>&1 ||
    { tail -30 "$root/tmp/apt.log"; fail "apt-get install failed"; }
  grep -E '^(Setting up|passerelle:)' "$root/tmp/apt.log" | sed 's/^/  /'

  say "what postinst left"
  [ "$(in_root sh -c 'command -v passerelle')" = /usr/bin/passerelle ] || fail "passerelle is not on the PATH"
  in_root id -nG passerelle | grep -qw dialout || fail "the passerelle account is not in dialout"
  in_root id -nG passerelle | grep -qw passerelle-flows || fail "the passerelle account is not in passerelle-flows (bridge socket group)"
  ! in_root id -nG passerelle-flows | grep -qw dialout || fail "passerelle-flows is in dialout"
  expect_owner_mode /var/lib/passerelle-flows root:passerelle-flows\ 750
  [ -L "$root/usr/lib/systemd/system/passerelle.service.wants/passerelle-nodered.service" ] || fail "passerelle.service does not want passerelle-nodered.service"
  expect_owner_mode /etc/passerelle root:passerelle\ 750
  expect_owner_mode /etc/passerelle/site.yaml root:passerelle\ 640
  expect_owner_mode /etc/credstore.encrypted/passerelle-store-key root:root\ 600
  expect_owner_mode /var/lib/passerelle passerelle:passerelle\ 700
  bad="$(in_root find /opt/passerelle /etc/passerelle /usr/bin/passerelle ! -type l \( -perm /022 -o ! -user root \) -print | head -5)"
  [ -z "$bad" ] || fail "group/other-writable or not root's: $bad"
  in_root passerelle --version

  say "site config: the demo's devices, the broker on loopback, the store under /var/lib/passerelle"
  sed -e 's|^  path: .*|  path: /var/lib/passerelle/site.db|' -e 's|^  keyFile: .*|  keyFile: /var/lib/passerelle/site.key|' \
    -e 's|^  format: senml-json|  broker: mqtt://127.0.0.1:1883\n  format: senml-json|' "$root/opt/passerelle/app/config/demo.yaml" >"$root/etc/passerelle/site.yaml"
  grep -q 'broker: mqtt://127.0.0.1:1883' "$root/etc/passerelle/site.yaml" || fail "could not set the broker in the demo config"
  # The demo's Node-RED section (a folder under the working directory, the gateway its supervisor) becomes the package's.
  sed -i '/^nodered:/,/^$/d' "$root/etc/passerelle/site.yaml"
  printf 'nodered:\n  supervisor: systemd\n  port: 1880\n' >>"$root/etc/passerelle/site.yaml"
  as_gateway passerelle check /etc/passerelle/site.yaml
  echo 'marronnier-42-cour' | in_root passerelle nodered passwd --config /etc/passerelle/site.yaml --stdin

  # What LoadCredentialEncrypted does: decrypt with the host key into a directory only the service reads.
  creds=/run/credentials/passerelle.service
  # What RuntimeDirectory= of passerelle.service makes: the bridge socket's directory.
  in_root install -d -m "$(unit_value passerelle.service RuntimeDirectoryMode)" -o passerelle -g passerelle "/run/$(unit_value passerelle.service RuntimeDirectory)"
  in_root install -d -m 0500 -o passerelle -g passerelle "$creds"
  in_root systemd-creds decrypt --name=passerelle-store-key /etc/credstore.encrypted/passerelle-store-key "$creds/passerelle-store-key"
  in_root chown passerelle:passerelle "$creds/passerelle-store-key"
  in_root chmod 0400 "$creds/passerelle-store-key"

  say "simulators and broker on loopback, then passerelle run as passerelle"
  conf="$(mktemp)"
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\n' >"$conf"
  mosquitto -c "$conf" >"$root/tmp/mosquitto.log" 2>&1 & pids+=($!)
  node "$repo/dist/cli/main.js" simulate --profile eastron-sdm630 --tcp 127.0.0.1:5020 --unit 1 >/dev/null & pids+=($!)
  node "$repo/dist/cli/main.js" simulate --profile soil-dfrobot --tcp 127.0.0.1:5021 --unit 1 >/dev/null & pids+=($!)
  node "$repo/dist/cli/main.js" simulate --profile senseair-s8 --tcp 127.0.0.1:5022 --unit 254 >/dev/null & pids+=($!)
  # mosquitto_sub exits 27 when it connected and timed out waiting: the broker is up.
  for _ in $(seq 50); do
    code=0 && mosquitto_sub -h 127.0.0.1 -p 1883 -t x -C 1 -W 1 >/dev/null 2>&1 || code=$?
    [ "$code" -ne 27 ] || break
    sleep 0.2
  done
  summary="$root/tmp/summary"
  mosquitto_sub -h 127.0.0.1 -p 1883 -t 'passerelle/demo-school/gw-demo/summary' -C 1 -W 240 >"$summary" & sub=$!
  # Not through as_gateway: $! must be the gateway's own pid (chroot, setpriv and env exec), not a subshell's.
  # A clean environment, as systemd gives a service.
  chroot "$root" setpriv --reuid=passerelle --regid=passerelle --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    CREDENTIALS_DIRECTORY="$creds" passerelle run --config /etc/passerelle/site.yaml --log-level info >"$root/tmp/gateway.log" 2>&1 &
  gw=$!
  pids+=("$gw")

  say "Node-RED as passerelle-nodered.service runs it: its root step, then its ExecStart as passerelle-flows"
  cond="$(unit_value passerelle-nodered.service ExecCondition)"
  [ "${cond:0:1}" = + ] || fail "ExecCondition of passerelle-nodered.service is not a root step: $cond"
  # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it (no quotes in it)
  in_root ${cond#+} || fail "the unit's root step refused: ${cond#+}"
  for f in settings.cjs unit.env user; do [ -e "$root/var/lib/passerelle-flows/$f" ] || fail "prepare left no /var/lib/passerelle-flows/$f"; done
  expect_owner_mode /var/lib/passerelle-flows/settings.cjs root:passerelle-flows\ 640
  expect_owner_mode /var/lib/passerelle-flows/credential.key root:root\ 600
  expect_owner_mode /var/lib/passerelle-flows/user passerelle-flows:passerelle-flows\ 700
  [ "$(unit_value passerelle-nodered.service ReadWritePaths)" = /var/lib/passerelle-flows/user ] || fail "the unit writes elsewhere than the user/ folder prepare made"
  # The dry-soil example: a passerelle in node on the readings, a passerelle point to the flow device.
  in_root install -o passerelle-flows -g passerelle-flows -m 0600 /opt/passerelle/app/flows/dry-soil-alert.json /var/lib/passerelle-flows/user/flows.json
  heap="$(sed -n 's/^NODERED_HEAP_MB=//p' "$root/var/lib/passerelle-flows/unit.env")"
  start="$(unit_value passerelle-nodered.service ExecStart)"
  # shellcheck disable=SC2016 # the unit's own ${NODERED_HEAP_MB}, literally
  start="${start//'${NODERED_HEAP_MB}'/$heap}"
  for f in $start; do case "$f" in /*) [ -e "$root$f" ] || fail "ExecStart names $f, absent from the package" ;; esac; done
  # shellcheck disable=SC2086,SC2046 # the unit's Environment= and ExecStart, split as systemd does
  chroot "$root" setpriv --reuid=passerelle-flows --regid=passerelle-flows --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    $(unit_value passerelle-nodered.service Environment) sh -c "cd /var/lib/passerelle-flows/user && exec $start" >"$root/tmp/nodered.log" 2>&1 &
  nr=$!
  pids+=("$nr")

  wait "$sub" || { tail -20 "$root/tmp/gateway.log"; fail "no summary on the broker within 240 s"; }
  say "summary received: $(head -c 160 "$summary")…"
  grep -q 'power_total' "$summary" || fail "summary without meter.power_total: $(head -c 300 "$summary")"

  say "Node-RED: the editor asks for a login, the nodes reach the bridge, passerelle-flows reaches nothing else"
  node -e '
    const until = Date.now() + 300e3;
    (async () => {
      for (;;) {
        try { if ((await fetch("http://127.0.0.1:1880/auth/login")).ok) break; } catch {}
        if (Date.now() > until) { console.error("no editor on 127.0.0.1:1880 within 300 s"); process.exit(1); }
        await new Promise((r) => setTimeout(r, 1000));
      }
      const s = (await fetch("http://127.0.0.1:1880/flows")).status;
      console.log("  GET /flows without a login: " + s);
      process.exit(s === 401 ? 0 : 1);
    })();' || { tail -20 "$root/tmp/nodered.log"; fail "the editor did not answer 401 without a login"; }
  for _ in $(seq 120); do grep -q 'node-red bridge client connected' "$root/tmp/gateway.log" && break; sleep 1; done
  grep -q 'node-red bridge client connected' "$root/tmp/gateway.log" || { tail -20 "$root/tmp/nodered.log"; fail "no Passerelle node connected to the bridge socket"; }
  echo "  bridge: $(in_root stat -c '%U:%G %a' /run/passerelle/bridge.sock) /run/passerelle/bridge.sock, a Passerelle node connected"
  nr_uid=""
  for p in "$root"/proc/[0-9]*; do
    grep -qa 'node-red/red.js' "$p/cmdline" 2>/dev/null && nr_uid="$(awk '/^Uid:/ { print $2 }' "$p/status")"
  done
  [ "$nr_uid" = "$(in_root id -u passerelle-flows)" ] || fail "Node-RED runs as uid '$nr_uid', not passerelle-flows"
  flows_refused ls /var/lib/passerelle
  flows_refused cat "$creds/passerelle-store-key"
  flows_refused cat /etc/passerelle/site.yaml
  flows_refused sh -c 'exec 3<>/dev/ttyS0'
  kill -TERM "$nr" 2>/dev/null || true
  kill -TERM "$gw"
  code=0 && wait "$gw" || code=$?
  [ "$code" -eq 0 ] || { tail -20 "$root/tmp/gateway.log"; fail "gateway exited $code on SIGTERM"; }
  grep -q '"msg":"gateway started"' "$root/tmp/gateway.log" || fail "no 'gateway started' in the log"
  expect_owner_mode /var/lib/passerelle/site.db passerelle:passerelle\ 600
  [ ! -e "$root/var/lib/passerelle/site.key" ] || fail "a clear key file was created beside the store: the credential was not used"
  cleanup
  pids=()

  say "second install (upgrade path) keeps config, credential and store"
  before="$(in_root sha256sum /etc/passerelle/site.yaml /etc/credstore.encrypted/passerelle-store-key /var/lib/passerelle/site.db)"
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall /tmp/passerelle.deb >"$root/tmp/apt2.log" 2>&1 ||
    { tail -30 "$root/tmp/apt2.log"; fail "second install failed"; }
  [ "$(in_root sha256sum /etc/passerelle/site.yaml /etc/credstore.encrypted/passerelle-store-key /var/lib/passerelle/site.db)" = "$before" ] ||
    fail "a second install changed the config, the credential or the store"
  expect_owner_mode /etc/passerelle/site.yaml root:passerelle\ 640

  say "purge erases config, credential and store"
  in_root dpkg --purge passerelle >/dev/null
  for f in /etc/passerelle /var/lib/passerelle /var/lib/passerelle-flows /etc/credstore.encrypted/passerelle-store-key /opt/passerelle; do
    [ ! -e "$root$f" ] || fail "$f is still there after purge"
  done
  exit 0
fi

# --- outside: the cached base root, a fresh copy, the namespaces ----------------------------------------
deb="$(realpath "${1:?usage: qemu-install-check.sh PACKAGE.deb}")"
[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot and the identity uid map need it)"
[ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || fail "$deb is not an arm64 package"
for c in debootstrap unshare "$QEMU" mosquitto mosquitto_sub ip node; do command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || fail "missing $c"; done
[ -x "$repo/dist/cli/main.js" ] || [ -f "$repo/dist/cli/main.js" ] || fail "build dist/ first (npm run build): the simulators run from it"

cache="${PASSERELLE_CACHE:-/var/cache/passerelle}"
base="$cache/bookworm-arm64-minbase-systemd.tar"
x="$(mktemp -d)"
trap 'rm -rf "$x"' EXIT
if [ ! -s "$base" ]; then
  # The mirror apt uses on this machine (a Debian one): the root gets nothing from anywhere else.
  mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\/*\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
  [ -n "$mirror" ] || mirror="$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)"
  [ -n "$mirror" ] || fail "no Debian mirror found in apt's sources"
  say "debootstrap bookworm arm64 (minbase + systemd) from $mirror"
  debootstrap --foreign --arch=arm64 --variant=minbase --include=systemd bookworm "$x/base" "$mirror" >"$x/debootstrap.log" 2>&1 ||
    { tail -20 "$x/debootstrap.log"; fail "debootstrap (first stage) failed"; }
  say "debootstrap second stage under qemu"
  run_in_namespace "$x/base" second-stage >>"$x/debootstrap.log" 2>&1 || { tail -20 "$x/debootstrap.log"; fail "debootstrap (second stage) failed"; }
  rm -rf "$x/base/var/cache/apt/archives/"*.deb "$x/base/var/lib/apt/lists/"*
  mkdir -p "$cache"
  tar -C "$x/base" --numeric-owner -cf "$base.tmp" . && mv "$base.tmp" "$base"
  rm -rf "$x/base"
  say "base root cached in $base ($(du -h "$base" | cut -f1))"
fi

say "fresh root from $base"
mkdir "$x/root"
tar -C "$x/root" --numeric-owner -xf "$base"
cp "$deb" "$x/root/tmp/passerelle.deb"
# A serial device node, root:dialout 0660 as udev makes it (mknod needs the real root, not the namespace's).
if [ ! -e "$x/root/dev/ttyS0" ]; then
  mknod -m 0660 "$x/root/dev/ttyS0" c 4 64
  chown "0:$(sed -n 's/^dialout:[^:]*:\([0-9]*\):.*/\1/p' "$x/root/etc/group")" "$x/root/dev/ttyS0"
fi
run_in_namespace "$x/root" check
say "ok: $deb installs offline in Debian bookworm arm64 and its gateway sends summaries"
