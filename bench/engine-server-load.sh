#!/usr/bin/env bash
# engine-server-load.sh - benchmark (not a test): the engine as a server with many peers,
# side by side with wireguard-go in the same run (issue 10 §4).
#
# In two namespaces it creates and deletes (rvsl-s: the server; rvsl-g: the generator and
# a client), joined by a veth (10.240.0.1/16 <-> 10.240.0.2/16; generator sources
# 10.241.0.1 and the NSRC-1 addresses after it, routed by the server via 10.240.0.2: on-link
# they would need one neighbour entry each, and past the kernel's gc_thresh3 (1024) the
# server's answers to the others are dropped):
#   1. memory: the server's VmRSS with 1 peer and with PEERS peers (wg setconf) -> KiB per
#      idle peer;
#   2. handshakes: bench/engine-handshake-load sends valid initiations from PEERS distinct
#      peers over NSRC source addresses, at most 512 unanswered at a time (the server's
#      queue stays above its "under load" mark, so every source first gets a cookie reply
#      and then sends MAC2), 2 s of warm-up, then SECS timed seconds: handshakes
#      (responses) per second, cookie replies, the server's CPU and handshakes per
#      CPU-second (on a machine shared with other work a process gets CPU by its number of
#      runnable threads, not by its efficiency), and the generator's own CPU. The
#      initiations' X25519 work is done once before any timed run (a pool file of
#      POOL initiations, each sent once to each server, timestamps growing per peer), so
#      the generator costs the server's machine little;
#   3. throughput of one peer (an engine client, iperf3 TCP DUR s) with 1 peer configured
#      on the server and with PEERS configured (engine only; TPUT=0 skips it).
# Each is run RUNS times, alternating engine / wireguard-go (and 1 / PEERS peers); the
# medians are printed with the load average, then the goal check (issue 10: >= 2x
# wireguard-go's handshakes per second).
#
# Usage (root): bash bench/engine-server-load.sh
#   ENGINE=path  GEN=path (default: newest build*/ of this checkout)
#   PEERS=1000 SECS=8 NSRC=4000 RUNS=3 DUR=5 POOL=(25000 x (SECS+2)) TPUT=1
#   KEEP_LOGS=1: the servers' logs are copied to $WORK.logs
# Under load both servers allow 20 handshakes/s (burst 5) per source address: NSRC
# addresses cap the rate at 20 x NSRC/s (80,000/s by default, far above what two cores
# can answer; the engine's limiter hashes sources into 4096 slots, so some share one).
# Everything (both servers and the generator) runs on this machine: the servers get
# what the generator and the rest of the machine leave.
set -u
set -o pipefail

PEERS=${PEERS:-1000}; SECS=${SECS:-8}; NSRC=${NSRC:-4000}; RUNS=${RUNS:-3}; DUR=${DUR:-5}; TPUT=${TPUT:-1}
POOL=${POOL:-$(( 25000 * (SECS + 2) ))}
SRC_BASE=10.241.0.1
WORK=${WORK:-/tmp/rvsl-work}
log() { printf '%s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
case "$WORK" in /tmp/?*) ;; *) die "WORK must be a folder under /tmp";; esac
for t in ip wg wireguard-go iperf3 python3 timeout; do command -v $t >/dev/null || die "$t missing"; done
SRC=$(cd "$(dirname "$0")/.." && pwd)
ENGINE=${ENGINE:-$(ls -t "$SRC"/build*/engine/roamvpn-engine 2>/dev/null | head -1)}
GEN=${GEN:-$(ls -t "$SRC"/build*/bench/engine-handshake-load 2>/dev/null | head -1)}
[ -x "$ENGINE" ] || die "no roamvpn-engine built; set ENGINE=path"
[ -x "$GEN" ] || die "no engine-handshake-load built; set GEN=path"

S=rvsl-s; G=rvsl-g; IFS_=rvsl-sv; IFG=rvsl-gv
SRV=10.240.0.1; CLI=10.240.0.2; PORT=51870; CPORT=51871
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
PIDS=()
stop_pid() { kill "$1" 2>/dev/null; for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null; }
cleanup() {
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	ip netns del $S 2>/dev/null; ip netns del $G 2>/dev/null
	rm -f /var/run/wireguard/rvsl-*.sock
	[ "${KEEP_LOGS:-0}" = 1 ] && [ -d "$WORK" ] && { rm -rf "$WORK.logs"; mkdir -p "$WORK.logs"; cp "$WORK"/*.log "$WORK/results.tsv" "$WORK.logs/" 2>/dev/null; }
	rm -rf "$WORK"
}
trap cleanup EXIT
cleanup; mkdir -p "$WORK"; chmod 700 "$WORK"
ip netns add $S; ip netns add $G
ip link add $IFS_ netns $S type veth peer name $IFG netns $G
nsx $S ip addr add $SRV/16 dev $IFS_; nsx $G ip addr add $CLI/16 dev $IFG
[ "$NSRC" -ge 1 ] && [ "$NSRC" -le 50000 ] || die "NSRC must be 1..50000"
python3 -c 'import ipaddress,sys
b=ipaddress.IPv4Address(sys.argv[1])
for i in range(int(sys.argv[2])): print("address add %s/32 dev %s" % (b + i, sys.argv[3]))' $SRC_BASE "$NSRC" $IFG |
	nsx $G ip -batch - || die "source addresses"
for ns in $S $G; do nsx $ns ip link set lo up; done
nsx $S ip link set $IFS_ up; nsx $G ip link set $IFG up
nsx $S ip route add 10.241.0.0/16 via $CLI dev $IFS_ || die "route to the sources"

umask 077
wg genkey >"$WORK/srv.key"; wg pubkey <"$WORK/srv.key" >"$WORK/srv.pub"
wg genkey >"$WORK/cli.key"; wg pubkey <"$WORK/cli.key" >"$WORK/cli.pub"
"$GEN" peers "$PEERS" "rvsl-$$" >"$WORK/peers.conf" || die "generator"
cli_peer() { printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.250.0.2/32\n\n' "$(cat "$WORK/cli.pub")"; }
conf() {	# n_generated: a setconf file with the client peer and n generated peers
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$(cat "$WORK/srv.key")" $PORT
	cli_peer
	[ "$1" -gt 0 ] && awk -v n="$1" '/^\[Peer\]/{c++} c<=n' "$WORK/peers.conf"
}
conf 0 >"$WORK/conf1"; conf "$PEERS" >"$WORK/confN"
log "precomputing $POOL initiations (not timed) ..."
"$GEN" pool "$(cat "$WORK/srv.pub")" "$PEERS" "rvsl-$$" "$POOL" "$WORK/pool" || die "pool"
umask 022

start_server() {	# impl: prints the pid
	local prog=$ENGINE ifn=rvsl-e pid
	[ "$1" = wg-go ] && { prog=wireguard-go; ifn=rvsl-w; }
	ip netns exec $S "$prog" --foreground $ifn </dev/null >"$WORK/$ifn.log" 2>&1 &
	pid=$!
	# bounded (a loaded machine may take seconds); a server that did not come
	# up is stopped here, its pid never reaches the caller's cleanup list
	for _ in $(seq 200); do [ -S /var/run/wireguard/$ifn.sock ] && break; sleep 0.1; done
	[ -S /var/run/wireguard/$ifn.sock ] || { stop_pid "$pid"; return 1; }
	nsx $S ip addr add 10.250.0.1/24 dev $ifn
	nsx $S ip link set $ifn mtu 1420 up
	echo "$pid"
}
ifname_of() { [ "$1" = wg-go ] && echo rvsl-w || echo rvsl-e; }
rss_kib() { awk '/^VmRSS/{print $2}' /proc/"$1"/status; }
median() { sort -n | awk '{a[NR]=$1} END{if(NR) print a[int((NR+1)/2)]; else print "nan"}'; }

RES=$WORK/results.tsv; : >"$RES"
log "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
for run in $(seq "$RUNS"); do
	for impl in engine wg-go; do
		ifn=$(ifname_of $impl)
		pid=$(start_server $impl) || die "$impl did not start: $(tail -3 "$WORK/$ifn.log")"
		PIDS+=("$pid")
		nsx $S wg setconf $ifn "$WORK/conf1" || die "setconf 1"
		sleep 1; r1=$(rss_kib "$pid")
		nsx $S wg setconf $ifn "$WORK/confN" || die "setconf $PEERS"
		sleep 1; rn=$(rss_kib "$pid")
		n=$(nsx $S wg show $ifn peers | wc -l)
		[ "$n" = $(( PEERS + 1 )) ] || die "$impl has $n peers, not $(( PEERS + 1 ))"
		kib=$(awk -v a="$r1" -v b="$rn" -v n="$PEERS" 'BEGIN{printf "%.2f", (b-a)/n}')
		load=$(cut -d' ' -f1 /proc/loadavg)
		line=$(nsx $G timeout $(( SECS + 60 )) "$GEN" flood "$(cat "$WORK/srv.pub")" $SRV $PORT "$WORK/pool" \
			"$PEERS" "$NSRC" $SRC_BASE "$SECS" "$pid") || die "generator against $impl: $line"
		log "  $impl: $line; UDP RcvbufErrors: server $(nsx $S nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/{print $2}'), generator $(nsx $G nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/{print $2}')"
		f() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
		hs=$(f handshakes_per_s); cpu=$(f server_cpu_pct); gcpu=$(f gen_cpu_pct)
		ck=$(f cookie_replies); wck=$(f warmup_cookie_replies); sent=$(f sent); mac2=$(f with_mac2)
		[ "$(f pool_left)" = 0 ] && log "WARNING: the pool ran out during the $impl run: the rate is over a shorter window; raise POOL"
		hpc=$(awk -v h="$hs" -v c="$cpu" 'BEGIN{printf "%.0f", (c > 0 ? h*100/c : 0)}')
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$run" "$r1" "$rn" "$kib" \
			"$(f sent_per_s)" "$hs" "$ck" "$cpu" "$hpc" "$gcpu" "$wck" "$load" "$mac2/$sent" >>"$RES"
		log "$(printf '%-7s run %d (load %s): RSS %s -> %s KiB (%s KiB/peer); %s handshakes/s at %s%% server CPU = %s per CPU-second; cookie replies %s in warm-up, %s timed; %s of %s initiations carried MAC2; generator CPU %s%%' \
			$impl "$run" "$load" "$r1" "$rn" "$kib" "$hs" "$cpu" "$hpc" "$wck" "$ck" "$mac2" "$sent" "$gcpu")"
		stop_pid "$pid"
	done
done

# ------------------------------------------------- one peer's throughput, 1 vs PEERS configured
TP=$WORK/tput.tsv; : >"$TP"
if [ "$TPUT" = 1 ]; then
cpid=
ip netns exec $G "$ENGINE" --foreground rvsl-c </dev/null >"$WORK/rvsl-c.log" 2>&1 &
cpid=$!; PIDS+=("$cpid")
for _ in $(seq 50); do [ -S /var/run/wireguard/rvsl-c.sock ] && break; sleep 0.1; done
nsx $G wg set rvsl-c listen-port $CPORT private-key "$WORK/cli.key" \
	peer "$(cat "$WORK/srv.pub")" endpoint $SRV:$PORT allowed-ips 10.250.0.1/32 || die "client"
nsx $G ip addr add 10.250.0.2/24 dev rvsl-c; nsx $G ip link set rvsl-c mtu 1420 up
pid=$(start_server engine) || die "engine server"
PIDS+=("$pid")
nsx $S wg setconf rvsl-e "$WORK/conf1" || die "setconf"
ip netns exec $S iperf3 -s -p 5270 >/dev/null 2>&1 &
PIDS+=($!)
for run in $(seq "$RUNS"); do
	for n in 1 "$PEERS"; do
		[ "$n" = 1 ] && c=conf1 || c=confN
		# syncconf keeps the client's peer (and its session) and adds/removes the rest
		nsx $S wg syncconf rvsl-e "$WORK/$c" || die "syncconf"
		timeout 10 ip netns exec $G ping -q -c 3 -i 0.2 -W 2 10.250.0.1 >/dev/null || die "client ping ($n peers)"
		g=$(timeout $(( DUR + 20 )) ip netns exec $G iperf3 -J -c 10.250.0.1 -p 5270 -t "$DUR" 2>/dev/null |
			python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))') || g=nan
		printf '%s\t%s\n' "$n" "$g" >>"$TP"
		log "throughput, $n peer(s) configured, run $run: $g Gbit/s"
	done
done
fi

echo
echo "engine-server-load: $PEERS peers, $NSRC source addresses (limiter cap 20 x $NSRC = $(( 20 * NSRC ))/s), ${SECS}s timed after 2 s warm-up, $RUNS alternating runs"
echo "machine: $(nproc) CPUs shared by both servers (one at a time) and the generator; load average after: $(cut -d' ' -f1-3 /proc/loadavg) (per run: $(awk -F'\t' '{printf "%s ", $13}' "$RES"))"
echo "engine: $ENGINE; wireguard-go $(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null)"
for impl in engine wg-go; do
	m() { awk -F'\t' -v i=$impl -v c="$1" '$1==i{print $c}' "$RES" | median; }
	printf 'RESULT %-7s handshakes/s %s  server CPU %s%%  handshakes per CPU-second %s  cookie replies %s warm-up + %s timed  generator CPU %s%%  KiB/idle peer %s\n' \
		$impl "$(m 7)" "$(m 9)" "$(m 10)" "$(m 12)" "$(m 8)" "$(m 11)" "$(m 5)"
	printf '        runs (handshakes/s): %s\n' "$(awk -F'\t' -v i=$impl '$1==i{printf "%s ", $7}' "$RES")"
done
he=$(awk -F'\t' '$1=="engine"{print $7}' "$RES" | median); hw=$(awk -F'\t' '$1=="wg-go"{print $7}' "$RES" | median)
pe=$(awk -F'\t' '$1=="engine"{print $10}' "$RES" | median); pw=$(awk -F'\t' '$1=="wg-go"{print $10}' "$RES" | median)
awk -v e="$he" -v w="$hw" -v pe="$pe" -v pw="$pw" -v cap=$(( 20 * NSRC )) 'BEGIN{
	r = (w > 0 ? e/w : 0); rc = (pw > 0 ? pe/pw : 0)
	printf "GOAL handshakes/s engine/wireguard-go %.2fx (goal >= 2x): %s; per CPU-second %.2fx\n", r, (r >= 2 ? "MET" : "NOT MET"), rc
	if (e > cap / 2 || w > cap / 2) printf "WARNING: a rate above half the per-source limiter cap (%d/s): raise NSRC\n", cap
}'
if [ "$TPUT" = 1 ]; then
	t1=$(awk -F'\t' '$1==1{print $2}' "$TP" | median); tn=$(awk -F'\t' -v n="$PEERS" '$1==n{print $2}' "$TP" | median)
	awk -v a="$t1" -v b="$tn" -v n="$PEERS" 'BEGIN{printf "RESULT throughput one peer: %.2f Gbit/s with 1 configured, %.2f with %d: %.0f%% (goal >= 90%%)\n", a, b, n, (a>0 ? b*100/a : 0)}'
fi
