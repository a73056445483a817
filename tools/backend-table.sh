#!/bin/bash
# backend-table.sh - the README's backend table, generated from what the tests showed.
#
#   tools/backend-table.sh [--update README.md] TESTLOG.json...
#
# Reads meson's testlog.json files (build/meson-logs/testlog.json after
# `meson test --suite netns --suite vm`), takes each backend test's passed and failed
# check lines ("ok: ..." / "FAIL: ..." of the netns tests, "@@RVTEST ok|FAIL NAME" of
# the VM tests) and marks a capability for a backend only when a passing check of that
# test names it: "yes (N)" = N passed checks, "FAILED" = a check of it failed, "-" = no
# test covers it. With --update, replaces the table between the README's
# "backend-table" markers; otherwise prints it.
set -euo pipefail
UPDATE=
if [ "${1:-}" = --update ]; then UPDATE=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [--update README.md] TESTLOG.json..." >&2; exit 2; }

# test | backend | tested against
TESTS='daemon-vpnc|vpnc|real vpnc vs strongSwan 5.9 (IKEv1 PSK+XAuth, userspace ESP)
vm-pptp|pptp|real pppd + pptp vs pptpd, in Debian'"'"'s kernel under qemu (MPPE)
daemon-pptp|pptp|pppd'"'"'s own option parser on a host without PPP (configuration only)
daemon-openvpn|openvpn|OpenVPN 2.6 server (TLS, tls-crypt, username/password)
daemon-openconnect|openconnect|ocserv 1.1 (pinned certificate, password file)
daemon-ipsec|ipsec|strongSwan 5.9 IKEv2 responder (certificate + EAP-MSCHAPv2)
recipe-tinc|exec (tinc recipe)|tincd 1.0 node
recipe-ssh|exec (OpenSSH recipe)|OpenSSH 9.2 sshd, PermitTunnel
daemon-builtin|builtin|wireguard-go'

# capability <TAB> regular expression over check names (grep -E -i) <TAB> names that
# match but assert the opposite ("no default route through the tunnel (split)")
CAPS=$(printf '%s\t%s\t%s\n' \
	'routes pushed or configured' 'route .*(through|via)|daemon-route' '' \
	'full tunnel' 'full tunnel|default route through' '^no |split' \
	'DNS from the server' 'dns server in resolv|dns .*in resolv|daemon-dns|peer-dns|pushed dns' '' \
	'resolv.conf restored' 'restored byte for byte|resolv-restored' '' \
	'IPv6' 'ipv6' '' \
	'secret kept out of argv/env/log' 'not in .*(command line|environment|log)|no-secret' '' \
	'wrong credentials named' 'wrong password|refused password|wrong-password' '' \
	'no retry after an auth failure' 'no retry|not retried|no-retry' '' \
	'hostile values refused' 'hostile|never reached a shell|no-shell' '')

checks() {   # checks TEST ok|FAIL: from the last log (and run) that has the test
	local t=$1 want=$2 f out last=
	for f in "${LOGS[@]}"; do
		out=$(jq -r --arg t "$t" 'select(.name | endswith(" / " + $t)) | .stdout // ""' "$f" |
			awk -v RS='\x01' '{last=$0} END {printf "%s", last}')
		[ -n "$out" ] && last=$out
	done
	sed -n -E "s/^${want}:[[:space:]]+//p; s/.*@@RVTEST ${want} //p" <<<"$last"
}
LOGS=("$@")

table() {
	local header="| backend | tested against |" sep="| --- | --- |" cap re
	while IFS=$'\t' read -r cap _; do header="$header $cap |"; sep="$sep --- |"; done <<<"$CAPS"
	echo "$header"; echo "$sep"
	while IFS='|' read -r test backend against; do
		local ok fails row n
		ok=$(checks "$test" ok)
		fails=$(checks "$test" FAIL)
		[ -n "$ok$fails" ] || continue		# not run in these logs
		row="| $backend | $against (\`$test\`) |"
		while IFS=$'\t' read -r cap re not; do
			n=$(grep -iE -- "$re" <<<"$ok" | { if [ -n "$not" ]; then grep -viE -- "$not"; else cat; fi; } | grep -c . || true)
			if [ -n "$fails" ] && grep -qiE -- "$re" <<<"$fails"; then row="$row FAILED |"
			elif [ "$n" -gt 0 ]; then row="$row yes ($n) |"
			else row="$row - |"; fi
		done <<<"$CAPS"
		echo "$row"
	done <<<"$TESTS"
}

if [ -z "$UPDATE" ]; then
	table
	exit 0
fi
grep -q '<!-- backend-table begin' "$UPDATE" || { echo "$UPDATE has no backend-table markers" >&2; exit 1; }
T=$(table)
awk -v table="$T" '
	/<!-- backend-table begin/ {print; print table; skip=1; next}
	/<!-- backend-table end/ {skip=0}
	!skip {print}' "$UPDATE" >"$UPDATE.new"
mv "$UPDATE.new" "$UPDATE"
