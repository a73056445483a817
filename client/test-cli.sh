#!/bin/sh
# test-cli.sh BUILD_ROOT - the command lines without a daemon: versions, help,
# usage errors (one usage, exit 2), exit 4 without a bus, roamvpn-hook's --help
# and --version, roamvpnd --check on a missing directory. No root. TAP.
set -u
B=${1:?usage: test-cli.sh BUILD_ROOT}
CTL=$B/client/roamvpnctl
D=$B/daemon/roamvpnd
H=$B/hooks/roamvpn-hook
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
t() {
	desc=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fail=1; fi
}
rc() { "$@" >"$tmp/out" 2>"$tmp/err"; echo $?; }

echo "1..14"
t "roamvpnctl -V" sh -c "'$CTL' -V | grep -qx 'roamvpnctl [0-9][0-9.]*'"
t "roamvpnctl --help exits 0 and lists hook" sh -c "'$CTL' --help | grep -q '^  hook '"
t "no command: exit 2" [ "$(rc "$CTL")" = 2 ]
t "... usage printed once" [ "$(grep -c '^Usage:' "$tmp/err")" = 1 ]
t "unknown command: exit 2" [ "$(rc "$CTL" frobnicate)" = 2 ]
t "too many arguments: exit 2, the command's usage once" \
	sh -c "[ \"\$('$CTL' pause now 2>&1 >/dev/null | grep -c '^Usage: roamvpnctl pause')\" = 1 ]"
t "bad --timeout: exit 2" [ "$(rc "$CTL" hook predown lan0 --timeout -1)" = 2 ]
t "no bus: exit 4" [ "$(rc "$CTL" --bus "unix:path=$tmp/nobus" status)" = 4 ]
t "roamvpn-hook --help: exit 0" sh -c "'$H' --help | grep -q '^Usage: roamvpn-hook'"
t "roamvpn-hook --version" sh -c "'$H' --version | grep -qx 'roamvpn-hook [0-9][0-9.]*'"
t "roamvpnd --version" sh -c "'$D' --version | grep -qx 'roamvpnd [0-9][0-9.]*'"
t "roamvpnd --check --config-dir /nonexistent: exit 1" \
	[ "$(rc "$D" --check --config-dir "$tmp/nonexistent")" = 1 ]
t "... and says so, not 'valid'" sh -c "grep -q 'no such configuration directory' '$tmp/err' && ! grep -q valid '$tmp/out'"
mkdir "$tmp/empty"
t "roamvpnd --check on an empty directory: valid" [ "$(rc "$D" --check --config-dir "$tmp/empty")" = 0 ]
exit $fail
