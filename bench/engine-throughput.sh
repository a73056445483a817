#!/usr/bin/env bash
# engine-throughput.sh - benchmark (not a test): roamvpn-engine against wireguard-go and
# the raw veth, on the same two namespaces, in the same run.
#
# Owns: the issue 3 throughput/latency figures. All inside two namespaces it creates
# (rveb-a, rveb-b) and deletes:
#   veth rveb-va 10.211.0.1 <-> rveb-vb 10.211.0.2                (raw path)
#   wireguard-go rveb-wa 10.212.0.1 <-> rveb-wb 10.212.0.2         (port 51850)
#   roamvpn-engine rveb-ea 10.213.0.1 <-> rveb-eb 10.213.0.2       (port 51860)
# Both tunnels run over the same veth; they are measured one after the other.
#
# Usage (root):  bash bench/engine-throughput.sh [--quick]
#   ENGINE=path (default: newest build*/engine/roamvpn-engine of this checkout)
#   ENGINE_ARGS="--workers=1" extra engine options (e.g. to compare worker counts)
#   DUR=10 RUNS=1 PAR=4 UDP_RATES="200M 500M 1000M" UDP_DUR=5
#   PATHS="raw wg en": which paths to measure (e.g. PATHS=en while tuning the engine; the
#     ratios then print nan for the missing ones)
#   --quick: DUR=2 RUNS=1 UDP_RATES=200M UDP_DUR=1 (smoke run, ~40 s)
# Prints a table and RESULT lines, and the ratios engine/wireguard-go and engine/raw.
# CPU per Gbit/s: utime+stime (/proc/PID/stat) of both tunnel processes during the run,
# in % of one core, divided by the received Gbit/s; the same as CPU-seconds per GB moved
# (= ns of CPU per byte, both ends): x 8 / 100. The load of other work on the machine
# distorts Gbit/s much more than this cost per byte.
set -u
set -o pipefail

QUICK=0
for a in "$@"; do
	case "$a" in
	--quick) QUICK=1 ;;
	-h|--help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "unknown argument: $a" >&2; exit 2 ;;
	esac
done
if [ $QUICK = 1 ]; then
	DUR=${DUR:-2}; RUNS=${RUNS:-1}; UDP_RATES=${UDP_RATES:-200M}; UDP_DUR=${UDP_DUR:-1}; PINGS=${PINGS:-5}
else
	DUR=${DUR:-10}; RUNS=${RUNS:-1}; UDP_RATES=${UDP_RATES:-"200M 500M 1000M"}; UDP_DUR=${UDP_DUR:-5}; PINGS=${PINGS:-20}
fi
PAR=${PAR:-4}
WORK=${WORK:-/tmp/rveb-work}
MAXLIFE=$(( 60 + RUNS * (DUR + 25) * 9 + 3 * (UDP_DUR + 25) * $(echo $UDP_RATES | wc -w) + 120 ))

log() { printf '%s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"
case "$WORK" in /tmp/?*) ;; *) die "WORK must be a folder under /tmp (it is wiped)";; esac
for t in ip wg wireguard-go iperf3 python3 ping timeout flock; do command -v $t >/dev/null || die "$t missing"; done
[ -c /dev/net/tun ] || die "/dev/net/tun missing"

SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${ENGINE:-}" ]; then
	ENGINE=$(ls -t "$SRC"/build*/engine/roamvpn-engine 2>/dev/null | head -1)
	[ -n "$ENGINE" ] || die "no roamvpn-engine built; set ENGINE=path"
fi
[ -x "$ENGINE" ] || die "ENGINE=$ENGINE is not executable"

NSA=rveb-a; NSB=rveb-b
VA=rveb-va; VB=rveb-vb; WA=rveb-wa; WB=rveb-wb; EA=rveb-ea; EB=rveb-eb
RAW_A=10.211.0.1; RAW_B=10.211.0.2
WG_A=10.212.0.1; WG_B=10.212.0.2
EN_A=10.213.0.1; EN_B=10.213.0.2
WG_PORT=51850; EN_PORT=51860
HZ=$(getconf CLK_TCK)

PIDS=(); WATCHDOG=
kill_wait() {
	local p=$1
	kill "$p" 2>/dev/null || return 0
	for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
}
cleanup() {
	local p ns
	if [ -n "$WATCHDOG" ]; then
		for p in $(cat /proc/$WATCHDOG/task/*/children 2>/dev/null); do kill "$p" 2>/dev/null; done
		kill "$WATCHDOG" 2>/dev/null
	fi
	for p in "${PIDS[@]}"; do kill_wait "$p"; done
	PIDS=()
	for ns in $NSA $NSB; do
		if ip netns list | grep -qw "^$ns"; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
			sleep 0.2
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	for i in $WA $WB $EA $EB; do rm -f /var/run/wireguard/$i.sock; done
}
exec 9>/run/lock/roamvpn-engine-bench.lock
flock -w 600 9 || die "another engine-throughput run holds the lock"
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
rm -rf "$WORK"; mkdir -p "$WORK"; chmod 700 "$WORK"
( sleep "$MAXLIFE"; kill -TERM $$ ) >/dev/null 2>&1 </dev/null &
WATCHDOG=$!

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
proc_ticks() { awk '{print $14+$15}' /proc/"$1"/stat 2>/dev/null || echo 0; }
sys_busy_idle() { awk '/^cpu /{b=$2+$3+$4+$7+$8; i=$5+$6; print b, i}' /proc/stat; }

# ---------------------------------------------------------------- topology
ip netns add $NSA && ip netns add $NSB || die "netns add"
ip link add $VA netns $NSA type veth peer name $VB netns $NSB || die "veth"
ip -n $NSA addr add $RAW_A/24 dev $VA; ip -n $NSB addr add $RAW_B/24 dev $VB
for ns in $NSA $NSB; do ip -n $ns link set lo up; done
ip -n $NSA link set $VA up; ip -n $NSB link set $VB up
# a few tries: on a loaded machine the first pings over a new veth were seen to go unanswered
ok=0
for _ in 1 2 3; do
	timeout 10 ip netns exec $NSA ping -q -c 2 -i 0.2 -W 2 $RAW_B >/dev/null && { ok=1; break; }
	sleep 1
done
[ $ok = 1 ] || die "veth ping failed"

umask 077
for s in a b; do wg genkey >"$WORK/key_$s"; wg pubkey <"$WORK/key_$s" >"$WORK/pub_$s"; done
umask 022

start_tunnel() {	# prog ns ifname: prints the pid of the tunnel process
	local prog=$1 ns=$2 ifn=$3 pid extra=
	[ "$prog" = "$ENGINE" ] && extra=${ENGINE_ARGS:-}
	# shellcheck disable=SC2086 # ENGINE_ARGS: words on purpose
	ip netns exec "$ns" "$prog" --foreground $extra "$ifn" </dev/null >"$WORK/$ifn.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do [ -S /var/run/wireguard/$ifn.sock ] && break; sleep 0.1; done
	[ -S /var/run/wireguard/$ifn.sock ] || return 1
	echo "$pid"
}
setup_pair() {	# prog ifa ifb addr_a addr_b port
	local prog=$1 ifa=$2 ifb=$3 aa=$4 ab=$5 port=$6 pa pb
	pa=$(start_tunnel "$prog" $NSA $ifa) || die "$prog $ifa did not start: $(tail -3 "$WORK/$ifa.log")"
	pb=$(start_tunnel "$prog" $NSB $ifb) || die "$prog $ifb did not start: $(tail -3 "$WORK/$ifb.log")"
	nsx $NSA wg set $ifa listen-port $port private-key "$WORK/key_a" \
		peer "$(cat "$WORK/pub_b")" endpoint $RAW_B:$port allowed-ips $ab/32 || die "wg set $ifa"
	nsx $NSB wg set $ifb listen-port $port private-key "$WORK/key_b" \
		peer "$(cat "$WORK/pub_a")" endpoint $RAW_A:$port allowed-ips $aa/32 || die "wg set $ifb"
	ip -n $NSA addr add $aa/24 dev $ifa; ip -n $NSB addr add $ab/24 dev $ifb
	ip -n $NSA link set $ifa mtu 1420 up; ip -n $NSB link set $ifb mtu 1420 up
	timeout 10 ip netns exec $NSA ping -q -c 2 -i 0.2 -W 2 $ab >/dev/null || die "$prog tunnel ping failed"
	echo "$pa $pb"
}
PATHS=${PATHS:-raw wg en}
WG_PA=; WG_PB=; EN_PA=; EN_PB=
case " $PATHS " in *" wg "*) read -r WG_PA WG_PB < <(setup_pair wireguard-go $WA $WB $WG_A $WG_B $WG_PORT) ;; esac
case " $PATHS " in *" en "*) read -r EN_PA EN_PB < <(setup_pair "$ENGINE" $EA $EB $EN_A $EN_B $EN_PORT) ;; esac
# setup_pair ran in a subshell: remember its processes here
PIDS+=(${WG_PA:-} ${WG_PB:-} ${EN_PA:-} ${EN_PB:-})
case " $PATHS " in *" wg "*) [ -n "${WG_PB:-}" ] || die "wireguard-go setup failed (logs in $WORK)" ;; esac
case " $PATHS " in *" en "*) [ -n "${EN_PB:-}" ] || die "engine setup failed (logs in $WORK)" ;; esac

bg() { local lg=$1; shift; timeout "$MAXLIFE" "$@" >"$WORK/$lg.log" 2>&1 & PIDS+=($!); }
bg iperf-s ip netns exec $NSB iperf3 -s -p 5201
sleep 0.5

BG0=$(a=$(sys_busy_idle); sleep 2; b=$(sys_busy_idle); echo "$a $b" | awk '{bb=$3-$1; ii=$4-$2; printf "%.0f", (bb+ii > 0 ? bb*100/(bb+ii) : 0)}')
[ "$BG0" -gt 10 ] && log "WARNING: ${BG0}% of the CPUs busy before the runs (shared machine): figures will be noisy"

# ---------------------------------------------------------------- measurements
PY='import json,sys
d=json.load(open(sys.argv[1]))
if "error" in d: sys.exit(1)
e=d["end"]
if sys.argv[2]=="tcp": print("%.4f %d"%(e["sum_received"]["bits_per_second"]/1e9, e["sum_sent"].get("retransmits",0)))
else: s=e["sum"]; print("%.4f %.2f"%(s["bits_per_second"]/1e9*(1-s["lost_percent"]/100.0), s["lost_percent"]))'
RES=$WORK/results.tsv; : >"$RES"
DROPS=$WORK/drops.tsv; : >"$DROPS"
# where UDP tests lose packets: socket receive buffers (both namespaces), the sender's
# TUN queue (kernel -> tunnel process) and the receiver's TUN input
udp_rcvbuf_errs() { local ns t=0; for ns in $NSA $NSB; do
	t=$(( t + $(nsx $ns awk '/^Udp:/{n++} /^Udp:/&&n==2{print $6}' /proc/net/snmp) )); done; echo $t; }
ifstat() { nsx "$1" cat /sys/class/net/"$2"/statistics/"$3" 2>/dev/null || echo 0; }
# label path dst kind pids... -- iperf args
measure() {
	local label=$1 dst=$2 kind=$3 pa=$4 pb=$5; shift 5
	local i out a0 b0 a1 b1 t0 t1 line dur ifa= ifb= r0 r1 q0 q1 d0 d1
	dur=$DUR; [ "$kind" = udp ] && dur=$UDP_DUR
	for i in $(seq "$RUNS"); do
		out=$WORK/$label.$i.json
		case $label in wg_*) ifa=$WA; ifb=$WB ;; en_*) ifa=$EA; ifb=$EB ;; esac
		if [ -n "$ifa" ]; then
			r0=$(udp_rcvbuf_errs); q0=$(ifstat $NSA $ifa tx_dropped); d0=$(ifstat $NSB $ifb rx_dropped)
		fi
		a0=$(proc_ticks $pa); b0=$(proc_ticks $pb); t0=$(date +%s.%N)
		timeout $(( dur + 25 )) ip netns exec $NSA iperf3 -J -c "$dst" -p 5201 -t "$dur" "$@" >"$out" 2>/dev/null
		a1=$(proc_ticks $pa); b1=$(proc_ticks $pb); t1=$(date +%s.%N)
		if [ -n "$ifa" ]; then
			r1=$(udp_rcvbuf_errs); q1=$(ifstat $NSA $ifa tx_dropped); d1=$(ifstat $NSB $ifb rx_dropped)
			printf '%s\t%s\t%s\t%s\n' "$label" $(( r1 - r0 )) $(( q1 - q0 )) $(( d1 - d0 )) >>"$DROPS"
		fi
		line=$(python3 -c "$PY" "$out" "$kind" 2>/dev/null) || { log "$label run $i failed"; continue; }
		# CPU of both tunnel processes in % of one core over the wall time
		cpu=$(awk -v a="$(( a1 - a0 + b1 - b0 ))" -v hz="$HZ" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.0f", a/hz/(t1-t0)*100}')
		printf '%s\t%s\t%s\t%s\n' "$label" "$i" "$line" "$cpu" | tr ' ' '\t' >>"$RES"
		log "$(printf '%-14s run %d: %s Gbit/s (retr/loss%% %s), tunnel CPU %s%%' "$label" "$i" $line "$cpu")"
		sleep 1
	done
}
for path in $PATHS; do
	case $path in
	raw) dst=$RAW_B; pa=$$; pb=$$ ;;	# no tunnel process: CPU column meaningless (our own shell)
	wg) dst=$WG_B; pa=$WG_PA; pb=$WG_PB ;;
	en) dst=$EN_B; pa=$EN_PA; pb=$EN_PB ;;
	esac
	measure ${path}_tcp1 $dst tcp $pa $pb
	measure ${path}_tcp$PAR $dst tcp $pa $pb -P "$PAR"
	[ $path = raw ] && continue
	for r in $UDP_RATES; do
		# 1392 B payload = 1420 MTU - 28: one datagram per tunnel packet
		measure ${path}_udp$r $dst udp $pa $pb -u -b "$r" -l 1392
	done
done

ping_stats() { timeout $(( PINGS + 10 )) ip netns exec $NSA ping -n -c "$PINGS" -i 0.2 -W 1 "$1" 2>/dev/null | python3 -c '
import sys,re,statistics as st
v=[float(m.group(1)) for m in re.finditer(r"time=([0-9.]+)", sys.stdin.read())]
print("%.3f %.3f"%(st.median(v),st.mean(v)) if v else "nan nan")'; }
PR=nan PR_AVG=nan PW=nan PW_AVG=nan PE=nan PE_AVG=nan
case " $PATHS " in *" raw "*) read -r PR PR_AVG < <(ping_stats $RAW_B) ;; esac
[ -n "$WG_PA" ] && read -r PW PW_AVG < <(ping_stats $WG_B)
[ -n "$EN_PA" ] && read -r PE PE_AVG < <(ping_stats $EN_B)
THR_EN=$(awk '/^Threads/{print $2}' /proc/$EN_PA/status 2>/dev/null)
THR_WG=$(awk '/^Threads/{print $2}' /proc/$WG_PA/status 2>/dev/null)
ALIVE="engine alive after the runs: $(kill -0 $EN_PA 2>/dev/null && kill -0 $EN_PB 2>/dev/null && echo yes || echo NO)"

# ---------------------------------------------------------------- report
python3 - "$RES" "$DROPS" <<EOF
import collections, statistics as st, sys
rows = collections.defaultdict(list)
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) >= 5: rows[f[0]].append((float(f[2]), float(f[3]), float(f[4])))
def med(lbl, k):
    v = [r[k] for r in rows.get(lbl, [])]
    return st.median(v) if v else float("nan")
print()
print("=== engine-throughput: $( [ $QUICK = 1 ] && echo 'QUICK ' )$(nproc) CPUs, kernel $(uname -r), ${RUNS} x ${DUR}s TCP, ${UDP_DUR}s UDP; background busy ${BG0}%")
print("engine: $ENGINE (threads ${THR_EN}); wireguard-go $(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null) (threads ${THR_WG}); ${ALIVE}")
print("%-16s %10s %12s %10s %14s %14s" % ("test", "Gbit/s", "retr/loss%", "tunnel CPU%", "CPU% per Gbit", "CPU-s per GB"))
for lbl in rows:
    g, x, c = med(lbl, 0), med(lbl, 1), med(lbl, 2)
    per = "-" if lbl.startswith("raw") else ("%.0f" % (c / g) if g > 0 else "nan")
    # CPU-seconds of both tunnel processes per GB moved = ns of CPU per byte
    nsb = "-" if lbl.startswith("raw") else ("%.2f" % (c / g * 8 / 100) if g > 0 else "nan")
    cpu = "-" if lbl.startswith("raw") else "%.0f" % c
    print("%-16s %10.3f %12s %10s %14s %14s" % (lbl, g, "%g" % x, cpu, per, nsb))
def ratio(a, b):
    return a / b if b == b and b > 0 and a == a else float("nan")
print()
for k in ["tcp1", "tcp$PAR"] + ["udp" + r for r in "$UDP_RATES".split()]:
    en, wg, raw = med("en_" + k, 0), med("wg_" + k, 0), med("raw_" + k, 0)
    line = "ratio %-9s engine/wireguard-go %6.2fx" % (k, ratio(en, wg))
    if raw == raw: line += "   engine/raw %5.1f%%   (wireguard-go/raw %5.1f%%)" % (100 * ratio(en, raw), 100 * ratio(wg, raw))
    print(line)
    if not k.startswith("udp"):
        pe, pw = med("en_" + k, 2) / max(en, 1e-9), med("wg_" + k, 2) / max(wg, 1e-9)
        print("      CPU per Gbit/s (%% of one core, both ends): engine %.0f, wireguard-go %.0f, ratio %.2f" % (pe, pw, ratio(pe, pw)))
print("drops per test (sum over runs): UDP RcvbufErrors (both ns) / sender TUN tx_dropped / receiver TUN rx_dropped")
for l in open(sys.argv[2]):
    f = l.split()
    if len(f) == 4 and f[0] in rows: print("   %-16s %10s %10s %10s" % tuple(f))
print("ping RTT ms median/avg over $PINGS: raw $PR/$PR_AVG  wireguard-go $PW/$PW_AVG  engine $PE/$PE_AVG  (engine/wireguard-go median %.2f)" % ratio(float("$PE"), float("$PW")))
for lbl in rows:
    print("RESULT %s_gbps=%.4f %s_cpu_pct=%.0f" % (lbl, med(lbl, 0), lbl, med(lbl, 2)))
print("RESULT tcp1_ratio_engine_wg=%.2f tcp1_ratio_engine_raw=%.3f tcp${PAR}_ratio_engine_wg=%.2f" % (
    ratio(med("en_tcp1", 0), med("wg_tcp1", 0)), ratio(med("en_tcp1", 0), med("raw_tcp1", 0)),
    ratio(med("en_tcp$PAR", 0), med("wg_tcp$PAR", 0))))
print("RESULT ping_median_ms raw=$PR wg=$PW engine=$PE")
EOF
