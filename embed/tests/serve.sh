#!/bin/sh
# Starts the real binary for the browser tests in a fresh data directory that
# the unprivileged database user can reach (never inside the checkout, which
# may sit under a 0700 directory).
set -e
dir="${TMPDIR:-/tmp}/parley-e2e-$1"
rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$dir"
# the site admin of the admin tests (the first account to sign up would
# be one too, but the tests run in any order)
printf 'site admin password\n' | ../parley user create siteadmin --admin --data-dir "$dir" >/dev/null
# the link preview test serves its page on 127.0.0.1
PARLEY_TEST_FETCH_ALLOW=127.0.0.0/8 exec ../parley serve --addr "127.0.0.1:$1" --data-dir "$dir" --log-format json --log-level warn --send-rate 0 --signup-rate 0
