#!/bin/bash
# ctl-predown.sh - roamvpnctl against the real roamvpnd: `hook predown IFACE` returns
# only once the interface's tunnel is down and resolv.conf is restored, with an
# exec VPN whose Stop= takes 2 s; its wait is bounded (--timeout) and says which
# tunnel is late; postup brings the rules back; loopback has nothing to wait for.
# Also the command line around it: status as aligned columns, colour only on a
# terminal and never with NO_COLOR, exit 3 (bus, no daemon) apart from 4 (no bus),
# an access refusal as a sentence, usage printed once on a usage error.
. "$(dirname "$0")/lib.sh"
rv_require_root
command -v script >/dev/null || { echo "SKIP: script(1) not installed"; exit 77; }
rv_setup rvpd

NS=rvpd-$$
PEER=rvpd-p-$$
rv_wire "$NS" "$PEER" 10.78.0

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules"
printf 'nameserver 10.78.0.1\n' >"$RV_TMP/resolv.conf"
cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

# The VPN runs until stopped; its Stop= takes as long as $RV_TMP/stop-seconds says
# and leaves a mark when it is done.
cat >"$RV_TMP/fake-vpn" <<EOF
#!/bin/sh
trap 'exit 0' TERM
while :; do sleep 0.1; done
EOF
cat >"$RV_TMP/slow-stop" <<EOF
#!/bin/sh
rm -f "$RV_TMP/stop-done"
sleep "\$(cat "$RV_TMP/stop-seconds")"
: >"$RV_TMP/stop-done"
EOF
chmod 755 "$RV_TMP/fake-vpn" "$RV_TMP/slow-stop"
echo 2 >"$RV_TMP/stop-seconds"

cat >"$RV_TMP/etc/roamvpn.conf" <<EOF
[General]
DNS=file
DebounceMs=200
EOF
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
[Tunnel]
Backend=exec
DNS=10.98.0.53
[exec]
Start=$RV_TMP/fake-vpn
Stop=$RV_TMP/slow-stop
EOF
cat >"$RV_TMP/etc/rules/50-wire.rules" <<EOF
[Match]
Name=lan0
[Action]
Connect=corp
EOF

resolv_is_original() { cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"; }
resolv_is_swapped() { grep -q '^nameserver 10.98.0.53' "$RV_TMP/resolv.conf"; }

# --- exit codes without a daemon -------------------------------------------------------
"$ROAMVPNCTL" --bus "unix:path=$RV_TMP/no-such-bus" status >"$RV_TMP/nobus.out" 2>&1
rc=$?
check "no bus at all: exit 4 (got $rc)" [ "$rc" = 4 ]
# rv_start_bus returns once the bus listens (its printed address, not the socket
# file, which exists a moment before listen() and made this exit 4 once).
rv_start_bus
rv_ctl status >"$RV_TMP/nodaemon.out" 2>&1
rc=$?
check "a bus without roamvpnd: exit 3 (got $rc)" [ "$rc" = 3 ]
check "... and it says roamvpnd is not running" grep -q "not running" "$RV_TMP/nodaemon.out"

# --- usage errors print one usage ------------------------------------------------------
rv_ctl hook sideways lan0 >"$RV_TMP/usage.out" 2>&1
rc=$?
check "unknown hook event: exit 2 (got $rc)" [ "$rc" = 2 ]
check "... one Usage line" [ "$(grep -c 'Usage:' "$RV_TMP/usage.out")" = 1 ]
"$ROAMVPNCTL" >"$RV_TMP/usage2.out" 2>&1
check "no command: exit 2, one Usage line" [ "$?" = 2 -a "$(grep -c 'Usage:' "$RV_TMP/usage2.out")" = 1 ]
check "-V prints the version" sh -c "'$ROAMVPNCTL' -V | grep -qx 'roamvpnctl [0-9.]*'"

rv_start_daemon "$NS"
ip -n "$NS" link set lan0 up
check "link up: corp up" rv_wait_for 10 rv_tunnel_is corp up
check "link up: DNS swapped" rv_wait_for 3 resolv_is_swapped

# --- status: aligned columns; colour only on a terminal ---------------------------------
rv_ctl status >"$RV_TMP/status.txt"
sed 's/^/    /' "$RV_TMP/status.txt"
header=$(grep '^TUNNEL ' "$RV_TMP/status.txt")
row=$(grep '^corp ' "$RV_TMP/status.txt")
# Each header's column starts where its value starts in the row below.
col_of() { awk -v s="$1" -v w="$2" 'BEGIN { print index(s, w) }'; }
check "status has a TUNNEL/STATE/BACKEND header" [ -n "$header" ]
check "STATE column aligned" [ "$(col_of "$header" STATE)" = "$(col_of "$row" ' up ')" -o \
	"$(col_of "$header" STATE)" = "$(( $(col_of "$row" ' up ') + 1 ))" ]
check "BACKEND column aligned" [ "$(col_of "$header" BACKEND)" = "$(( $(col_of "$row" ' exec ') + 1 ))" ]
check "links table has a LINK header" grep -q '^LINK  *TYPE  *STATE' "$RV_TMP/status.txt"
check "lan0 row names its rule" grep -q '^lan0 .* 50-wire ' "$RV_TMP/status.txt"
check "no colour into a pipe" sh -c "! grep -q \$'\\033' '$RV_TMP/status.txt'"
TERM=xterm script -qec "'$ROAMVPNCTL' --bus '$RV_BUS' status" /dev/null >"$RV_TMP/tty.txt" 2>&1
check "colour on a terminal" grep -q $'\033\\[32mup' "$RV_TMP/tty.txt"
TERM=xterm NO_COLOR=1 script -qec "'$ROAMVPNCTL' --bus '$RV_BUS' status" /dev/null >"$RV_TMP/tty-nc.txt" 2>&1
check "NO_COLOR: no colour on a terminal" sh -c "grep -q corp '$RV_TMP/tty-nc.txt' && ! grep -q \$'\\033\\[' '$RV_TMP/tty-nc.txt'"

# --- access refused: a sentence, not the bus's rule dump -----------------------------------
setpriv --reuid=65534 --regid=65534 --clear-groups "$ROAMVPNCTL" --bus "$RV_BUS" pause \
	>"$RV_TMP/denied.out" 2>&1
rc=$?
check "non-root pause refused: exit 1 (got $rc)" [ "$rc" = 1 ]
check "refusal is a sentence naming the group" \
	grep -qx "Permission denied: only root or members of group netdev may pause the automation." "$RV_TMP/denied.out"
cat "$RV_TMP/denied.out" | sed 's/^/    /'

# --- predown waits for the slow stop --------------------------------------------------------
rv_ctl hook predown lan0 >"$RV_TMP/predown.out" 2>&1
rc=$?
# Straight after the return, no polling: everything must already be done.
state=$(rv_tunnel_state corp)
check "predown exit 0 (got $rc)" [ "$rc" = 0 ]
check "predown returned after Stop= finished" test -e "$RV_TMP/stop-done"
check "predown returned with the tunnel down (was $state)" [ "$state" = down ]
check "predown returned with resolv.conf restored byte for byte" resolv_is_original

# --- postup: the rules decide again ---------------------------------------------------------
check "postup exit 0" rv_ctl hook postup lan0
check "postup: corp up again" rv_wait_for 10 rv_tunnel_is corp up
check "postup: DNS swapped again" rv_wait_for 3 resolv_is_swapped

# --- the wait is bounded and names the late tunnel -----------------------------------------
echo 4 >"$RV_TMP/stop-seconds"
rv_ctl hook predown lan0 --timeout 1 >"$RV_TMP/late.out" 2>&1
rc=$?
check "predown --timeout 1 with a 4 s stop: exit 1 (got $rc)" [ "$rc" = 1 ]
check "... the message names the tunnel" grep -q "corp" "$RV_TMP/late.out"
check "... and the stop had not finished then" test ! -e "$RV_TMP/stop-done"
check "the tunnel still goes down afterwards" rv_wait_for 10 rv_tunnel_is corp down
check "... and DNS is restored" rv_wait_for 3 resolv_is_original

# --- nothing to wait for: loopback, an interface that carries nothing ----------------------
rv_ctl hook predown lo >"$RV_TMP/lo.out" 2>&1
check "predown lo: exit 0 at once" [ "$?" = 0 ]
rv_ctl hook predown lan0 >/dev/null 2>&1
check "predown on an interface with no tunnel: exit 0" [ "$?" = 0 ]
check "postup lan0 once more" rv_ctl hook postup lan0
check "corp up for the daemon's stop" rv_wait_for 10 rv_tunnel_is corp up
echo 0 >"$RV_TMP/stop-seconds"

kill "$RV_DAEMON_PID"
rv_wait_for 10 sh -c "! kill -0 $RV_DAEMON_PID" || fail "daemon did not stop"
check "resolv.conf restored after the daemon stopped" resolv_is_original
rv_summary
