#!/usr/bin/env bash
# Keeps in a production node_modules only what runs on linux-<arch>: the compiled better-sqlite3
# addon (not its 13 MB SQLite sources nor build objects), serialport's prebuild for the target, and
# no prebuild, test or build leftover of another platform. Strips the native modules.
# Usage: prune.sh NODE_MODULES ARCH GNU_TRIPLET
set -euo pipefail
nm="$1" arch="$2" gnu="$3"
bs3="$nm/better-sqlite3-multiple-ciphers"
find "$bs3/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$bs3/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
rm -rf "$bs3/deps" "$bs3/src"
for d in "$nm/@serialport/bindings-cpp/prebuilds"/*; do
  [ "$(basename "$d")" = "linux-$arch" ] || rm -rf "$d"
done
# Prebuilds come for glibc and musl: the gateway runs glibc.
find "$nm" -name '*.musl.node' -delete
rm -rf "$nm/@serialport/bindings-cpp/src" "$nm/@serialport/bindings-cpp/build" "$nm/cbor-extract/src" "$nm/cbor-extract/build"
# Nothing in node_modules is run by its shebang (the bundled Node runs the app), and .node addons are
# loaded, not executed: no executable bit. Lint and VCS files are of no use on a gateway.
rm -rf "$nm/.bin"
find "$nm" -type f -perm /111 -exec chmod a-x {} +
find "$nm" \( -name '.eslintrc*' -o -name '.eslintignore' -o -name '.npmignore' -o -name '.gitignore' \
  -o -name '.gitattributes' -o -name '.travis.yml' -o -name '.github' \) -prune -exec rm -rf {} +
# Python bytecode that node-gyp's python left in the build tree (npm, a dependency of Node-RED's registry,
# carries node-gyp): regenerated on use, never shipped.
find "$nm" -name __pycache__ -type d -prune -exec rm -rf {} +
# Debug symbols are not needed on site (and not wanted in a 1 GB SD card's package cache).
find "$nm" -name '*.node' -type f -exec "$gnu-strip" --strip-unneeded {} +
