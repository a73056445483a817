#!/usr/bin/env bash
# engine-interop.sh - roamvpn-engine against Debian's wireguard-go + wireguard-tools.
#
# Owns: the interop namespace test of issue 3. Everything happens inside three
# network namespaces this script creates (rvei-a, rvei-b, rvei-c) and deletes:
#
#   rvei-a  implementation under test ($ENGINE), tunnel rvei-a0 10.200.0.1 fd00:200::1
#     |  veth rvei-va 10.201.0.1 <-> rvei-vb 10.201.0.2   (IPv4 underlay)
#   rvei-b  wireguard-go rvei-b0 10.200.0.2 fd00:200::2   (peer B, with a preshared key)
#     and
#   rvei-a  veth rvei-vca fd00:202::1 <-> rvei-vc fd00:202::2 (IPv6 underlay)
#   rvei-c  wireguard-go rvei-c0 10.200.0.3 fd00:200::3   (peer C, no preshared key)
#
# ENGINE is the implementation under test (default: the build tree's roamvpn-engine);
# ENGINE=wireguard-go runs the same checks against wireguard-go on both sides, which
# proves the harness itself. Interface names are distinct because /var/run/wireguard
# is not per-namespace.
#
# Environment: ENGINE, PEER (default wireguard-go), REKEY (seconds for
# --test-rekey-after-time, default 5; phase 3d waits 66 s for a responder's session to
# be rejected), LONG=1 (with ENGINE=wireguard-go: wait the real
# 120 s REKEY_AFTER_TIME instead of skipping the rekey check), FLOOD (packets, default
# 30000), COOKIE_SECONDS (valid-MAC1 initiation flood, default 20), WORK (a folder under /tmp, wiped), KEEP_LOGS=1.
#
# Prints "ok"/"FAIL" per check, then "N passed, N failed"; exit 0 only if all passed,
# 77 (skip) when not root or when there is no engine to test.
set -u
set -o pipefail

if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces, TUN)"; exit 77; fi
for tool in ip wg iperf3 python3 timeout ping; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: /dev/net/tun missing"; exit 77; }

BUILD_ROOT=${ROAMVPN_BUILD_ROOT:-}
if [ -z "${ENGINE:-}" ]; then
	if [ -n "$BUILD_ROOT" ] && [ -x "$BUILD_ROOT/engine/roamvpn-engine" ]; then
		ENGINE=$BUILD_ROOT/engine/roamvpn-engine
	else
		echo "SKIP: no roamvpn-engine built (set ENGINE=path, or ENGINE=wireguard-go)"; exit 77
	fi
fi
ENGINE=$(command -v "$ENGINE") || { echo "FAIL: ENGINE not found"; exit 1; }
PEER=${PEER:-wireguard-go}
command -v "$PEER" >/dev/null || { echo "SKIP: $PEER not installed"; exit 77; }
REKEY=${REKEY:-5}
LONG=${LONG:-0}
FLOOD=${FLOOD:-30000}
COOKIE_SECONDS=${COOKIE_SECONDS:-20}
WORK=${WORK:-/tmp/rvei-work}
case "$WORK" in /tmp/?*) ;; *) echo "FAIL: WORK must be a folder under /tmp"; exit 1;; esac
MAXLIFE=${MAXLIFE:-600}	# hard cap for the whole run (s)

ENGINE_IS_WG_GO=0
case "$(basename "$ENGINE")" in wireguard-go*) ENGINE_IS_WG_GO=1;; esac

NSA=rvei-a; NSB=rvei-b; NSC=rvei-c
IFA=rvei-a0; IFB=rvei-b0; IFC=rvei-c0; IFQ=rvei-q0
VA=rvei-va; VB=rvei-vb; VCA=rvei-vca; VC=rvei-vc
UA=10.201.0.1; UB=10.201.0.2; UB2=10.201.0.12
UA6=fd00:202::1; UC6=fd00:202::2
TA=10.200.0.1; TB=10.200.0.2; TC=10.200.0.3
TA6=fd00:200::1; TB6=fd00:200::2; TC6=fd00:200::3
PA=51820; PB=51821; PC=51822; PB2=51999; PA2=51830

PASS=0; FAIL=0; SKIPPED=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
log() { printf '# %s\n' "$*"; }

ENGINE_PID=; PEERB_PID=; PEERC_PID=; WATCHDOG=
OTHER_PIDS=()
ENGINE_RUNS=0
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

kill_wait() {	# pid: SIGTERM, bounded wait, then SIGKILL
	local p=$1 i
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

cleanup() {
	local p ns
	if [ -n "$WATCHDOG" ]; then
		for p in $(cat /proc/$WATCHDOG/task/*/children 2>/dev/null); do kill "$p" 2>/dev/null; done
		kill "$WATCHDOG" 2>/dev/null
	fi
	for p in $ENGINE_PID $PEERB_PID $PEERC_PID "${OTHER_PIDS[@]}"; do kill_wait "$p"; done
	for ns in $NSA $NSB $NSC; do
		if ip netns list | grep -qw "^$ns"; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
			sleep 0.2
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	rm -f /var/run/wireguard/$IFA.sock /var/run/wireguard/$IFB.sock /var/run/wireguard/$IFC.sock \
		/var/run/wireguard/$IFQ.sock
	[ "${KEEP_LOGS:-0}" = 1 ] || [ "$FAIL" -gt 0 ] || rm -rf "$WORK"
}
# One run at a time on this machine: the namespace and interface names are fixed, and
# another build directory's `meson test` may start this script at the same moment.
exec 9>/run/lock/roamvpn-engine-interop.lock
if ! flock -w 480 9; then echo "SKIP: another engine-interop run held the lock for 480 s"; exit 77; fi
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM
cleanup
rm -rf "$WORK"; mkdir -p "$WORK"; chmod 700 "$WORK"
# watchdog: its own stdio is /dev/null so that nothing holds the caller's pipe open
( sleep "$MAXLIFE"; kill -TERM $$ ) >/dev/null 2>&1 </dev/null &
WATCHDOG=$!

log "engine under test: $ENGINE; peer: $PEER; work dir $WORK"

# ------------------------------------------------------------------- topology
ip netns add $NSA && ip netns add $NSB && ip netns add $NSC || { bad "create namespaces"; exit 1; }
ip link add $VA netns $NSA type veth peer name $VB netns $NSB || { bad "veth a-b"; exit 1; }
ip link add $VCA netns $NSA type veth peer name $VC netns $NSC || { bad "veth a-c"; exit 1; }
for ns in $NSA $NSB $NSC; do ip -n $ns link set lo up; done
ip -n $NSA addr add $UA/24 dev $VA
ip -n $NSB addr add $UB/24 dev $VB
ip -n $NSA addr add $UA6/64 dev $VCA nodad
ip -n $NSC addr add $UC6/64 dev $VC nodad
ip -n $NSA link set $VA up; ip -n $NSB link set $VB up
ip -n $NSA link set $VCA up; ip -n $NSC link set $VC up
timeout 10 ip netns exec $NSA ping -q -c 2 -i 0.2 -W 1 $UB >/dev/null || { bad "underlay ping a-b"; exit 1; }
timeout 10 ip netns exec $NSA ping -q -c 2 -i 0.2 -W 1 $UC6 >/dev/null || { bad "underlay ping a-c"; exit 1; }

umask 077
for s in a b c; do wg genkey > "$WORK/key_$s"; wg pubkey < "$WORK/key_$s" > "$WORK/pub_$s"; done
wg genpsk > "$WORK/psk_ab"
umask 022
PUBA=$(cat "$WORK/pub_a"); PUBB=$(cat "$WORK/pub_b"); PUBC=$(cat "$WORK/pub_c")

# iperf3 servers on the wildcard address of each namespace, alive for the whole run
for ns in $NSA $NSB $NSC; do
	ip netns exec $ns timeout "$MAXLIFE" iperf3 -s -p 5201 >"$WORK/iperf-s-$ns.log" 2>&1 &
	OTHER_PIDS+=($!)
done

# ------------------------------------------------------------------- helpers
wait_sock() {	# ifname pid: socket and link appear, process alive (5 s)
	local i
	for i in $(seq 50); do
		if [ -S /var/run/wireguard/$1.sock ]; then return 0; fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start_engine() {	# extra engine args...: starts $ENGINE in $NSA, sets ENGINE_PID
	ENGINE_RUNS=$((ENGINE_RUNS + 1))
	ENGINE_LOG=$WORK/engine.$ENGINE_RUNS.log
	# ip netns exec execs the program: $! is the engine itself
	LOG_LEVEL=${ENGINE_LOG_LEVEL:-verbose} ip netns exec $NSA "$ENGINE" --foreground "$@" $IFA \
		</dev/null >"$ENGINE_LOG" 2>&1 &
	ENGINE_PID=$!
	wait_sock $IFA $ENGINE_PID
}

start_peer() {	# ns ifname: prints the pid
	local ns=$1 ifn=$2
	ip netns exec "$ns" "$PEER" --foreground "$ifn" </dev/null >>"$WORK/peer-$ifn.log" 2>&1 &
	local pid=$!
	wait_sock "$ifn" $pid || { echo ""; return 1; }
	echo $pid
}

ENGINE_PEER_B_ARGS() { echo peer "$PUBB" preshared-key "$WORK/psk_ab" allowed-ips $TB/32,$TB6/128; }

# engine A: key, port, peer B (endpoint only if $1 = with-endpoint)
config_engine() {
	local ep=()
	[ "$1" = with-endpoint ] && ep=(endpoint $UB:$PB)
	nsx $NSA wg set $IFA listen-port $PA private-key "$WORK/key_a" \
		$(ENGINE_PEER_B_ARGS) "${ep[@]}" || return 1
	ip -n $NSA addr add $TA/24 dev $IFA && ip -n $NSA addr add $TA6/64 dev $IFA nodad &&
		ip -n $NSA link set $IFA mtu 1420 up
}
config_peer_b() {
	local ep=()
	[ "$1" = with-endpoint ] && ep=(endpoint $UA:${2:-$PA})
	nsx $NSB wg set $IFB listen-port $PB private-key "$WORK/key_b" \
		peer "$PUBA" preshared-key "$WORK/psk_ab" allowed-ips $TA/32,$TA6/128 "${ep[@]}" || return 1
	ip -n $NSB addr add $TB/24 dev $IFB && ip -n $NSB addr add $TB6/64 dev $IFB nodad &&
		ip -n $NSB link set $IFB mtu 1420 up
}
config_peer_c() {
	nsx $NSC wg set $IFC listen-port $PC private-key "$WORK/key_c" \
		peer "$PUBA" allowed-ips $TA/32,$TA6/128 endpoint "[$UA6]:$PA" || return 1
	ip -n $NSC addr add $TC/24 dev $IFC && ip -n $NSC addr add $TC6/64 dev $IFC nodad &&
		ip -n $NSC link set $IFC mtu 1420 up
}

restart_engine() {	# with-endpoint|no-endpoint [engine args]
	local mode=$1; shift
	kill_wait "$ENGINE_PID"; ENGINE_PID=
	rm -f /var/run/wireguard/$IFA.sock
	start_engine "$@" || { log "engine did not start: $(tail -5 "$ENGINE_LOG")"; return 1; }
	config_engine "$mode"
}
restart_peer_b() {	# with-endpoint|no-endpoint
	kill_wait "$PEERB_PID"; PEERB_PID=
	rm -f /var/run/wireguard/$IFB.sock
	PEERB_PID=$(start_peer $NSB $IFB) && [ -n "$PEERB_PID" ] || return 1
	config_peer_b "$@"
}

# all COUNT echo requests answered (each within 2 s)
ping_all() {	# ns dst count
	local out n
	out=$(timeout $(( $3 + 10 )) ip netns exec "$1" ping -n -c "$3" -i 0.2 -W 2 "$2" 2>&1)
	n=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	[ "${n:-0}" = "$3" ] || { log "ping $2 from $1: ${n:-0}/$3 replies"; return 1; }
}
# first reply within DEADLINE seconds (a handshake has to happen first)
ping_first() {	# ns dst deadline
	timeout $(( $3 + 5 )) ip netns exec "$1" ping -n -c 1 -w "$3" "$2" >/dev/null 2>&1
}
handshake_of() {	# ns ifname peer-pubkey: latest handshake epoch (0: none)
	nsx "$1" wg show "$2" latest-handshakes 2>/dev/null | awk -v k="$3" '$1 == k {print $2}' | head -1
}
engine_alive() { [ -n "$ENGINE_PID" ] && kill -0 "$ENGINE_PID" 2>/dev/null; }

# iperf3 client; prints received Mbit/s (TCP) or "Mbit/s loss%" (UDP)
IPERF_PY='import json,sys
d=json.load(open(sys.argv[1]))
if "error" in d: print("error", d["error"]); sys.exit(1)
e=d["end"]
if sys.argv[2]=="tcp": print("%.1f"%(e["sum_received"]["bits_per_second"]/1e6))
else: s=e["sum"]; print("%.1f %.2f"%(s["bits_per_second"]/1e6, s["lost_percent"]))'
IPERF_N=0
iperf_tcp() {	# ns dst [args]: at least 1 Mbit/s received in 2 s
	local ns=$1 dst=$2 out res; shift 2
	IPERF_N=$((IPERF_N + 1)); out=$WORK/iperf.$IPERF_N.json
	timeout 20 ip netns exec "$ns" iperf3 -J -c "$dst" -p 5201 -t 2 "$@" >"$out" 2>&1
	res=$(python3 -c "$IPERF_PY" "$out" tcp 2>&1) || { log "iperf3 tcp $dst $*: $res"; return 1; }
	log "iperf3 tcp $ns -> $dst $*: $res Mbit/s"
	awk -v r="$res" 'BEGIN{exit !(r >= 1)}'
}
iperf_udp() {	# ns dst [args]: 20 Mbit/s for 2 s, loss under 10% (2 shared cores: bursts drop a few)
	local ns=$1 dst=$2 out res; shift 2
	IPERF_N=$((IPERF_N + 1)); out=$WORK/iperf.$IPERF_N.json
	timeout 20 ip netns exec "$ns" iperf3 -J -u -b 20M -l 1200 -c "$dst" -p 5201 -t 2 "$@" >"$out" 2>&1
	res=$(python3 -c "$IPERF_PY" "$out" udp 2>&1) || { log "iperf3 udp $dst $*: $res"; return 1; }
	log "iperf3 udp $ns -> $dst $*: $res (Mbit/s loss%)"
	awk -v r="$res" 'BEGIN{split(r, f, " "); exit !(f[1] >= 10 && f[2] < 10)}'
}

# ------------------------------------------------------------------- start
PEERB_PID=$(start_peer $NSB $IFB) && [ -n "$PEERB_PID" ] || { bad "start peer B ($PEER)"; exit 1; }
PEERC_PID=$(start_peer $NSC $IFC) && [ -n "$PEERC_PID" ] || { bad "start peer C ($PEER)"; exit 1; }
config_peer_b no-endpoint || { bad "configure peer B"; exit 1; }
config_peer_c || { bad "configure peer C"; exit 1; }

# ================================================ 1. engine is the initiator
log "phase 1: engine initiates (peer B has no endpoint for it)"
if start_engine; then ok "engine starts, UAPI socket /var/run/wireguard/$IFA.sock"
else bad "engine starts: $(tail -5 "$ENGINE_LOG")"; exit 1; fi
sockmode=$(stat -c %a /var/run/wireguard/$IFA.sock 2>/dev/null)
check "UAPI socket not accessible to others (mode $sockmode)" test "$(( 8#${sockmode:-777} & 8#007 ))" = 0
# stand-alone privilege drop (docs/engine.md): no_new_privs, seccomp filter, and no
# capability beyond CAP_NET_ADMIN (12) and CAP_NET_BIND_SERVICE (10)
sandbox_check() {
	local st capeff
	st=$(cat /proc/$ENGINE_PID/status 2>/dev/null) || return 1
	capeff=$(printf '%s\n' "$st" | awk '/^CapEff:/{print $2}')
	log "engine status: CapEff=$capeff $(printf '%s\n' "$st" | grep -E '^(NoNewPrivs|Seccomp):' | tr '\n\t' '  ')"
	printf '%s\n' "$st" | grep -q '^NoNewPrivs:[[:space:]]*1$' &&
		printf '%s\n' "$st" | grep -q '^Seccomp:[[:space:]]*2$' &&
		[ $(( 16#${capeff:-ffffffffff} & ~16#1400 )) = 0 ]
}
if [ $ENGINE_IS_WG_GO = 1 ]; then skip "privilege drop: wireguard-go does not drop"
else check "stand-alone: no_new_privs, seccomp, only NET_ADMIN/NET_BIND_SERVICE kept" sandbox_check; fi
check "configure engine with wg set (key, port, peer, psk)" config_engine with-endpoint
check "initiator: handshake (first ping A->B within 10 s)" ping_first $NSA $TB 10
hs=$(handshake_of $NSA $IFA "$PUBB")
check "initiator: wg show latest-handshakes on engine ($hs)" test "${hs:-0}" -gt 0
hsb=$(handshake_of $NSB $IFB "$PUBA")
check "initiator: peer B records the handshake ($hsb)" test "${hsb:-0}" -gt 0
check "initiator: ping A->B 5/5" ping_all $NSA $TB 5
check "initiator: ping B->A 5/5" ping_all $NSB $TA 5
check "initiator: ping6 A->B inside the tunnel 3/3" ping_all $NSA $TB6 3
check "initiator: ping with 1392-byte payload (fills the 1420 MTU, DF) A->B" \
	bash -c "timeout 10 ip netns exec $NSA ping -n -c 2 -i 0.2 -W 2 -M do -s 1392 $TB >/dev/null"
check "initiator: TCP A->B (iperf3 2 s)" iperf_tcp $NSA $TB
check "initiator: TCP B->A (iperf3 -R 2 s)" iperf_tcp $NSA $TB -R
check "initiator: UDP A->B 20 Mbit/s, loss < 10%" iperf_udp $NSA $TB
check "initiator: UDP B->A 20 Mbit/s, loss < 10%" iperf_udp $NSA $TB -R

# --- wg show / showconf / setconf / set against the engine
show=$(nsx $NSA wg show $IFA 2>&1)
check "wg show: lists interface, public key, port, peer, endpoint" \
	bash -c '[[ "$1" == *"interface: '$IFA'"* && "$1" == *"public key: '$PUBA'"* && "$1" == *"listening port: '$PA'"* && "$1" == *"peer: '$PUBB'"* && "$1" == *"endpoint: '$UB:$PB'"* && "$1" == *"preshared key: (hidden)"* ]]' _ "$show"
dump=$(nsx $NSA wg show $IFA dump 2>&1)
rx=$(printf '%s\n' "$dump" | awk -v k="$PUBB" '$1 == k {print $6}'); tx=$(printf '%s\n' "$dump" | awk -v k="$PUBB" '$1 == k {print $7}')
check "wg show dump: transfer counters rx=$rx tx=$tx both > 1 MB after iperf" \
	test "${rx:-0}" -gt 1000000 -a "${tx:-0}" -gt 1000000
nsx $NSA wg showconf $IFA >"$WORK/showconf.1" 2>&1
check "wg showconf: private key, listen port, peer, psk, allowed IPs, endpoint" \
	bash -c 'f=$(cat "$1"); [[ "$f" == *"PrivateKey = $(cat "$2")"* && "$f" == *"ListenPort = '$PA'"* && "$f" == *"PublicKey = '$PUBB'"* && "$f" == *"PresharedKey = $(cat "$3")"* && "$f" == *"AllowedIPs = '$TB/32', '$TB6/128'"* && "$f" == *"Endpoint = '$UB:$PB'"* ]]' \
	_ "$WORK/showconf.1" "$WORK/key_a" "$WORK/psk_ab"
check "wg setconf (showconf output fed back)" nsx $NSA wg setconf $IFA "$WORK/showconf.1"
nsx $NSA wg showconf $IFA >"$WORK/showconf.2" 2>&1
check "wg showconf after setconf is unchanged" cmp -s "$WORK/showconf.1" "$WORK/showconf.2"
check "traffic after setconf: ping A->B" ping_first $NSA $TB 10
check "wg set: add allowed-ips 10.200.9.0/24 to peer B" nsx $NSA wg set $IFA peer "$PUBB" allowed-ips $TB/32,$TB6/128,10.200.9.0/24
check "wg show allowed-ips shows the new prefix" bash -c "ip netns exec $NSA wg show $IFA allowed-ips | grep -q '10.200.9.0/24'"
check "wg set: restore allowed-ips" nsx $NSA wg set $IFA peer "$PUBB" allowed-ips $TB/32,$TB6/128
check "wg show allowed-ips no longer shows it" bash -c "! ip netns exec $NSA wg show $IFA allowed-ips | grep -q '10.200.9.0/24'"
check "wg set persistent-keepalive 1 is reported" bash -c \
	"ip netns exec $NSA wg set $IFA peer $PUBB persistent-keepalive 1 && ip netns exec $NSA wg show $IFA persistent-keepalive | grep -q '	1$'"
nsx $NSA wg set $IFA peer "$PUBB" persistent-keepalive 0
check "wg set listen-port $PA2 (rebind)" nsx $NSA wg set $IFA listen-port $PA2
check "listening port reported as $PA2" test "$(nsx $NSA wg show $IFA listen-port 2>/dev/null)" = $PA2
check "traffic after rebind (peer B learns the new source port)" ping_first $NSA $TB 10
check "peer B sees the engine at $UA:$PA2" bash -c "ip netns exec $NSB wg show $IFB endpoints | grep -q '$UA:$PA2'"
nsx $NSA wg set $IFA listen-port $PA
check "wg set fwmark 0x1234 is reported, fwmark 0 clears it" bash -c \
	"ip netns exec $NSA wg set $IFA fwmark 0x1234 && [ \"\$(ip netns exec $NSA wg show $IFA fwmark)\" = 0x1234 ] &&
	 ip netns exec $NSA wg set $IFA fwmark 0 && [ \"\$(ip netns exec $NSA wg show $IFA fwmark)\" = off ]"
check "traffic after port/fwmark changes: ping A->B" ping_first $NSA $TB 10
check "wg set with a bad key is refused, engine keeps running" bash -c \
	"! ip netns exec $NSA wg set $IFA peer 'not-a-key' 2>/dev/null; kill -0 $ENGINE_PID"

# ================================================ 2. engine is the responder
log "phase 2: engine responds (engine has no endpoint for peer B)"
check "restart engine without peer endpoint" restart_engine no-endpoint
restart_peer_b with-endpoint || bad "restart peer B"
check "responder: handshake (first ping B->A within 10 s)" ping_first $NSB $TA 10
hs=$(handshake_of $NSA $IFA "$PUBB")
check "responder: wg show latest-handshakes on engine ($hs)" test "${hs:-0}" -gt 0
check "responder: engine learned endpoint $UB:$PB from the initiation" \
	bash -c "ip netns exec $NSA wg show $IFA endpoints | grep -q '$UB:$PB'"
check "responder: ping B->A 5/5" ping_all $NSB $TA 5
check "responder: ping A->B 5/5" ping_all $NSA $TB 5
check "responder: ping6 B->A 3/3" ping_all $NSB $TA6 3
check "responder: TCP B->A (iperf3 2 s)" iperf_tcp $NSB $TA
check "responder: TCP A->B (iperf3 -R 2 s)" iperf_tcp $NSB $TA -R
check "responder: UDP B->A 20 Mbit/s, loss < 10%" iperf_udp $NSB $TA
check "responder: UDP A->B 20 Mbit/s, loss < 10%" iperf_udp $NSB $TA -R

# ================================================ 3. rekey after forced key expiry
# messages_rekey_check PREFIX: 300 pings A->B, past --test-rekey-after-messages=200,
# must end in a new handshake, and A->B must work after it. PREFIX names the role.
messages_rekey_check() {
	local hs1 hs2
	sleep 1
	hs1=$(handshake_of $NSA $IFA "$PUBB")
	timeout 20 ip netns exec $NSA ping -n -q -c 300 -i 0.01 -W 2 $TB >/dev/null 2>&1
	sleep 1
	ping_all $NSA $TB 3 >/dev/null
	hs2=$(handshake_of $NSA $IFA "$PUBB")
	check "${1}rekey after 200 messages: new handshake time ($hs1 -> $hs2)" test "${hs2:-0}" -gt "${hs1:-0}"
	check "${1}rekey after messages: ping A->B 5/5" ping_all $NSA $TB 5
}
rekey_check() {	# wait_seconds
	local hs1 hs2 hsb1 hsb2 out n total
	hs1=$(handshake_of $NSA $IFA "$PUBB"); hsb1=$(handshake_of $NSB $IFB "$PUBA")
	total=$(( $1 * 5 ))
	# keep data flowing (0.2 s apart) so the sender's rekey timer fires
	out=$(timeout $(( $1 + 15 )) ip netns exec $NSA ping -n -c $total -i 0.2 -W 2 $TB 2>&1)
	n=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	hs2=$(handshake_of $NSA $IFA "$PUBB"); hsb2=$(handshake_of $NSB $IFB "$PUBA")
	log "rekey: engine handshake $hs1 -> $hs2, peer $hsb1 -> $hsb2; ping $n/$total during it"
	check "rekey: new handshake time on the engine in wg show ($hs1 -> $hs2)" test "${hs2:-0}" -gt "${hs1:-0}"
	check "rekey: new handshake time on the peer ($hsb1 -> $hsb2)" test "${hsb2:-0}" -gt "${hsb1:-0}"
	check "rekey: traffic continued across it (>= 95% of $total pings)" test $(( ${n:-0} * 100 )) -ge $(( total * 95 ))
	check "rekey: traffic after it, ping A->B and B->A" bash -c \
		"ip netns exec $NSA ping -n -c 3 -i 0.2 -W 2 $TB >/dev/null && ip netns exec $NSB ping -n -c 3 -i 0.2 -W 2 $TA >/dev/null"
}
if [ $ENGINE_IS_WG_GO = 1 ]; then
	if [ "$LONG" = 1 ]; then
		log "phase 3: rekey, wireguard-go's real REKEY_AFTER_TIME (120 s)"
		restart_engine with-endpoint || bad "restart engine"
		restart_peer_b no-endpoint || bad "restart peer B"
		ping_first $NSA $TB 10 || bad "handshake before rekey"
		sleep 1
		rekey_check 128
	else
		skip "rekey: ENGINE is wireguard-go (no test timers); LONG=1 waits 128 s"
	fi
else
	log "phase 3: rekey with --test-rekey-after-time=$REKEY"
	check "engine accepts --test-rekey-after-time=$REKEY" restart_engine with-endpoint --test-rekey-after-time=$REKEY
	restart_peer_b no-endpoint || bad "restart peer B"
	check "rekey: first handshake (engine initiates)" ping_first $NSA $TB 10
	sleep 1	# handshake times have one-second resolution
	rekey_check $(( REKEY * 2 + 4 ))
	log "phase 3b: rekey by message count with --test-rekey-after-messages=200"
	check "engine accepts --test-rekey-after-messages=200" restart_engine with-endpoint --test-rekey-after-messages=200
	restart_peer_b no-endpoint || bad "restart peer B"
	ping_first $NSA $TB 10 || bad "handshake before message rekey"
	messages_rekey_check ""
	# 3c: the engine as the RESPONDER of the session (wireguard-go initiated it): by
	# message count it starts the rekey itself; by time it never rekeys a session it did
	# not initiate, so at REJECT_AFTER_TIME (1 + 60 s here) that session dies and the
	# engine must start a new one from its own data, without losing the traffic
	log "phase 3c: the engine as responder, --test-rekey-after-messages=200"
	check "engine accepts --test-rekey-after-messages=200 (no endpoint: responder)" \
		restart_engine no-endpoint --test-rekey-after-messages=200
	restart_peer_b with-endpoint || bad "restart peer B (3c)"
	check "responder: first handshake, wireguard-go initiates" ping_first $NSB $TA 10
	messages_rekey_check "responder "
	log "phase 3d: the engine as responder, --test-rekey-after-time=1 (session rejected after 61 s)"
	check "engine accepts --test-rekey-after-time=1 (no endpoint: responder)" \
		restart_engine no-endpoint --test-rekey-after-time=1
	restart_peer_b with-endpoint || bad "restart peer B (3d)"
	check "responder: first handshake, wireguard-go initiates (3d)" ping_first $NSB $TA 10
	sleep 1
	rekey_check 66
	restart_engine with-endpoint || bad "restart engine (no test timers)"
	restart_peer_b no-endpoint || bad "restart peer B"
fi

# ================================================ 4. peer restart
log "phase 4: peer restart"
ping_first $NSA $TB 10 || bad "session before peer restart"
# 4a: the restarted peer knows the engine and initiates: engine must accept a new session
restart_peer_b with-endpoint || bad "restart peer B (4a)"
check "peer restart, peer initiates: ping B->A within 10 s" ping_first $NSB $TA 10
check "peer restart, peer initiates: ping A->B 5/5" ping_all $NSA $TB 5
# 4b: the restarted peer is silent (no endpoint): only the engine's timers recover it
# (no reply to data for KEEPALIVE + REKEY_TIMEOUT = 15 s, then a new handshake)
restart_peer_b no-endpoint || bad "restart peer B (4b)"
t0=$(date +%s)
check "peer restart, silent peer: engine re-handshakes, ping A->B within 30 s" ping_first $NSA $TB 30
log "silent peer recovered after $(( $(date +%s) - t0 )) s"
check "peer restart, silent peer: ping B->A 5/5" ping_all $NSB $TA 5

# ================================================ 5. endpoint change (roaming)
log "phase 5: peer B moves to $UB2:$PB2"
nsx $NSB wg set $IFB peer "$PUBA" endpoint $UA:$PA
ping_all $NSB $TA 2 >/dev/null || bad "session before roaming"
ip -n $NSB addr del $UB/24 dev $VB && ip -n $NSB addr add $UB2/24 dev $VB
nsx $NSB wg set $IFB listen-port $PB2
check "roaming: ping B->A from the new address/port" ping_first $NSB $TA 10
check "roaming: engine follows, endpoint is now $UB2:$PB2" \
	bash -c "ip netns exec $NSA wg show $IFA endpoints | grep -q '$UB2:$PB2'"
check "roaming: ping A->B 5/5 (replies go to the new endpoint)" ping_all $NSA $TB 5
check "roaming: TCP A->B" iperf_tcp $NSA $TB
ip -n $NSB addr del $UB2/24 dev $VB && ip -n $NSB addr add $UB/24 dev $VB
nsx $NSB wg set $IFB listen-port $PB
check "roaming back: ping B->A" ping_first $NSB $TA 10
check "roaming back: endpoint is $UB:$PB again" bash -c "ip netns exec $NSA wg show $IFA endpoints | grep -q '$UB:$PB'"

# ================================================ 6. several peers (C over IPv6 underlay)
log "phase 6: second peer C over an IPv6 underlay"
check "wg set: add peer C (endpoint [$UC6]:$PC)" nsx $NSA wg set $IFA peer "$PUBC" allowed-ips $TC/32,$TC6/128 endpoint "[$UC6]:$PC"
check "wg show peers lists 2 peers" test "$(nsx $NSA wg show $IFA peers | wc -l)" = 2
check "several peers: ping A->C (udp6 underlay) within 10 s" ping_first $NSA $TC 10
check "several peers: ping C->A 5/5" ping_all $NSC $TA 5
check "several peers: ping6 A->C 3/3" ping_all $NSA $TC6 3
check "several peers: ping A->B 5/5 at the same time" ping_all $NSA $TB 5
( ip netns exec $NSA ping -n -c 20 -i 0.05 -W 2 $TB >"$WORK/par-b" 2>&1 ) &
pb=$!
( ip netns exec $NSA ping -n -c 20 -i 0.05 -W 2 $TC >"$WORK/par-c" 2>&1 ) &
pc=$!
wait $pb; rb=$?; wait $pc; rc=$?
check "several peers: concurrent pings to B and C all answered" test $rb = 0 -a $rc = 0
check "several peers: TCP C->A" iperf_tcp $NSC $TA
tun_rx() { ip netns exec $NSA cat /sys/class/net/$IFA/statistics/rx_packets 2>/dev/null || echo 0; }
spoof_check() {	# the engine writes a packet to its TUN only if the source is in the sender's AllowedIPs
	local r0 r1 r2
	ip -n $NSB addr add $TC/32 dev $IFB || return 1
	r0=$(tun_rx)
	timeout 8 ip netns exec $NSB ping -n -c 3 -i 0.2 -W 1 -I $TC $TA >/dev/null 2>&1
	sleep 0.5; r1=$(tun_rx)
	ip -n $NSB addr del $TC/32 dev $IFB
	timeout 8 ip netns exec $NSB ping -n -c 3 -i 0.2 -W 1 $TA >/dev/null 2>&1
	sleep 0.5; r2=$(tun_rx)
	log "TUN rx packets on the engine: $r0 -> $r1 (3 spoofed from B) -> $r2 (3 genuine from B)"
	[ "$r1" = "$r0" ] && [ $(( r2 - r1 )) -ge 3 ]
}
check "allowed IPs: B's packets claiming C's address are dropped, B's own accepted" spoof_check
check "wg set: remove peer C" nsx $NSA wg set $IFA peer "$PUBC" remove
check "wg show peers lists 1 peer" test "$(nsx $NSA wg show $IFA peers | wc -l)" = 1
check "removed peer C unreachable" bash -c "! timeout 5 ip netns exec $NSA ping -n -c 1 -W 2 $TC >/dev/null 2>&1"
check "peer B still fine after removing C" ping_all $NSA $TB 3
nsx $NSA wg set $IFA peer "$PUBC" allowed-ips $TC/32,$TC6/128 endpoint "[$UC6]:$PC"

# ================================================ 7. malformed packet flood
log "phase 7: malformed-packet flood ($FLOOD packets) to the engine's port $PA"
cat >"$WORK/flood.py" <<'EOF'
# Sends malformed WireGuard traffic to DST:PORT: random bytes, wrong lengths,
# garbage messages of every type, and data messages that reuse the real receiver
# index captured off the veth (replays, bit flips, random counters). Bounded count.
import os, random, socket, struct, sys, time
dst, port, count, ifname = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnd = random.Random(20261122)
captured = []
try:	# capture data messages that the peer sends to the engine (both directions pass here)
	cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
	cap.bind((ifname, 0)); cap.settimeout(0.2)
	end = time.monotonic() + 4
	while time.monotonic() < end and len(captured) < 64:
		try: f = cap.recv(2048)
		except socket.timeout: continue
		if len(f) < 14 + 20 + 8 + 32 or f[12:14] != b"\x08\x00" or f[23] != 17: continue
		ihl = (f[14] & 15) * 4
		udp = f[14 + ihl:]
		dport = struct.unpack("!H", udp[2:4])[0]
		payload = udp[8:]
		if dport == port and payload[:4] == b"\x04\x00\x00\x00":
			captured.append(bytes(payload))
	cap.close()
except OSError as e:
	print("capture failed:", e, file=sys.stderr)
print("captured %d real data messages" % len(captured))
sizes = {1: 148, 2: 92, 3: 64, 4: 32}
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
sent = 0
for i in range(count):
	k = i % 10
	if k == 0: p = os.urandom(rnd.randint(0, 1500))
	elif k == 1: p = bytes([rnd.randint(1, 4), 0, 0, 0]) + os.urandom(rnd.randint(0, 200))
	elif k in (2, 3, 4): t = k - 1; p = struct.pack("<I", t) + os.urandom(sizes[t] - 4)
	elif k == 5: p = b"\x04\x00\x00\x00" + os.urandom(rnd.randint(12, 1500))
	elif k == 6:
		t = rnd.randint(1, 4); p = struct.pack("<I", t) + os.urandom(rnd.randint(0, sizes[t] - 5))
	elif k == 7: p = bytes([rnd.choice([0, 5, 255]), rnd.randint(0, 255), 1, 0]) + os.urandom(rnd.randint(0, 300))
	elif captured:
		c = bytearray(rnd.choice(captured))
		if k == 8: pass	# exact replay: must be dropped by the replay window
		else:
			j = rnd.choice([8, 9, 10, 16 + rnd.randint(0, max(0, len(c) - 17))])
			c[j] ^= 1 << rnd.randint(0, 7)	# counter or ciphertext bit flip
			if rnd.random() < 0.3: c[8:16] = struct.pack("<Q", rnd.getrandbits(64))
		p = bytes(c)
	else: p = os.urandom(32)
	try:
		socks[i % len(socks)].sendto(p, (dst, port)); sent += 1
	except OSError: pass
print("sent %d of %d" % (sent, count))
EOF
# real traffic B -> A while the capture runs, so the flood can reuse real receiver indexes
( timeout 8 ip netns exec $NSB ping -n -c 30 -i 0.1 -W 1 $TA >/dev/null 2>&1 ) &
ppid=$!
ip netns exec $NSB timeout 120 python3 "$WORK/flood.py" $UA $PA "$FLOOD" $VB >"$WORK/flood.log" 2>&1
frc=$?
wait $ppid
log "flood: $(tr '\n' ' ' <"$WORK/flood.log")"
check "flood sent (python3 exit $frc)" test $frc = 0
check "flood: captured real data messages for replay/forgery" grep -q 'captured [1-9]' "$WORK/flood.log"
sleep 1
check "after flood: engine still runs" engine_alive
check "after flood: session still passes traffic A->B 5/5" ping_all $NSA $TB 5
check "after flood: B->A 5/5" ping_all $NSB $TA 5
check "after flood: peer C (other session) ping A->C" ping_first $NSA $TC 10
check "after flood: wg show still answers" bash -c "ip netns exec $NSA wg show $IFA >/dev/null"

# ================================================ 7b. handshake flood: cookie replies under load
log "phase 7b: ${COOKIE_SECONDS}s flood of initiations with a valid MAC1; a new handshake during it"
cat >"$WORK/cookie.py" <<'EOF'
# Handshake-initiation flood with a valid MAC1 (computed from the engine's public key)
# and garbage inside: each one costs the engine a Diffie-Hellman, so it must get
# "under load" and answer with cookie replies (type 3) instead of doing the work.
import base64, hashlib, os, select, socket, struct, sys, time
dst, port, seconds, pub_b64 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
pub = base64.b64decode(pub_b64)
mac1_key = hashlib.blake2s(b"mac1----" + pub).digest()
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
for s in socks:
	s.setblocking(False)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
cookies = other = sent = 0
def drain():
	global cookies, other
	for s in socks:
		while True:
			try: m = s.recv(2048)
			except BlockingIOError: break
			if len(m) == 64 and m[0] == 3: cookies += 1
			else: other += 1
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < seconds:
	i += 1
	body = struct.pack("<I", 1) + os.urandom(4 + 32 + 48 + 28)
	msg = body + hashlib.blake2s(body, key=mac1_key, digest_size=16).digest() + bytes(16)
	try:
		socks[i % 4].sendto(msg, (dst, port)); sent += 1
	except OSError:
		pass
	if i % 256 == 0: drain()
end = time.monotonic() + 2
while time.monotonic() < end:
	select.select(socks, [], [], 0.2); drain()
print("sent %d initiations with valid MAC1 in %.1f s (%.0f/s); got %d cookie replies, %d other replies"
      % (sent, seconds, sent / seconds, cookies, other))
EOF
ip netns exec $NSB timeout $(( COOKIE_SECONDS + 30 )) python3 "$WORK/cookie.py" $UA $PA $COOKIE_SECONDS "$PUBA" \
	>"$WORK/cookie.log" 2>&1 &
cpid=$!
sleep 1
# the peer restarts during the flood and must get through: initiation -> cookie reply
# -> initiation with MAC2 (wireguard-go retries after REKEY_TIMEOUT) -> accepted
restart_peer_b with-endpoint || bad "restart peer B during the handshake flood"
t0=$(date +%s)
ping_first $NSB $TA $(( COOKIE_SECONDS - 4 ))
hrc=$?
took=$(( $(date +%s) - t0 ))
kill -0 $cpid 2>/dev/null; still_flooding=$?
wait $cpid
log "cookie flood: $(cat "$WORK/cookie.log"); new handshake after ${took}s"
check "handshake flood: the engine answered with cookie replies" grep -q 'got [1-9][0-9]* cookie' "$WORK/cookie.log"
check "handshake flood: a restarted peer completed a handshake during it (${took}s; cookie + MAC2)" \
	test $hrc = 0 -a $still_flooding = 0
check "after handshake flood: engine still runs" engine_alive
check "after handshake flood: ping A->B 5/5 and A->C" bash -c \
	"ip netns exec $NSA ping -n -c 5 -i 0.2 -W 2 $TB | grep -q ' 5 received' && ip netns exec $NSA ping -n -c 1 -w 10 $TC >/dev/null"

# ================================================ 8. lifecycle
log "phase 8: SIGTERM and TUN removal"
kill -TERM "$ENGINE_PID" 2>/dev/null
gone=1; for _ in $(seq 300); do kill -0 "$ENGINE_PID" 2>/dev/null || { gone=0; break; }; sleep 0.1; done
check "SIGTERM: engine exits (bounded wait, 30 s)" test $gone = 0
wait "$ENGINE_PID" 2>/dev/null; erc=$?
check "SIGTERM: exit status 0 ($erc)" test "$erc" = 0
check "SIGTERM: UAPI socket removed" test ! -e /var/run/wireguard/$IFA.sock
kill -9 "$ENGINE_PID" 2>/dev/null; ENGINE_PID=
if start_engine; then
	ip -n $NSA link del $IFA
	gone=1; for _ in $(seq 300); do kill -0 "$ENGINE_PID" 2>/dev/null || { gone=0; break; }; sleep 0.1; done
	check "TUN deleted: engine exits (bounded wait, 30 s)" test $gone = 0
	check "TUN deleted: UAPI socket removed" test ! -e /var/run/wireguard/$IFA.sock
	kill_wait "$ENGINE_PID"; ENGINE_PID=
else
	bad "engine restart for the TUN-removal check"
fi

# ================================================ 9. wg-quick with the engine as userspace implementation
if command -v wg-quick >/dev/null; then
	log "phase 9: wg-quick up/down with WG_QUICK_USERSPACE_IMPLEMENTATION=$ENGINE (daemonizing start)"
	( umask 077; cat >"$WORK/$IFQ.conf" <<EOF
[Interface]
PrivateKey = $(cat "$WORK/key_a")
Address = $TA/24
ListenPort = $PA

[Peer]
PublicKey = $PUBB
PresharedKey = $(cat "$WORK/psk_ab")
Endpoint = $UB:$PB
AllowedIPs = $TB/32
EOF
	)
	restart_peer_b no-endpoint || bad "restart peer B"
	WG_QUICK_USERSPACE_IMPLEMENTATION=$ENGINE LOG_LEVEL=verbose timeout 30 \
		ip netns exec $NSA wg-quick up "$WORK/$IFQ.conf" >"$WORK/wg-quick-up.log" 2>&1
	wqrc=$?
	check "wg-quick up exits 0 (exit $wqrc)" test $wqrc = 0
	check "wg-quick: the engine daemonized and serves $IFQ.sock" test -S /var/run/wireguard/$IFQ.sock
	check "wg-quick: ping A->B through $IFQ" ping_first $NSA $TB 10
	check "wg-quick: wg show $IFQ lists the peer" bash -c "ip netns exec $NSA wg show $IFQ peers | grep -qF '$PUBB'"
	timeout 30 ip netns exec $NSA wg-quick down "$WORK/$IFQ.conf" >"$WORK/wg-quick-down.log" 2>&1
	wqrc=$?
	check "wg-quick down exits 0 (exit $wqrc)" test $wqrc = 0
	qgone() { [ ! -e /var/run/wireguard/$IFQ.sock ]; }
	gone=1; for _ in $(seq 50); do qgone && { gone=0; break; }; sleep 0.1; done
	check "wg-quick down: the engine exited and removed its socket" test $gone = 0
	[ $wqrc = 0 ] || sed 's/^/#   /' "$WORK/wg-quick-up.log" "$WORK/wg-quick-down.log"
else
	skip "wg-quick not installed"
fi

echo "$PASS passed, $FAIL failed${SKIPPED:+, $SKIPPED skipped}"
if [ "$FAIL" -gt 0 ]; then
	echo "logs kept in $WORK (engine logs: $WORK/engine.*.log)"
	exit 1
fi
exit 0
