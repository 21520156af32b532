#!/bin/sh
# The `passerelle` command of the Debian package: the bundled Node runs the bundled app.
exec /opt/passerelle/node/bin/node /opt/passerelle/app/dist/cli/main.js "$@"
