#!/bin/bash
# daemon-fault-injection.sh - kill -9 roamvpnd at random moments while tunnels start
# and stop and DNS is swapped, ROUNDS times (100), restarting it each time. After every
# restart (with the link down, so nothing is wanted) the test asserts: resolv.conf is
# byte for byte the original, no tunnel device, no route into a tunnel, no kill-switch
# nft rule and no VPN process is left over. The tunnel is an exec tunnel with
# Report=hook whose program holds a real TUN device and reports address, split route
# and DNS through roamvpn-hook, as vpnc does; one rule connects it with KillSwitch=yes.
# RV_FI_SEED (default: random, printed) replays a run. Takes ~3-6 min.
. "$(dirname "$0")/lib.sh"
rv_require_root
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
HOOK=${ROAMVPN_HOOK_PATH:-$RV_BUILD/hooks/roamvpn-hook}
[ -x "$HOOK" ] || { echo "FAIL: $HOOK not built"; exit 1; }
rv_setup rvfi

ROUNDS=${RV_FI_ROUNDS:-100}
SEED=${RV_FI_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
echo "seed $SEED (RV_FI_SEED=$SEED replays this run), $ROUNDS rounds"

NS=rvfi-$$
PEER=rvfi-p-$$
DEV=rvfi0
rv_wire "$NS" "$PEER" 10.77.0

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state" "$RV_TMP/run"
printf '# the network'"'"'s own resolver\nnameserver 10.77.0.1\nsearch lan.example\n' >"$RV_TMP/resolv.conf"
cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"
cp "$(dirname "$0")/fault-vpn.py" "$RV_TMP/fake-vpn"
chmod 755 "$RV_TMP/fake-vpn"
printf '[General]\nDNS=file\nDebounceMs=50\nBackoffInitialMs=100\n' >"$RV_TMP/etc/roamvpn.conf"
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
[Tunnel]
Backend=exec
Interface=$DEV
[exec]
Start=$RV_TMP/fake-vpn $DEV $RV_TMP/run
Report=hook
EOF
cat >"$RV_TMP/etc/rules/50-wire.rules" <<EOF
[Match]
Type=ether
Carrier=yes
[Action]
Connect=corp
KillSwitch=yes
EOF
export ROAMVPN_HOOK_PATH=$HOOK

vpns() { pgrep -f "$RV_TMP/fake-vpn" | wc -l; }
no_vpn() { [ "$(vpns)" = 0 ]; }
no_device() { ! ip -n "$NS" link show "$DEV" >/dev/null 2>&1; }
no_tunnel_route() { ! ip -n "$NS" route show table all | grep -q -e "$DEV" -e '10\.200\.'; }
resolv_original() { cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"; }
no_nft_rule() {
	command -v nft >/dev/null || return 0
	! ip netns exec "$NS" nft list ruleset 2>/dev/null | grep -q -e 'drop' -e 'reject' -e 'accept'
}
daemon_pid=
start() {
	rv_start_daemon "$NS"
	daemon_pid=$RV_DAEMON_PID
}
# Forget a dead daemon's pid so the cleanup never signals a reused pid.
forget() {
	local keep=() p
	for p in "${RV_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	RV_PIDS=("${keep[@]}")
}
link() { ip -n "$NS" link set lan0 "$1"; [ "$1" = up ] && ip -n "$NS" route replace default via 10.77.0.1 2>/dev/null; true; }
msleep() { sleep "$(printf '0.%03d' "$1")"; }

rv_start_bus
start
declare -A bad=()
ups=0 swapped=0 closed=0
for round in $(seq "$ROUNDS"); do
	# Something happening: the link comes up (the rule connects corp), a manual
	# up or down, a flap; then a random moment to die in.
	for _ in $(seq $(( RANDOM % 3 + 1 ))); do
		case $(( RANDOM % 5 )) in
		0|1) link up ;;
		2) rv_ctl up corp >/dev/null 2>&1 ;;
		3) rv_ctl down corp >/dev/null 2>&1 ;;
		4) link down ;;
		esac
		msleep $(( RANDOM % 400 ))
	done
	msleep $(( RANDOM % 900 ))
	[ -n "$(ls "$RV_TMP/run" 2>/dev/null)" ] && ups=$((ups + 1))
	resolv_original || swapped=$((swapped + 1))
	no_nft_rule || closed=$((closed + 1))
	rm -f "$RV_TMP"/run/*
	kill -9 "$daemon_pid"
	rv_wait_for 5 sh -c "! kill -0 $daemon_pid 2>/dev/null"
	forget "$daemon_pid"
	link down
	# The VPN program dies with the daemon (PR_SET_PDEATHSIG), its TUN with it.
	rv_wait_for 5 no_vpn || bad[vpn-after-kill]+=" $round"
	start
	rv_wait_for 5 resolv_original || bad[resolv]+=" $round"
	rv_wait_for 5 no_device || bad[device]+=" $round"
	rv_wait_for 5 no_tunnel_route || bad[route]+=" $round"
	rv_wait_for 5 no_nft_rule || bad[nft]+=" $round"
	rv_wait_for 5 no_vpn || bad[vpn]+=" $round"
	rv_wait_for 5 rv_tunnel_is corp down || bad[state]+=" $round"
done

echo "    $ROUNDS rounds; at the kill: tunnel program started in $ups, resolv.conf swapped in $swapped, kill switch rules in place in $closed"
check "the tunnel was started in some rounds (the test did what it says)" [ "$ups" -gt 0 ]
check "DNS was swapped at the kill in some rounds" [ "$swapped" -gt 0 ]
check "VPN program gone after every kill -9:${bad[vpn-after-kill]:-}" [ -z "${bad[vpn-after-kill]:-}" ]
check "resolv.conf byte-identical after every restart:${bad[resolv]:-}" [ -z "${bad[resolv]:-}" ]
check "no tunnel device after every restart:${bad[device]:-}" [ -z "${bad[device]:-}" ]
check "no tunnel route after every restart:${bad[route]:-}" [ -z "${bad[route]:-}" ]
check "no kill-switch nft rule after every restart:${bad[nft]:-}" [ -z "${bad[nft]:-}" ]
check "no VPN process after every restart:${bad[vpn]:-}" [ -z "${bad[vpn]:-}" ]
check "tunnel down after every restart:${bad[state]:-}" [ -z "${bad[state]:-}" ]
check "no critical in any daemon log" sh -c "! grep -i -q critical '$RV_TMP/daemon.log'"

kill "$daemon_pid"
check "clean stop at the end" rv_wait_for 10 sh -c "! kill -0 $daemon_pid 2>/dev/null"
forget "$daemon_pid"
check "resolv.conf original at the end" resolv_original
rv_summary
