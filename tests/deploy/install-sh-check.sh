#!/usr/bin/env bash
# Runs deploy/install.sh for real, as root, from a checkout owned by another user, twice, and checks what
# it leaves (issue 16): code root's, nothing group/other-writable, config root:passerelle 0640, the store
# key a root-only 0600 credential; a second install keeps an edited config and the key and puts back the
# config's owner and mode. install.sh writes system-wide, so it runs in a private mount namespace where
# /etc, /opt, /usr and /var are overlays (their writes land in a temporary directory) and /run is empty:
# the machine is left as it was. install.sh's `npm ci` needs the registry (or npm's cache) and a compiler.
# A release step, run by hand as root (two npm ci: about 6.6 min of CPU, over CI's time budget); not part
# of `npm test` nor of .ci/run (docs/install.md).
# Usage: tests/deploy/install-sh-check.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
t0=$SECONDS
say() { printf 'install.sh check: %s (%d s)\n' "$1" "$((SECONDS - t0))"; }
fail() { echo "install.sh check: $*" >&2; exit 1; }

if [ "${1:-}" = --inner ]; then
  x="$2"
  for d in etc opt usr var; do
    mkdir -p "$x/upper/$d" "$x/work/$d"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$x/upper/$d,workdir=$x/work/$d" "/$d"
  done
  mount -t tmpfs -o mode=0755 tmpfs /run # postinst would talk to a running systemd if it found one
  owner_mode() { stat -c '%U:%G %a' "$1"; }
  expect_owner_mode() { [ "$(owner_mode "$1")" = "$2" ] || fail "$1 is $(owner_mode "$1"), expected $2"; }
  checks() {
    expect_owner_mode /etc/passerelle root:passerelle\ 750
    expect_owner_mode /etc/passerelle/site.yaml root:passerelle\ 640
    expect_owner_mode /etc/credstore.encrypted/passerelle-store-key root:root\ 600
    expect_owner_mode /var/lib/passerelle passerelle:passerelle\ 700
    [ ! -e /var/lib/passerelle/site.key ] || fail "a clear key file beside the store"
    bad="$(find /opt/passerelle /etc/passerelle /usr/bin/passerelle /etc/systemd/system/passerelle.service ! -type l \( -perm /022 -o ! -user root \) -print | head -5)"
    [ -z "$bad" ] || fail "group/other-writable or not root's: $bad"
    [ "$(/usr/bin/passerelle --version)" = "$(node -p "require('$x/src/package.json').version")" ] || fail "passerelle --version"
  }
  say "first install"
  (cd / && "$x/src/deploy/install.sh") >"$x/install1.log" 2>&1 || { tail -30 "$x/install1.log"; fail "first install failed"; }
  checks
  say "first install: ok; a technician edits the config, and the service account owns it (as before the fix)"
  echo "# edited on site" >>/etc/passerelle/site.yaml
  chown passerelle /etc/passerelle/site.yaml
  chmod 0664 /etc/passerelle/site.yaml
  before="$(sha256sum /etc/passerelle/site.yaml /etc/credstore.encrypted/passerelle-store-key)"
  say "second install"
  (cd / && "$x/src/deploy/install.sh") >"$x/install2.log" 2>&1 || { tail -30 "$x/install2.log"; fail "second install failed"; }
  checks
  [ "$(sha256sum /etc/passerelle/site.yaml /etc/credstore.encrypted/passerelle-store-key)" = "$before" ] || fail "the second install changed the config or the key"
  [ -d /opt/passerelle/app.previous ] || fail "no app.previous to roll back to"
  say "second install: config and key kept, config root:passerelle 0640 again"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "run as root (install.sh installs system-wide; here into overlays)"
x="$(mktemp -d)"
trap 'rm -rf "$x"' EXIT
chmod 0755 "$x"
# The checkout as a developer has it: owned by someone else, group-writable files (umask 002).
mkdir "$x/src"
(cd "$repo" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$x/src"
chmod -R g+w "$x/src"
chown -R 65534:65534 "$x/src"
unshare --mount --propagation private "$0" --inner "$x"
say "ok"
