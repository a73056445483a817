#!/bin/bash
# daemon-bus-restart.sh - the system bus restarts under a running roamvpnd: the daemon
# notices, reconnects, owns net.roamvpn1 again and exports the same objects with the
# same state; a tunnel that was up stays up (the bus is not the tunnel), methods work
# again, and the daemon process is the one that was running. Twice, and once with the
# bus away for 3 s (the daemon keeps retrying, with backoff).
. "$(dirname "$0")/lib.sh"
rv_require_root
rv_setup rvbus

NS=rvbus-$$
rv_netns_add "$NS"
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
printf '#!/bin/sh\ntrap "exit 0" TERM\nwhile :; do sleep 0.1; done\n' >"$RV_TMP/fake-vpn"
chmod 755 "$RV_TMP/fake-vpn"
printf '[General]\nDNS=file\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=%s\n' "$RV_TMP/fake-vpn" >"$RV_TMP/etc/tunnels/corp.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=%s\n' "$RV_TMP/fake-vpn" >"$RV_TMP/etc/tunnels/home.conf"

start_bus() { rv_start_bus; RV_BUS_PID=${RV_PIDS[-1]}; }
stop_bus() {
	kill "$RV_BUS_PID"
	for _ in $(seq 50); do kill -0 "$RV_BUS_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$RV_BUS_PID" 2>/dev/null
	rm -f "$RV_TMP/bus"
}
vpns() { pgrep -f "$RV_TMP/fake-vpn" | wc -l; }
no_vpn() { [ "$(vpns)" = 0 ]; }
reconnects() { grep -c 'connected to the .* bus again' "$RV_TMP/daemon.log"; }

start_bus
rv_start_daemon "$NS"
# The daemon itself (rv_start_daemon's pid is the unshare wrapper, which execs it).
pid=$RV_DAEMON_PID
check "tunnels exported" rv_wait_for 5 rv_tunnel_is corp down
rv_ctl up corp >/dev/null
check "corp up before the restart" rv_wait_for 5 rv_tunnel_is corp up

for round in 1 2; do
	stop_bus
	check "round $round: daemon alive without a bus" kill -0 "$pid"
	sleep 0.5
	start_bus
	check "round $round: daemon answers on the new bus" rv_wait_for 15 rv_ctl status
	check "round $round: it logged the reconnect" [ "$(reconnects)" = "$round" ]
	check "round $round: same daemon process" kill -0 "$pid"
	check "round $round: corp still up, exported again" rv_wait_for 5 rv_tunnel_is corp up
	check "round $round: home exported again" rv_tunnel_is home down
	check "round $round: one VPN process (tunnel untouched)" [ "$(vpns)" = 1 ]
	rv_ctl_json status >"$RV_TMP/status.json"
	check "round $round: status lists both tunnels" \
		jq -e '[.. | objects | select(.Name? == "corp" or .Name? == "home")] | length >= 2' "$RV_TMP/status.json"
done

# Methods work on the new connection: down, then up again.
rv_ctl down corp >/dev/null
check "down through the new connection" rv_wait_for 5 rv_tunnel_is corp down
check "VPN process gone" rv_wait_for 5 no_vpn

# The bus away for 3 s: the daemon keeps retrying and comes back.
stop_bus
sleep 3
start_bus
check "after 3 s without a bus: back" rv_wait_for 15 rv_ctl status
check "after 3 s without a bus: same daemon" kill -0 "$pid"
rv_ctl up home >/dev/null
check "up through the third connection" rv_wait_for 5 rv_tunnel_is home up
# (From the start on: what happens at startup is daemon-core's to judge.)
check "no critical or assertion since the first connection" \
	sh -c "! sed -n '/running (config/,\$p' '$RV_TMP/daemon.log' | grep -q -i -e critical -e assertion"

kill "$pid"
check "clean stop" rv_wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
check "no VPN process after stop" rv_wait_for 5 no_vpn
rv_summary
