#!/bin/bash
# daemon-killswitch.sh - the kill switch and the captive portal with real packets.
#
#   laptop (rvks-l)          café router (rvks-c)               internet (rvks-i)
#   cafe0 --------------- lan0  [dnsmasq: DHCP + DNS]  wan0 ------- net0 10.82.0.2 fd82::2
#   DHCP 10.81.0.5x        10.81.0.1  [portal :8080, nft DNAT      web :80 (/check -> 204),
#   fd81::2                 of port 80 until login]                sink tcp 9000, echo udp 9001,
#   roamvpnd, tunnel rvks0                                         roamvpn-engine as the VPN
#   (builtin, full tunnel)                                         server 10.83.0.1, dnsmasq
#
# A rule "Name=cafe0 / Connect=rvks0 / KillSwitch=yes" and PortalProbe=http://10.82.0.2/check.
# The café counts, at its own ingress, every packet the laptop sends (nft counters in
# the café's namespace): DHCP, ND, the portal probe, the tunnel's UDP and "leak" for
# anything else. Checked: the switch closes when the link comes up; DHCP works through
# it; the probe finds the portal, the tunnel waits, nothing leaks (TCP, UDP, ICMP, IPv6,
# DNS); a login window lets DNS and HTTP through and closes on time; after the login the
# probe passes and the tunnel comes up, its handshake having passed the switch; traffic
# goes through the tunnel (the sink sees the tunnel address; byte counters of rvks0 and
# cafe0), DNS to the café's resolver is dropped, DNS in the tunnel works; the engine
# killed -9: nothing leaks until it is back; a trusted rule: no table; roamvpnd killed -9:
# the table stays, a restart reconciles it (kept, or removed when no rule wants it);
# SIGTERM: table gone. All nft work happens in the test's own namespaces.
. "$(dirname "$0")/lib.sh"
rv_require_root
ENGINE=${ROAMVPN_ENGINE:-$RV_BUILD/engine/roamvpn-engine}
HELPER=$RV_SRC/tests/netns/killswitch-helper.py
[ -x "$ENGINE" ] || { echo "SKIP: $ENGINE not built"; exit 77; }
for p in nft dnsmasq busybox curl python3 wg ping; do
	command -v $p >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
export ROAMVPN_ENGINE=$ENGINE
rv_setup rvks

L=rvks-l-$$; C=rvks-c-$$; I=rvks-i-$$
TUN=rvks0
SRV_IF=rvks-s$$; SRV_IF=${SRV_IF:0:15}	# wireguard sockets are not per namespace
for n in $L $C $I; do rv_netns_add "$n"; done
trap 'rm -f /var/run/wireguard/$SRV_IF.sock; rv_cleanup' EXIT

ip link add cafe0 netns "$L" type veth peer name lan0 netns "$C"
ip link add wan0 netns "$C" type veth peer name net0 netns "$I"
ip -n "$C" addr add 10.81.0.1/24 dev lan0
ip -n "$C" addr add fd81::1/64 dev lan0 nodad
ip -n "$C" addr add 10.82.0.1/24 dev wan0
ip -n "$C" addr add fd82::1/64 dev wan0 nodad
ip -n "$C" link set lan0 up; ip -n "$C" link set wan0 up
ip netns exec "$C" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$I" addr add 10.82.0.2/24 dev net0
ip -n "$I" addr add fd82::2/64 dev net0 nodad
ip -n "$I" link set net0 up
ip -n "$I" route add default via 10.82.0.1
ip -n "$I" -6 route add default via fd82::1

# --- the café: what it counts, its portal (DNAT of port 80 until a login) ----------------
ip netns exec "$C" nft -f - <<'EOF'
table inet rvkswatch {
	counter dhcp {}
	counter nd {}
	counter probe {}
	counter tunnel {}
	counter leak {}
	chain ingress {
		type filter hook prerouting priority -300; policy accept;
		iifname != "lan0" return
		udp dport { 67, 547 } counter name dhcp return
		icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } counter name nd return
		ip daddr 10.82.0.2 udp dport { 500, 4500, 10000, 51820 } counter name tunnel return
		ip daddr 10.82.0.2 meta l4proto esp counter name tunnel return
		ip daddr 10.82.0.2 tcp dport 80 counter name probe return
		counter name leak
	}
}
table ip rvksportal {
	set allowed { type ipv4_addr; }
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "lan0" ip saddr != @allowed tcp dport 80 dnat to 10.81.0.1:8080
	}
}
EOF
counter() { ip netns exec "$C" nft -j list counter inet rvkswatch "$1" | jq '.nftables[] | select(.counter) | .counter.packets'; }
reset_leaks() { ip netns exec "$C" nft reset counter inet rvkswatch leak >/dev/null; }
no_leak() {	# description
	local n; n=$(counter leak)
	if [ "$n" = 0 ]; then ok "$1: nothing else left the laptop (café counter)"; else
		fail "$1: $n packets left the laptop besides DHCP, ND, probe and tunnel"; fi
}

cat >"$RV_TMP/dnsmasq-cafe.conf" <<EOF
interface=lan0
bind-interfaces
except-interface=lo
no-resolv
no-hosts
address=/internet.test/10.82.0.2
address=/vpn.test/10.82.0.2
dhcp-range=10.81.0.50,10.81.0.60,255.255.255.0,1h
dhcp-option=option:router,10.81.0.1
dhcp-option=option:dns-server,10.81.0.1
dhcp-leasefile=$RV_TMP/dnsmasq-cafe.leases
pid-file=
EOF
ip netns exec "$C" dnsmasq --keep-in-foreground --conf-file="$RV_TMP/dnsmasq-cafe.conf" \
	--log-facility="$RV_TMP/dnsmasq-cafe.log" --log-dhcp --log-queries --user=root &
RV_PIDS+=($!)
ip netns exec "$C" python3 "$HELPER" portal 10.81.0.1 8080 rvksportal 2>"$RV_TMP/portal.log" &
RV_PIDS+=($!)

# --- the internet: check target, sink, echo, the VPN server and its resolver ----------------
ip netns exec "$I" python3 "$HELPER" web 10.82.0.2 80 2>"$RV_TMP/web.log" &
RV_PIDS+=($!)
ip netns exec "$I" python3 "$HELPER" sink 0.0.0.0 9000 2>"$RV_TMP/sink.log" &
RV_PIDS+=($!)
ip netns exec "$I" python3 "$HELPER" sink :: 9006 2>"$RV_TMP/sink6.log" &
RV_PIDS+=($!)
ip netns exec "$I" python3 "$HELPER" udpecho 0.0.0.0 9001 2>/dev/null &
RV_PIDS+=($!)
umask 077
wg genkey >"$RV_TMP/key_laptop"; wg pubkey <"$RV_TMP/key_laptop" >"$RV_TMP/pub_laptop"
wg genkey >"$RV_TMP/key_srv"; wg pubkey <"$RV_TMP/key_srv" >"$RV_TMP/pub_srv"
umask 022
ip netns exec "$I" "$ENGINE" --foreground "$SRV_IF" </dev/null >"$RV_TMP/server-engine.log" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 15 test -S /var/run/wireguard/$SRV_IF.sock || { fail "VPN server engine started"; rv_summary; exit 1; }
ip netns exec "$I" wg set "$SRV_IF" listen-port 51820 private-key "$RV_TMP/key_srv" \
	peer "$(cat "$RV_TMP/pub_laptop")" allowed-ips 10.83.0.2/32,fd83::2/128
ip -n "$I" addr add 10.83.0.1/24 dev "$SRV_IF"
ip -n "$I" addr add fd83::1/64 dev "$SRV_IF" nodad
ip -n "$I" link set "$SRV_IF" mtu 1420 up
ip netns exec "$I" dnsmasq --keep-in-foreground --listen-address=10.83.0.1 --bind-interfaces \
	--no-resolv --no-hosts --address=/internet.test/10.82.0.2 --address=/vpn.test/10.82.0.2 \
	--pid-file= --user=root \
	--log-facility="$RV_TMP/dnsmasq-vpn.log" --log-queries &
RV_PIDS+=($!)

# --- the laptop's configuration -------------------------------------------------------------
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
cat >"$RV_TMP/etc/roamvpn.conf" <<EOF
[General]
DNS=file
DebounceMs=200
BackoffInitialMs=3000
PortalProbe=http://10.82.0.2/check
PortalTimeoutMs=15000
PortalWindowSec=40
EOF
( umask 077; cat >"$RV_TMP/etc/tunnels/$TUN.conf" <<EOF
[Interface]
PrivateKey = $(cat "$RV_TMP/key_laptop")
Address = 10.83.0.2/32, fd83::2/128
DNS = 10.83.0.1

[Peer]
PublicKey = $(cat "$RV_TMP/pub_srv")
Endpoint = 10.82.0.2:51820
AllowedIPs = 0.0.0.0/0, ::/0
PersistentKeepalive = 25
EOF
)
rule_kill_switch() { printf '[Match]\nName=cafe0\n[Action]\nConnect=%s\nKillSwitch=yes\n' $TUN >"$RV_TMP/etc/rules/50-cafe.rules"; }
rule_trusted() { printf '[Match]\nName=cafe0\n[Action]\nDisconnect=all\n' >"$RV_TMP/etc/rules/50-cafe.rules"; }
rule_kill_switch

check "--check accepts KillSwitch=yes and PortalProbe=" "$ROAMVPND" --check --config-dir "$RV_TMP/etc"
mkdir -p "$RV_TMP/bad/rules"
printf '[Match]\nName=x\n[Action]\nDisconnect=all\nKillSwitch=yes\n' >"$RV_TMP/bad/rules/10-bad.rules"
printf '[General]\nPortalProbe=https://x.test/\n' >"$RV_TMP/bad/roamvpn.conf"
"$ROAMVPND" --check --config-dir "$RV_TMP/bad" >"$RV_TMP/check.out" 2>&1
check "--check: KillSwitch= without Connect= is FILE:LINE" grep -q '10-bad.rules:5: KillSwitch=yes needs Connect=' "$RV_TMP/check.out"
check "--check: an https PortalProbe= is FILE:LINE" grep -q 'roamvpn.conf:2: PortalProbe=' "$RV_TMP/check.out"

# --- helpers -----------------------------------------------------------------------------------
in_l() { ip netns exec "$L" "$@"; }
table_present() { in_l nft list table inet roamvpn >/dev/null 2>&1; }
table_absent() { ! table_present; }
link_prop() { rv_ctl_json links | jq -r --arg n cafe0 ".[] | select(.Name == \$n) | .$1"; }
link_prop_is() { [ "$(link_prop "$1")" = "$2" ]; }
engine_pids() {
	local p
	for p in $(ip netns pids "$L" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = roamvpn-engine ] && echo "$p"
	done
}
tcp_ok() { timeout 30 ip netns exec "$L" python3 "$HELPER" tcp "$@" >/dev/null 2>&1; }
tcp_blocked() { ! tcp_ok "$@"; }
udp_blocked() { ! timeout 10 ip netns exec "$L" python3 "$HELPER" udp "$@" 2>/dev/null; }
ping_ok() { timeout 10 ip netns exec "$L" ping -n -c 1 -W 5 "$@" >/dev/null 2>&1; }
ping_blocked() { ! ping_ok "$@"; }
dns_ok() { timeout 15 ip netns exec "$L" busybox nslookup internet.test "$1" 2>/dev/null | grep -q 10.82.0.2; }
dns_blocked() { ! dns_ok "$@"; }
http_ok() { timeout 20 ip netns exec "$L" curl -s -m 15 -o /dev/null "$@"; }
http_blocked() { ! http_ok "$@"; }
bytes() { in_l cat "/sys/class/net/$1/statistics/tx_bytes"; }

rv_start_bus
rv_start_daemon "$L"
check "no table while the link is down" table_absent

# --- the link joins: the switch closes at once; DHCP works through it ----------------------
ip -n "$L" addr add fd81::2/64 dev cafe0 nodad
ip -n "$L" link set cafe0 up
check "link up -> table inet roamvpn installed (15 s)" rv_wait_for 15 table_present
check "D-Bus Link.KillSwitch = closed" rv_wait_for 15 link_prop_is KillSwitch closed
check "D-Bus Link.KillSwitchReason names the rule" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' --json links | jq -r '.[] | select(.Name == \"cafe0\") | .KillSwitchReason' | grep -q '50-cafe: KillSwitch=yes, Connect=$TUN'"
check "roamvpnctl --json killswitch: cafe0, closed, the rule" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' --json killswitch | jq -e '.[0].Interface == \"cafe0\" and .[0].KillSwitch == \"closed\" and (.[0].Reason | startswith(\"rule 50-cafe\"))' >/dev/null"
check "roamvpnctl killswitch cafe0 says on, closed" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' killswitch cafe0 | grep -q 'kill switch on: closed (rule 50-cafe'"
in_l nft list table inet roamvpn >"$RV_TMP/table-closed.txt" 2>&1

cat >"$RV_TMP/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
bound|renew)
	ip -4 addr flush dev "$interface" scope global
	ip addr add "$ip/${mask:-24}" dev "$interface"
	ip route replace default via "$router" dev "$interface"
	echo "$ip $router $dns" >"$LEASE_FILE" ;;
esac
EOF
chmod 755 "$RV_TMP/udhcpc.script"
timeout 60 ip netns exec "$L" env LEASE_FILE="$RV_TMP/lease" \
	busybox udhcpc -i cafe0 -s "$RV_TMP/udhcpc.script" -q -n -t 20 -T 2 >"$RV_TMP/udhcpc.log" 2>&1
check "DHCP through the closed switch: a lease from the café's dnsmasq" grep -q '^10\.81\.0\.5[0-9]\|^10\.81\.0\.60' "$RV_TMP/lease"
check "... the DHCP exchange was counted at the café" [ "$(counter dhcp)" -gt 0 ]
ip -n "$L" -6 route add default via fd81::1 dev cafe0

# --- the portal: found, the tunnel waits, nothing leaks ---------------------------------------
check "probe finds the captive portal: Link.Portal = portal (30 s)" rv_wait_for 30 link_prop_is Portal portal
check "Link.PortalURL is the login page" link_prop_is PortalURL "http://10.81.0.1:8080/login"
check "roamvpnctl status says the link is behind a captive portal" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' status | grep -q 'cafe0 is behind a captive portal'"
check "explain cafe0: rule, kill switch on, portal state" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' explain cafe0 | tr '\n' ' ' | grep -q '50-cafe: matched -> connect $TUN (kill switch).*kill switch: on (closed).*portal check: portal'"
"$ROAMVPNCTL" --bus "$RV_BUS" explain cafe0 >"$RV_TMP/explain-portal.txt" 2>&1
check "the probe reached the café (its counter)" [ "$(counter probe)" -gt 0 ]
check "the tunnel waits: down" rv_tunnel_is $TUN down
check "... no engine runs" [ -z "$(engine_pids)" ]
reset_leaks
check "before the tunnel: TCP to the internet host blocked" tcp_blocked 10.82.0.2 9000 1000
check "before the tunnel: UDP blocked" udp_blocked 10.82.0.2 9001
check "before the tunnel: ICMP blocked" ping_blocked 10.82.0.2
check "before the tunnel: ICMP bound to cafe0 blocked" ping_blocked -I cafe0 10.82.0.2
check "before the tunnel: IPv6 ICMP blocked" ping_blocked fd82::2
check "before the tunnel: IPv6 TCP blocked" tcp_blocked fd82::2 9006 1000
check "before the tunnel: DNS to the café's resolver blocked" dns_blocked 10.81.0.1
check "before the tunnel: the login page is not reachable either" http_blocked http://10.81.0.1:8080/login
no_leak "portal, switch closed"
rejected() { ip netns exec "$L" nft list table inet roamvpn | sed -n 's/.*counter packets \([0-9]*\) .*reject.*/\1/p' | head -1; }
check "the switch rejected those attempts itself (its counter: $(rejected))" [ "$(rejected)" -ge 8 ]
check "the tunnel still waits (no retry loop): down, no LastError" sh -c "[ \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -r '.[] | select(.Name == \"$TUN\") | .State + \"/\" + .LastError')\" = down/ ]"

# --- a login window that is not used closes again ----------------------------------------------
out=$("$ROAMVPNCTL" --bus "$RV_BUS" portal cafe0 2>&1)
check "roamvpnctl portal cafe0 opens a window ($out)" sh -c "echo '$out' | grep -q 'Login window open for 40 s'"
check "Link.KillSwitch = login-window" rv_wait_for 15 link_prop_is KillSwitch login-window
check "window: HTTP passes (the café's redirect answers)" sh -c "timeout 20 ip netns exec $L curl -s -m 15 -o /dev/null -w '%{http_code} %{redirect_url}' http://10.82.0.2/ | grep -q '302 http://10.81.0.1:8080/login'"
check "window: DNS to the café's resolver passes" dns_ok 10.81.0.1
check "window: other TCP still blocked" tcp_blocked 10.82.0.2 9000 1000
# The checks above prove something only if the window was still open while they ran
# (40 s is a bound for a loaded machine, not a speed being measured).
check "... the window was still open during those checks" link_prop_is KillSwitch login-window
check "window times out: the switch closes again (60 s)" rv_wait_for 60 link_prop_is KillSwitch closed
check "... the login page is blocked again" http_blocked http://10.81.0.1:8080/login
check "... still a portal, the tunnel still down" sh -c "[ \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json links | jq -r '.[] | select(.Name == \"cafe0\") | .Portal')\" = portal ] && [ \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -r '.[] | select(.Name == \"$TUN\") | .State')\" = down ]"

# --- log in: the probe passes, the window closes, the tunnel comes up ---------------------------
check "roamvpnctl portal (no interface: the one behind a portal)" "$ROAMVPNCTL" --bus "$RV_BUS" portal
check "window: the login form is served" sh -c "timeout 20 ip netns exec $L curl -s -m 15 http://10.81.0.1:8080/login | grep -q '<form'"
check "window: the login is posted" sh -c "timeout 20 ip netns exec $L curl -s -m 15 -d user=guest http://10.81.0.1:8080/login | grep -q Welcome"
check "the probe passes: Link.Portal = online (30 s)" rv_wait_for 30 link_prop_is Portal online
check "the tunnel comes up (45 s)" rv_wait_for 45 rv_tunnel_is $TUN up
check "the window closed: Link.KillSwitch = tunnel" rv_wait_for 15 link_prop_is KillSwitch tunnel
reset_leaks

# --- tunnel up: everything through it; DNS outside it dropped -----------------------------------
check "ping to the internet host through the tunnel (handshake, 10 s)" rv_wait_for 30 ping_ok 10.82.0.2
check "the tunnel's handshake passed the switch (café counter)" [ "$(counter tunnel)" -gt 0 ]
check "the server saw the handshake" sh -c "ip netns exec $I wg show $SRV_IF latest-handshakes | awk '{exit !(\$2 > 0)}'"
tun0=$(bytes $TUN); phy0=$(bytes cafe0)
answer=$(timeout 60 ip netns exec "$L" python3 "$HELPER" tcp 10.82.0.2 9000 2000000 2>&1)
tun1=$(bytes $TUN); phy1=$(bytes cafe0)
echo "    sink: $answer; $TUN tx +$((tun1 - tun0)) bytes, cafe0 tx +$((phy1 - phy0)) bytes"
check "TCP transfer of 2 MB arrives from the tunnel address 10.83.0.2" [ "$answer" = "2000000 bytes from 10.83.0.2" ]
check "... $TUN counted it (tx >= 2 MB)" [ $((tun1 - tun0)) -ge 2000000 ]
check "... cafe0 carried it encrypted (tx >= 2 MB)" [ $((phy1 - phy0)) -ge 2000000 ]
check "IPv6 through the tunnel: ping fd82::2 (15 s)" rv_wait_for 15 ping_ok fd82::2
check "IPv6 TCP arrives from the tunnel address fd83::2" sh -c "timeout 15 ip netns exec $L python3 '$HELPER' tcp fd82::2 9006 1000 | grep -q '^1000 bytes from fd83::2'"
check "tunnel up: DNS to the café's resolver dropped" dns_blocked 10.81.0.1
check "tunnel up: DNS through the tunnel works" dns_ok 10.83.0.1
check "tunnel up: ping bound to cafe0 (around the tunnel) blocked" ping_blocked -I cafe0 10.82.0.2
check "tunnel up: the café itself is unreachable" ping_blocked 10.81.0.1
no_leak "tunnel up"
check "explain: kill switch on (tunnel), portal online" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' explain cafe0 | tr '\n' ' ' | grep -q 'kill switch: on (tunnel).*tunnel $TUN is up.*portal check: online'"
in_l nft list table inet roamvpn >"$RV_TMP/table-tunnel.txt" 2>&1

# --- the backend killed: nothing leaks until it is back ----------------------------------------
EP=$(engine_pids | head -1)
reset_leaks
if [ -n "$EP" ]; then
	kill -9 "$EP"
	check "engine killed -> tunnel not up (15 s)" rv_wait_for 15 sh -c "! \"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -e '.[] | select(.Name == \"$TUN\") | select(.State == \"up\")' >/dev/null"
	blocked=0
	for _ in 1 2 3; do
		rv_tunnel_is $TUN up && break
		ping_blocked 10.82.0.2 && blocked=$((blocked + 1))
	done
	check "while it is down: pings fail ($blocked of them)" [ "$blocked" -gt 0 ]
	check "back up after the backoff (45 s)" rv_wait_for 45 rv_tunnel_is $TUN up
	check "traffic passes again (30 s)" rv_wait_for 30 ping_ok 10.82.0.2
	no_leak "engine killed and restarted"
else
	fail "engine process found"
fi

# --- trusted network: no table ---------------------------------------------------------------------
rule_trusted
"$ROAMVPNCTL" --bus "$RV_BUS" reload >/dev/null 2>&1
check "a rule without KillSwitch=: no table (15 s)" rv_wait_for 15 table_absent
check "... Link.KillSwitch empty" rv_wait_for 15 link_prop_is KillSwitch ""
check "... the tunnel goes down (Disconnect=all)" rv_wait_for 30 rv_tunnel_is $TUN down
check "... and traffic flows in the clear, as the rule says" rv_wait_for 15 tcp_ok 10.82.0.2 9000 1000
rule_kill_switch
"$ROAMVPNCTL" --bus "$RV_BUS" reload >/dev/null 2>&1
check "KillSwitch=yes again: table back (15 s)" rv_wait_for 15 table_present
check "... tunnel up again (45 s)" rv_wait_for 45 rv_tunnel_is $TUN up

# --- roamvpnd killed -9: the table stays; a restart reconciles ---------------------------------------
kill -9 "$RV_DAEMON_PID"; wait "$RV_DAEMON_PID" 2>/dev/null
reset_leaks
check "roamvpnd killed -9: the table stays" table_present
check "... traffic around the tunnel stays blocked" ping_blocked -I cafe0 10.82.0.2
# Its engine gone too (as after a power cut of the process tree): no tunnel device.
for p in $(engine_pids); do kill -9 "$p"; done
check "... the tunnel device is gone with the engine (15 s)" rv_wait_for 15 sh -c "! ip -n $L link show $TUN >/dev/null 2>&1"
check "... TCP to the internet host stays blocked" tcp_blocked 10.82.0.2 9000 1000
check "... ICMP stays blocked" ping_blocked 10.82.0.2
check "... IPv6 stays blocked" ping_blocked fd82::2
no_leak "daemon killed"
rv_start_daemon "$L"
check "restart: the log says the old table stays until the rules are evaluated" grep -q 'left by a previous run stays' "$RV_TMP/daemon.log"
check "restart: the rule still wants it: table present" table_present
check "restart: Link.KillSwitch is back (15 s)" rv_wait_for 15 sh -c "[ -n \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json links | jq -r '.[] | select(.Name == \"cafe0\") | .KillSwitch')\" ]"
check "restart: the tunnel comes up again (60 s)" rv_wait_for 60 rv_tunnel_is $TUN up
check "restart: traffic through the tunnel (30 s)" rv_wait_for 30 ping_ok 10.82.0.2
no_leak "daemon restarted"

kill -9 "$RV_DAEMON_PID"; wait "$RV_DAEMON_PID" 2>/dev/null
for p in $(engine_pids); do kill -9 "$p"; done
check "killed -9 again: the table stays" table_present
rule_trusted
rv_start_daemon "$L"
check "restart with a trusted rule: the table is removed (15 s)" rv_wait_for 15 table_absent

# --- SIGTERM: the table goes ----------------------------------------------------------------------------
rule_kill_switch
"$ROAMVPNCTL" --bus "$RV_BUS" reload >/dev/null 2>&1
check "KillSwitch=yes: table present (15 s)" rv_wait_for 15 table_present
kill -TERM "$RV_DAEMON_PID"
check "SIGTERM: roamvpnd exits (45 s)" rv_wait_for 45 sh -c "! kill -0 $RV_DAEMON_PID"
check "SIGTERM: table gone" table_absent
check "the café's own tables were untouched by the daemon" sh -c "ip netns exec $C nft list tables | grep -q rvkswatch && ip netns exec $C nft list tables | grep -q rvksportal"

# --- Endpoint= by name: resolved through a pinhole before the switch closes, again ---------------
# through the tunnel once it is up. The daemon's own resolver (its /etc/resolv.conf) asks
# the VPN's resolver first, which only the tunnel reaches, then the café's.
sed -i 's/^Endpoint = .*/Endpoint = vpn.test:51820/' "$RV_TMP/etc/tunnels/$TUN.conf"
ip -n "$L" link set cafe0 down
rv_start_daemon "$L"
printf 'nameserver 10.83.0.1\nnameserver 10.81.0.1\noptions timeout:1 attempts:1\n' >"$RV_TMP/etc-resolv.conf"
ip -n "$L" link set cafe0 up
ip -n "$L" route replace default via 10.81.0.1 dev cafe0
ip -n "$L" -6 route replace default via fd81::1 dev cafe0
check "Endpoint=vpn.test: the tunnel comes up (60 s)" rv_wait_for 60 rv_tunnel_is $TUN up
check "... the name was asked of the café's resolver (through the pinhole)" grep -q 'query\[A\] vpn.test from 10.81.0' "$RV_TMP/dnsmasq-cafe.log"
check "... the table lets the resolved endpoint through" sh -c "ip netns exec $L nft list table inet roamvpn | grep -q 'ip daddr 10.82.0.2 udp dport 51820 accept'"
check "... and no DNS out of cafe0 once it is up (15 s)" rv_wait_for 15 sh -c "! ip netns exec $L nft list chain inet roamvpn guard0 | grep -q 'th dport 53 accept'"
reset_leaks
check "... DNS to the café's resolver blocked again" dns_blocked 10.81.0.1
check "... re-resolved through the tunnel (the VPN's resolver was asked, 8 s)" rv_wait_for 24 grep -q 'query\[A\] vpn.test from 10.83.0.2' "$RV_TMP/dnsmasq-vpn.log"
check "... traffic through the tunnel" rv_wait_for 30 ping_ok 10.82.0.2
no_leak "endpoint by name, tunnel up"
kill -TERM "$RV_DAEMON_PID"
check "SIGTERM: table gone" rv_wait_for 45 table_absent

# --- a kernel without nftables (no nfnetlink, as in the VM guests): roamvpnd runs ---------------
# libnftables would exit() the daemon; instead it runs and says the switch is unavailable.
SHIM=$RV_BUILD/tests/no-nfnetlink.so
if [ -e "$SHIM" ] && ! ldd "$ROAMVPND" | grep -q libasan; then
	rule_kill_switch
	ip -n "$L" link set cafe0 down
	LD_PRELOAD=$SHIM rv_start_daemon "$L"
	ok "no nftables: roamvpnd runs and answers on the bus"
	ip -n "$L" link set cafe0 up
	ip -n "$L" route replace default via 10.81.0.1 dev cafe0
	check "no nftables: Link.KillSwitch = unavailable (15 s)" rv_wait_for 15 link_prop_is KillSwitch unavailable
	check "no nftables: the log says nothing is blocked" grep -q 'this kernel has no nftables: nothing is blocked' "$RV_TMP/daemon.log"
	check "no nftables: explain says so" sh -c "\"$ROAMVPNCTL\" --bus '$RV_BUS' explain cafe0 | grep -q 'UNAVAILABLE: this kernel has no nftables'"
	check "no nftables: no table was made" table_absent
	kill -TERM "$RV_DAEMON_PID"
	check "no nftables: SIGTERM: roamvpnd exits (30 s)" rv_wait_for 30 sh -c "! kill -0 $RV_DAEMON_PID"
else
	echo "SKIP (section): no-nfnetlink.so not built, or an ASan build (LD_PRELOAD would come first)"
fi

# --- one more backend: vpnc (the plugin) against strongSwan, a split tunnel ------------------------
# IKE/NAT-T and ESP to the gateway pass the switch; the corporate network behind the gateway
# (10.84.0.0/24, on a veth of the internet namespace) is reached through vpnctun0;
# everything else is refused, since only the tunnel may carry traffic.
if command -v vpnc >/dev/null && [ -x /usr/lib/ipsec/charon ] && [ -e "$RV_BUILD/plugins/vpnc.so" ] &&
   [ -x "$RV_BUILD/hooks/roamvpn-hook" ]; then
	W=$RV_TMP/gw
	ip -n "$I" link add corp0 type veth peer name corp1
	ip -n "$I" addr add 10.84.0.1/24 dev corp0
	ip -n "$I" link set corp1 up
	ip -n "$I" link set corp0 up
	if rv_xauth_gateway "$I" "$W" 10.82.0.2 10.84.0.0/24 10.84.100.10-10.84.100.50; then
		( umask 077; printf '[Tunnel]\nBackend=vpnc\nInterface=vpnctun0\n[vpnc]\nGateway=10.82.0.2\nID=vpngroup\nSecret=grouppsk123\nUsername=alice\nPassword=alicepass\nNATTMode=natt\nLocalPort=0\n' \
			>"$RV_TMP/etc/tunnels/corpv.conf" )
		printf '[Match]\nName=cafe0\n[Action]\nConnect=corpv\nKillSwitch=yes\n' >"$RV_TMP/etc/rules/50-cafe.rules"
		ip -n "$L" link set cafe0 down
		ROAMVPN_PLUGIN_DIR=$RV_BUILD/plugins ROAMVPN_HOOK_PATH=$RV_BUILD/hooks/roamvpn-hook rv_start_daemon "$L"
		ip -n "$L" link set cafe0 up
		ip -n "$L" route replace default via 10.81.0.1 dev cafe0
		check "vpnc: table closed on cafe0 (15 s)" rv_wait_for 15 table_present
		check "vpnc: the tunnel comes up through the closed switch (75 s)" rv_wait_for 75 rv_tunnel_is corpv up
		ip netns exec "$L" nft list table inet roamvpn >"$RV_TMP/table-vpnc.txt" 2>&1
		check "vpnc: the switch lets IKE to the gateway out" grep -q 'ip daddr 10.82.0.2 udp dport 500 accept' "$RV_TMP/table-vpnc.txt"
		check "vpnc: ... NAT-T" grep -q 'ip daddr 10.82.0.2 udp dport 4500 accept' "$RV_TMP/table-vpnc.txt"
		check "vpnc: ... and ESP" grep -q 'ip daddr 10.82.0.2 meta l4proto esp accept' "$RV_TMP/table-vpnc.txt"
		check "vpnc: Link.KillSwitch = tunnel" rv_wait_for 15 link_prop_is KillSwitch tunnel
		reset_leaks
		check "vpnc: the corporate host answers through vpnctun0 (30 s)" rv_wait_for 30 ping_ok 10.84.0.1
		check "vpnc: ... vpnctun0 carried it" sh -c "[ \$(ip netns exec $L cat /sys/class/net/vpnctun0/statistics/tx_packets) -gt 0 ]"
		check "vpnc: outside the split tunnel nothing passes (TCP)" tcp_blocked 10.82.0.2 9000 1000
		check "vpnc: outside the split tunnel nothing passes (ICMP)" ping_blocked 10.82.0.2
		check "vpnc: outside the split tunnel nothing passes (IPv6)" ping_blocked fd82::2
		no_leak "vpnc tunnel up"
		VP=$(for p in $(ip netns pids "$L"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = vpnc ] && echo "$p"; done | head -1)
		if [ -n "$VP" ]; then
			kill -9 "$VP"
			check "vpnc killed -9: the tunnel is not up (30 s)" rv_wait_for 30 sh -c "! \"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -e '.[] | select(.Name == \"corpv\") | select(.State == \"up\")' >/dev/null"
			check "vpnc killed: the corporate host is unreachable meanwhile" ping_blocked 10.84.0.1
			check "vpnc: back up after the backoff (90 s)" rv_wait_for 90 rv_tunnel_is corpv up
			check "vpnc: the corporate host answers again (30 s)" rv_wait_for 30 ping_ok 10.84.0.1
			no_leak "vpnc killed and restarted"
		else
			fail "vpnc process found"
		fi
		kill -TERM "$RV_DAEMON_PID"
		check "vpnc: SIGTERM: table gone (45 s)" rv_wait_for 45 table_absent
		check "vpnc: SIGTERM: vpnc gone (30 s)" rv_wait_for 30 sh -c "! ip netns pids $L | while read p; do cat /proc/\$p/comm; done | grep -qx vpnc"
	else
		fail "strongSwan gateway started"; cat "$W/charon.out" "$W/swanctl.out" 2>/dev/null | tail -20
	fi
else
	echo "SKIP (section): vpnc, strongSwan's charon or the vpnc plugin not available"
fi

if [ "$RV_FAILED" -gt 0 ]; then
	echo "--- table while closed"; cat "$RV_TMP/table-closed.txt"
	echo "--- explain behind the portal"; cat "$RV_TMP/explain-portal.txt"
	echo "--- daemon log (tail)"; tail -60 "$RV_TMP/daemon.log"
	echo "--- portal log (tail)"; tail -10 "$RV_TMP/portal.log"
fi
rv_summary
