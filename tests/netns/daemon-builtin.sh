#!/bin/bash
# daemon-builtin.sh - roamvpnd's "builtin" backend end to end: a plain wg-quick file as
# the tunnel, roamvpn-engine started by the daemon (daemon mode: TUN, UDP sockets and
# the UAPI socketpair prepared by roamvpnd, keys over the socket) against Debian's
# wireguard-go in another namespace. Rule "Connect on link up": link up -> tunnel up,
# addresses/routes/DNS applied, ping through it, the engine unprivileged and sandboxed,
# no key in its argv or environment, byte counters and handshake on D-Bus; engine
# killed -> tunnel fails and is restarted; full tunnel (AllowedIPs=0.0.0.0/0) keeps the
# endpoint reachable through the fwmark rule; link down -> tunnel down, engine gone.
# Pings name the tunnel device (-I): the peer also answers on its raw veth address.
. "$(dirname "$0")/lib.sh"
rv_require_root
ENGINE=${ROAMVPN_ENGINE:-$RV_BUILD/engine/roamvpn-engine}
[ -x "$ENGINE" ] || { echo "SKIP: $ENGINE not built"; exit 77; }
for p in wireguard-go wg ping; do
	command -v $p >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
export ROAMVPN_ENGINE=$ENGINE
rv_setup rvbi

NS=rvbi-$$
PEER=rvbi-p-$$
TUN=rvbi0		# the tunnel's name, and so its interface (distinct from other tests)
PEER_IF=rvbi-p$$	# wireguard-go's socket in /var/run/wireguard is not per-netns
PEER_IF=${PEER_IF:0:15}
PORT=51877
rv_wire "$NS" "$PEER" 10.78.0

# --- the peer: wireguard-go, configured by wg (it never knows our endpoint) ----------
umask 077
wg genkey >"$RV_TMP/key_laptop"; wg pubkey <"$RV_TMP/key_laptop" >"$RV_TMP/pub_laptop"
wg genkey >"$RV_TMP/key_peer"; wg pubkey <"$RV_TMP/key_peer" >"$RV_TMP/pub_peer"
wg genpsk >"$RV_TMP/psk"
umask 022
ip netns exec "$PEER" wireguard-go --foreground "$PEER_IF" </dev/null >"$RV_TMP/peer.log" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 5 test -S /var/run/wireguard/$PEER_IF.sock || { fail "wireguard-go peer started"; rv_summary; exit 1; }
trap 'rm -f /var/run/wireguard/$PEER_IF.sock /var/run/wireguard/$TUN.sock; rv_cleanup' EXIT
ip netns exec "$PEER" wg set "$PEER_IF" listen-port $PORT private-key "$RV_TMP/key_peer" \
	peer "$(cat "$RV_TMP/pub_laptop")" preshared-key "$RV_TMP/psk" allowed-ips 10.79.0.2/32
ip -n "$PEER" addr add 10.79.0.1/24 dev "$PEER_IF"
ip -n "$PEER" link set "$PEER_IF" mtu 1420 up

# --- the laptop's configuration ------------------------------------------------------
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
printf 'nameserver 10.78.0.1\n' >"$RV_TMP/resolv.conf"
cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"
cat >"$RV_TMP/etc/roamvpn.conf" <<EOF
[General]
DNS=file
DebounceMs=200
BackoffInitialMs=1500
EOF
write_tunnel() {	# allowed-ips
	( umask 077; cat >"$RV_TMP/etc/tunnels/$TUN.conf" <<EOF
# as a VPN provider hands it out
[Interface]
PrivateKey = $(cat "$RV_TMP/key_laptop")
Address = 10.79.0.2/32
DNS = 10.79.0.1, corp.example

[Peer]
PublicKey = $(cat "$RV_TMP/pub_peer")
PresharedKey = $(cat "$RV_TMP/psk")
Endpoint = 10.78.0.1:$PORT
AllowedIPs = $1
PersistentKeepalive = 25
EOF
	)
}
write_tunnel 10.79.0.0/24
cat >"$RV_TMP/etc/rules/50-wire.rules" <<EOF
[Match]
Name=lan0
Carrier=yes
[Action]
Connect=$TUN
EOF

engine_pids() {	# roamvpn-engine processes inside our namespace
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = roamvpn-engine ] && echo "$p"
	done
}
engine_gone() { [ -z "$(engine_pids)" ]; }
tun_gone() { ! ip -n "$NS" link show "$TUN" >/dev/null 2>&1; }
tunnel_prop() { rv_ctl_json tunnels | jq -r --arg n "$TUN" ".. | objects | select(.Name? == \$n) | .$1" | head -1; }
ping_tunnel() { timeout 12 ip netns exec "$NS" ping -n -I $TUN -c 1 -w 10 10.79.0.1 >/dev/null 2>&1; }
ping_5() { timeout 10 ip netns exec "$NS" ping -n -I $TUN -c 5 -i 0.2 -W 2 10.79.0.1 2>/dev/null | grep -q ' 5 received'; }

check "--check accepts the wg-quick tunnel file" "$ROAMVPND" --check --config-dir "$RV_TMP/etc"
# [Tunnel] Backend=builtin files carry [Interface]/[Peer] too: the backend's check()
mkdir -p "$RV_TMP/bad/tunnels" "$RV_TMP/bad/rules"
( umask 077; printf '[Tunnel]\nBackend=builtin\n[Interface]\nPrivateKey=%s\n[Peer]\nPublicKey=not-a-key\nEndpoint=no-port\n' \
	"$(cat "$RV_TMP/key_laptop")" >"$RV_TMP/bad/tunnels/bt.conf" )
"$ROAMVPND" --check --config-dir "$RV_TMP/bad" >"$RV_TMP/check.out" 2>&1
check "--check: bad key in a Backend=builtin file named by FILE:LINE" grep -q 'bt.conf:6: PublicKey= is not a base64' "$RV_TMP/check.out"
check "--check: bad Endpoint= named by FILE:LINE" grep -q 'bt.conf:7: Endpoint=' "$RV_TMP/check.out"
check "--check: the private key is never echoed" sh -c "! grep -qF '$(cat "$RV_TMP/key_laptop")' '$RV_TMP/check.out'"

rv_start_bus
rv_start_daemon "$NS"
check "tunnel down while the link is down" rv_tunnel_is $TUN down
check "no engine while the link is down" engine_gone

# --- link up: the engine comes up ---------------------------------------------------
ip -n "$NS" link set lan0 up
ip -n "$NS" route add default via 10.78.0.1
check "link up -> tunnel up (10 s)" rv_wait_for 10 rv_tunnel_is $TUN up
EP=$(engine_pids | head -1)
check "one roamvpn-engine runs in the namespace" [ "$(engine_pids | wc -l)" = 1 ]
if [ -n "$EP" ]; then
	st=$(cat /proc/$EP/status)
	check "engine runs as nobody" sh -c "echo '$st' | grep -Eq '^Uid:[[:space:]]+65534[[:space:]]+65534'"
	check "engine has no capabilities" sh -c "echo '$st' | grep -Eq '^CapEff:[[:space:]]+0+$' && echo '$st' | grep -Eq '^CapBnd:[[:space:]]+0+$'"
	check "engine has no_new_privs and a seccomp filter" sh -c \
		"echo '$st' | grep -Eq '^NoNewPrivs:[[:space:]]+1' && echo '$st' | grep -Eq '^Seccomp:[[:space:]]+2'"
	priv_hex=$(base64 -d <"$RV_TMP/key_laptop" | od -An -tx1 | tr -d ' \n')
	check "no key in the engine's argv or environment" sh -c \
		"! tr '\\0' '\\n' </proc/$EP/cmdline | grep -qiF -e '$(cat "$RV_TMP/key_laptop")' -e '$priv_hex' -e '$(cat "$RV_TMP/psk")' &&
		 ! tr '\\0' '\\n' </proc/$EP/environ | grep -qiF -e '$(cat "$RV_TMP/key_laptop")' -e '$priv_hex' -e '$(cat "$RV_TMP/psk")'"
	check "engine got its fds on the command line (daemon mode)" sh -c "tr '\\0' ' ' </proc/$EP/cmdline | grep -q -- '--tun-fd=.*--uapi-fd='"
	check "engine's environment is minimal (no ROAMVPN_SSID, DBUS, HOME)" sh -c "! tr '\\0' '\\n' </proc/$EP/environ | grep -Eq '^(ROAMVPN_|DBUS_|HOME=)'"
else
	fail "engine process found"
fi
check "no key in the daemon's log" sh -c "! grep -qF -e '$(cat "$RV_TMP/key_laptop")' -e '$(cat "$RV_TMP/psk")' '$RV_TMP/daemon.log'"
check "address 10.79.0.2 on $TUN" sh -c "ip -n $NS -o addr show dev $TUN | grep -q '10.79.0.2/32'"
check "MTU 1420 on $TUN" sh -c "ip -n $NS -o link show dev $TUN | grep -q 'mtu 1420'"
check "route 10.79.0.0/24 via $TUN" sh -c "ip -n $NS route show 10.79.0.0/24 | grep -q 'dev $TUN'"
check "DNS from the tunnel file in resolv.conf" rv_wait_for 3 grep -q '^nameserver 10.79.0.1' "$RV_TMP/resolv.conf"
check "ping through the tunnel (handshake, 10 s)" ping_tunnel
check "ping through the tunnel 5/5" ping_5
check "peer saw a handshake" sh -c "ip netns exec $PEER wg show $PEER_IF latest-handshakes | awk '{exit !(\$2 > 0)}'"
check "peer learned the laptop's endpoint" sh -c "ip netns exec $PEER wg show $PEER_IF endpoints | grep -q '10.78.0.2:'"
check "RxBytes/TxBytes on D-Bus (within 8 s)" rv_wait_for 8 sh -c \
	"[ \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -r '.. | objects | select(.Name? == \"$TUN\") | .RxBytes' | head -1)\" -gt 0 ]"
echo "    D-Bus: RxBytes=$(tunnel_prop RxBytes) TxBytes=$(tunnel_prop TxBytes) LastHandshake=$(tunnel_prop LastHandshake)"

# --- wg(8) on the daemon's tunnel: roamvpnd makes /var/run/wireguard/NAME.sock, the
# sandboxed engine answers on it; changes made with wg set reach the Tunnel object ----
WGSOCK=/var/run/wireguard/$TUN.sock
PUB_PEER=$(cat "$RV_TMP/pub_peer")
check "wg(8) socket of the daemon's tunnel is root's, 0600" \
	test "$(stat -c '%a %U %F' "$WGSOCK" 2>/dev/null)" = "600 root socket"
check "wg show interfaces lists it" sh -c "wg show interfaces | tr ' ' '\n' | grep -qx $TUN"
check "wg show NAME: the peer with its handshake" sh -c \
	"wg show $TUN latest-handshakes | awk -v k='$PUB_PEER' '\$1 == k && \$2 > 0 { ok = 1 } END { exit !ok }'"
check "wg show NAME transfer: bytes both ways" sh -c \
	"wg show $TUN transfer | awk -v k='$PUB_PEER' '\$1 == k && \$2 > 0 && \$3 > 0 { ok = 1 } END { exit !ok }'"
wg showconf $TUN >"$RV_TMP/showconf" 2>&1
check "wg showconf: our key, the peer, its endpoint and keepalive" sh -c \
	"grep -qx 'PrivateKey = $(cat "$RV_TMP/key_laptop")' '$RV_TMP/showconf' &&
	 grep -qx 'PublicKey = $PUB_PEER' '$RV_TMP/showconf' &&
	 grep -qx 'Endpoint = 10.78.0.1:$PORT' '$RV_TMP/showconf' &&
	 grep -qx 'PersistentKeepalive = 25' '$RV_TMP/showconf'"
check "wg set NAME peer ... persistent-keepalive 7" wg set $TUN peer "$PUB_PEER" persistent-keepalive 7
check "wg show NAME persistent-keepalive: 7" sh -c \
	"wg show $TUN persistent-keepalive | awk -v k='$PUB_PEER' '\$1 == k && \$2 == 7 { ok = 1 } END { exit !ok }'"
check "wg set NAME listen-port: refused in daemon mode (the daemon owns the port)" \
	sh -c "! wg set $TUN listen-port 40999 2>/dev/null"
check "wg set NAME peer ... remove" wg set $TUN peer "$PUB_PEER" remove
check "the daemon notices: Tunnel RxBytes back to 0 without the peer (8 s)" \
	rv_wait_for 8 sh -c "[ \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -r '.. | objects | select(.Name? == \"$TUN\") | .RxBytes' | head -1)\" = 0 ]"
check "wg set NAME peer ...: the peer back" wg set $TUN peer "$PUB_PEER" preshared-key "$RV_TMP/psk" \
	endpoint 10.78.0.1:$PORT allowed-ips 10.79.0.0/24 persistent-keepalive 25
check "ping through the tunnel again (handshake, 10 s)" ping_tunnel
check "the daemon notices: RxBytes grows again (8 s)" \
	rv_wait_for 8 sh -c "[ \"\$(\"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -r '.. | objects | select(.Name? == \"$TUN\") | .RxBytes' | head -1)\" -gt 0 ]"
check "LastHandshake on D-Bus" [ "$(tunnel_prop LastHandshake)" -gt 0 ] 2>/dev/null

# --- the engine dies: the tunnel fails, the supervisor restarts it --------------------
if [ -n "$EP" ]; then
	kill -9 "$EP"
	lasterr_is_kill() { tunnel_prop LastError | grep -q 'roamvpn-engine killed by signal 9'; }
	check "engine killed -> LastError on D-Bus says so (5 s)" rv_wait_for 5 lasterr_is_kill
	echo "    LastError: $(tunnel_prop LastError)"
	check "... tunnel is not up meanwhile" sh -c "! \"$ROAMVPNCTL\" --bus '$RV_BUS' --json tunnels | jq -e '.. | objects | select(.Name? == \"$TUN\") | select(.State == \"up\")' >/dev/null"
	check "... the daemon logged it" grep -q "tunnel $TUN: roamvpn-engine killed by signal 9" "$RV_TMP/daemon.log"
	check "... and is back up after the backoff (10 s)" rv_wait_for 10 rv_tunnel_is $TUN up
	check "... traffic passes again" ping_tunnel
	check "... old engine gone, one new engine" sh -c "[ ! -e /proc/$EP ] && [ \$(ip netns pids $NS | while read p; do cat /proc/\$p/comm; done | grep -c roamvpn-engine) = 1 ]"
fi

# --- link down: tunnel down, engine gone, TUN gone, DNS restored --------------------
ip -n "$NS" link set lan0 down
check "link down -> tunnel down (5 s)" rv_wait_for 5 rv_tunnel_is $TUN down
check "engine process gone (5 s)" rv_wait_for 5 engine_gone
check "TUN device gone" rv_wait_for 3 tun_gone
check "wg(8) socket removed" rv_wait_for 3 sh -c "! test -e $WGSOCK"
check "resolv.conf restored" rv_wait_for 3 cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

# --- full tunnel: AllowedIPs=0.0.0.0/0, the endpoint stays reachable (fwmark rule) -----
write_tunnel 0.0.0.0/0
ip netns exec "$PEER" wg set "$PEER_IF" peer "$(cat "$RV_TMP/pub_laptop")" allowed-ips 10.79.0.2/32
rv_ctl reload >/dev/null 2>&1
ip -n "$NS" link set lan0 up
ip -n "$NS" route replace default via 10.78.0.1
check "full tunnel: up (10 s)" rv_wait_for 10 rv_tunnel_is $TUN up
check "full tunnel: ping through it (handshake past the default route, 10 s)" ping_tunnel
check "full tunnel: a fwmark rule exists (wg-quick style)" sh -c "ip -n $NS rule | grep -q 'fwmark'"
EP=$(engine_pids | head -1)
check "full tunnel: ping 5/5" ping_5
ip -n "$NS" link set lan0 down
check "full tunnel: link down -> down, engine gone" rv_wait_for 5 engine_gone
check "full tunnel: rules removed" rv_wait_for 3 sh -c "! ip -n $NS rule | grep -q 'fwmark'"

# --- an engine that fails or hangs: the reason reaches LastError ---------------------
kill "$RV_DAEMON_PID"; rv_wait_for 10 sh -c "! kill -0 $RV_DAEMON_PID"
cat >"$RV_TMP/failing-engine" <<'EOF2'
#!/bin/sh
echo "roamvpn-engine: failed to adopt TUN device: test failure" >&2
exit 1
EOF2
cat >"$RV_TMP/hanging-engine" <<EOF2
#!/bin/sh
echo \$\$ >>"$RV_TMP/hanging-started"
exec sleep 60
EOF2
chmod 755 "$RV_TMP/failing-engine" "$RV_TMP/hanging-engine"
lasterr_has() { tunnel_prop LastError | grep -qF "$1"; }
ROAMVPN_ENGINE=$RV_TMP/failing-engine rv_start_daemon "$NS"
ip -n "$NS" link set lan0 up
check "failing engine: LastError carries its message (10 s)" rv_wait_for 10 lasterr_has \
	"roamvpn-engine exited with status 1: roamvpn-engine: failed to adopt TUN device: test failure"
echo "    LastError: $(tunnel_prop LastError)"
check "failing engine: TUN device not left behind" rv_wait_for 3 tun_gone
ip -n "$NS" link set lan0 down
kill "$RV_DAEMON_PID"; rv_wait_for 10 sh -c "! kill -0 $RV_DAEMON_PID"
ROAMVPN_ENGINE=$RV_TMP/hanging-engine rv_start_daemon "$NS"
ip -n "$NS" link set lan0 up
check "hanging engine: gives up after the configure timeout (15 s)" rv_wait_for 15 lasterr_has "did not accept its configuration in time"
first_hanging=$(head -1 "$RV_TMP/hanging-started" 2>/dev/null)
check "hanging engine: it had started (pid $first_hanging)" test -n "$first_hanging"
check "hanging engine: that process was stopped (8 s)" rv_wait_for 8 sh -c "! kill -0 ${first_hanging:-1}"
ip -n "$NS" link set lan0 down

# --- Endpoint= by name: resolved asynchronously before the engine starts -------------
# "localhost" needs no DNS; the peer is a second wireguard-go in the laptop's namespace.
kill "$RV_DAEMON_PID"; rv_wait_for 10 sh -c "! kill -0 $RV_DAEMON_PID"
LOCAL_IF=rvbi-l$$; LOCAL_IF=${LOCAL_IF:0:15}
ip netns exec "$NS" wireguard-go --foreground "$LOCAL_IF" </dev/null >"$RV_TMP/local-peer.log" 2>&1 &
RV_PIDS+=($!)
trap 'rm -f /var/run/wireguard/$PEER_IF.sock /var/run/wireguard/$LOCAL_IF.sock /var/run/wireguard/$TUN.sock; rv_cleanup' EXIT
if rv_wait_for 5 test -S /var/run/wireguard/$LOCAL_IF.sock; then
	ip netns exec "$NS" wg set "$LOCAL_IF" listen-port 51879 private-key "$RV_TMP/key_peer" \
		peer "$(cat "$RV_TMP/pub_laptop")" preshared-key "$RV_TMP/psk" allowed-ips 10.79.0.2/32
	ip -n "$NS" link set "$LOCAL_IF" up
	sed -i 's/^Endpoint = .*/Endpoint = localhost:51879/; s/^AllowedIPs = .*/AllowedIPs = 10.79.0.0\/24/' \
		"$RV_TMP/etc/tunnels/$TUN.conf"
	ROAMVPN_ENGINE=$ENGINE rv_start_daemon "$NS"
	ip -n "$NS" link set lan0 up
	check "Endpoint=localhost:51879: tunnel up (10 s)" rv_wait_for 10 rv_tunnel_is $TUN up
	# any packet into the tunnel makes the engine handshake with the resolved endpoint
	timeout 5 ip netns exec "$NS" ping -n -I $TUN -c 2 -W 1 10.79.0.50 >/dev/null 2>&1
	local_hs() { ip netns exec "$NS" wg show "$LOCAL_IF" latest-handshakes | awk '{exit !($2 > 0)}'; }
	check "Endpoint=localhost: the engine handshook with the peer on loopback (8 s)" rv_wait_for 8 local_hs
	ip -n "$NS" link set lan0 down
	check "Endpoint=localhost: link down -> engine gone" rv_wait_for 5 engine_gone
else
	fail "local wireguard-go peer started"
fi

if [ "$RV_FAILED" -gt 0 ]; then
	echo "--- daemon log (tail)"; tail -40 "$RV_TMP/daemon.log"
fi
rv_summary
