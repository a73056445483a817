#!/bin/bash
# daemon-pptp.sh - the pptp plugin on a host whose kernel has no PPP (no ppp_generic):
#  - roamvpnd --check validates [pptp] with FILE:LINE errors, and a hostile Server=
#    (shell syntax meant for pppd's "pty" line, which pppd runs through /bin/sh) is
#    refused and never reaches a shell, neither from --check nor from `roamvpnctl up`;
#  - with a valid tunnel, the rule starts the real pppd with the plugin's command
#    line: pppd parses every option before it looks for the kernel, so its exit 4
#    ("no kernel support", named in LastError) and not 2 ("pppd refused an option")
#    proves the whole command line is one pppd accepts; the password is in no log.
# The tunnel itself (pptp <-> pptpd, MPPE, ping, DNS) needs PPP in the kernel: it is
# proven in the VM lab (tests/vm/vm-pptp-test.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"
rv_require_root
for p in pppd pptp; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed (ppp, pptp-linux)"; exit 77; }
done
if [ -c /dev/ppp ] || grep -qw ppp_generic /proc/modules 2>/dev/null; then
	echo "SKIP: this kernel has PPP; the test asserts the no-PPP path (the VM test covers PPP)"
	exit 77
fi
rv_plugin_setup rvpptp pptp
PASSWORD='pptp-s3cret-Pw'
PWNED=$RV_TMP/pwned

# ---- --check: good and hostile files ------------------------------------------------
conf() {   # conf DIR NAME BODY: a tunnel file, root's and 0600 (it holds a password)
	mkdir -p "$1/tunnels" "$1/rules"
	(umask 077; printf '%s\n' "$3" >"$1/tunnels/$2.conf")
}
GOOD=$RV_TMP/good
conf "$GOOD" corp "[Tunnel]
Backend=pptp
Routes=10.77.2.0/24
[pptp]
Server=10.77.0.2
User=alice
Password=$PASSWORD
Domain=CORP
RequireMPPE=yes
MTU=1400
Refuse=pap chap eap"
rv_check_accepts "a complete [pptp] tunnel" "$GOOD"

# Each hostile Server= alone in a file of its own: the error names file, line and key.
i=0
for server in "10.77.0.2;touch $PWNED" "\$(touch $PWNED)" "\`touch $PWNED\`" \
	"10.77.0.2 --nolaunchpppd; touch $PWNED" "-oProxyCommand=touch" "10.77.0.2|touch" \
	"host'quote" "10.77.0.2&&touch" ""; do
	i=$((i + 1))
	D=$RV_TMP/evil$i
	conf "$D" evil "[Tunnel]
Backend=pptp
[pptp]
Server=$server
User=alice
Password=$PASSWORD"
	out=$("$ROAMVPND" --config-dir "$D" --check 2>&1); rc=$?
	check "--check refuses Server='$server' (exit $rc)" [ "$rc" != 0 ]
	check "... with FILE:LINE: Server=" grep -q "evil.conf:4: Server=" <<<"$out"
done
check "no hostile Server= ever reached a shell" [ ! -e "$PWNED" ]

bad_case() { rv_plugin_refuses "$PASSWORD" "$@"; }   # DESCRIPTION EXPECTED-REGEX BODY
bad_case "missing Password= named" 'corp.conf:[0-9]+: .*Password' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice"
bad_case "unknown key named with its line" 'corp.conf:6: .*Gateway' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice
Gateway=x
Password=$PASSWORD"
bad_case "RequireMPPE=maybe refused" 'corp.conf:7: RequireMPPE=' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice
Password=$PASSWORD
RequireMPPE=maybe"
bad_case "MTU=100 refused" 'corp.conf:7: MTU=' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice
Password=$PASSWORD
MTU=100"
bad_case "Refuse=bogus refused" 'corp.conf:7: Refuse=' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice
Password=$PASSWORD
Refuse=pap bogus"
bad_case "refusing both MS-CHAPs with MPPE is an error" 'corp.conf:7: Refuse= refuses both MS-CHAP' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice
Password=$PASSWORD
Refuse=mschap mschap-v2"
bad_case "a control character in User= refused" 'corp.conf:5: User=' "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=ali$(printf '\001')ce
Password=$PASSWORD"
D=$RV_TMP/mode; conf "$D" corp "[Tunnel]
Backend=pptp
[pptp]
Server=10.77.0.2
User=alice
Password=$PASSWORD"
chmod 644 "$D/tunnels/corp.conf"
out=$("$ROAMVPND" --config-dir "$D" --check 2>&1)
check "--check refuses a world-readable file with a password" grep -q 'corp.conf: holds secrets but is accessible by group or others' <<<"$out"

# ---- the daemon: the rule starts pppd with the plugin's command line --------------------
C=rvpptp-cli-$$
rv_netns_add "$C"
ip link add lan0 netns "$C" type veth peer name lan0p netns "$C"
ip -n "$C" addr add 10.77.0.1/24 dev lan0
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
cp -p "$GOOD/tunnels/corp.conf" "$RV_TMP/etc/tunnels/"
# The hostile file is not here: a tunnel directory with an error is not loaded at all.
rv_corp_on_lan0 'BackoffInitialMs=60000\n'
rv_start_bus
rv_start_daemon "$C"
last_error() { rv_ctl_json tunnels | jq -r '.. | objects | select(.Name? == "corp") | .LastError' | head -1; }
ip -n "$C" link set lan0 up
ip -n "$C" link set lan0p up
if rv_wait_for 20 sh -c "'$ROAMVPNCTL' --bus '$RV_BUS' --json tunnels | grep -q 'no PPP support'"; then
	ok "LastError names the missing kernel PPP support: $(last_error)"
else
	fail "LastError after the rule started pptp: '$(last_error)'"
fi
check "pppd accepted every option the plugin gave it (exit 4, not 2)" grep -q 'pppd exited with status 4' "$RV_TMP/daemon.log"
check "pppd loaded passwordfd.so (the password's way in)" grep -q 'Plugin passwordfd.so loaded' "$RV_TMP/daemon.log"
check "the password is not in the daemon's log" sh -c "! grep -qF '$PASSWORD' '$RV_TMP/daemon.log'"
check "the tunnel is not up" sh -c "[ \"\$(\"$ROAMVPNCTL\" --bus \"$RV_BUS\" --json tunnels | jq -r '.. | objects | select(.Name? == \"corp\") | .State' | head -1)\" != up ]"
check "resolv.conf untouched" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"
check "no hostile Server= ever reached a shell" [ ! -e "$PWNED" ]

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -40 "$RV_TMP/daemon.log"; }
rv_summary
