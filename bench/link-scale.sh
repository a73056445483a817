#!/bin/bash
# link-scale.sh - roamvpnd with many links present (a benchmark, not a test).
#
# In a namespace of its own with LINKS links (veth pairs, both ends inside, up),
# measures, in the same run, for roamvpnd and for a peer doing the least any
# event-driven glue must do (`ip monitor link address route neigh`, output thrown
# away):
#   * CPU per link flap (one veth end down and up again; its peer's carrier follows),
#     from /proc/PID/task/*/schedstat (nanoseconds on CPU), over FLAPS flaps;
#   * `roamvpnctl status` wall time (median of STATUS_RUNS), against `ip -o link show`
#     in the same namespace;
#   * a burst of BURST link creations (BURST/2 veth pairs with `ip -batch`): CPU, and
#     wall time until roamvpnd shows exactly the kernel's set of links.
# Goal (issue 8 §5): with 10,000 links a flap costs < 1 ms of daemon CPU, status
# answers in < 200 ms, the burst is absorbed with the right final state.
# OLD_BUILD=DIR runs the same scenario against another build (e.g. an older
# commit) as a second peer.
#
# Each daemon is measured RUNS times (a fresh start each time); the summary gives
# the median of each column.
#
#   bash bench/link-scale.sh [BUILD_DIR]    LINKS=10000 FLAPS=100 BURST=1000 STATUS_RUNS=5 RUNS=3
set -u
export ROAMVPN_BUILD_ROOT=$(cd "${1:-build}" && pwd)
export ROAMVPN_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROAMVPN_SOURCE_ROOT/tests/netns/lib.sh"
rv_require_root
rv_setup rvlscale
LINKS=${LINKS:-10000}
FLAPS=${FLAPS:-100}
BURST=${BURST:-1000}
STATUS_RUNS=${STATUS_RUNS:-5}
RUNS=${RUNS:-3}
PAIRS=$((LINKS / 2))

NS=rvlscale-$$
rv_netns_add "$NS"
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
printf '[General]\nDNS=file\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/sleep 3600\n' >"$RV_TMP/etc/tunnels/corp.conf"
printf '[Match]\nName=lan0\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-lan.rules"

batch() { ip -n "$NS" -batch -; }
now_ns() { date +%s%N; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
kernel_links() { ip -n "$NS" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }
daemon_links() { rv_ctl_json links | jq -r '.. | objects | select(has("Index")) | .Name' | sort; }
same_links() { cmp -s <(kernel_links) <(daemon_links); }
# wait_quiet PID: until the process used < 2 ms of CPU in 0.5 s (bounded: 120 s).
wait_quiet() {
	local a b
	for _ in $(seq 240); do
		a=$(cpu_ns "$1"); sleep 0.5; b=$(cpu_ns "$1")
		[ $((b - a)) -lt 2000000 ] && return 0
	done
	echo "    (pid $1 never went quiet)" >&2
}

echo "creating $LINKS links ($PAIRS veth pairs) in $NS ..."
for i in $(seq 1 "$PAIRS"); do echo "link add sa$i type veth peer name sb$i"; done | batch
for i in $(seq 1 "$PAIRS"); do echo "link set sa$i up"; echo "link set sb$i up"; done | batch
ip -n "$NS" link set sa1 name lan0

rv_start_bus

# run_one LABEL DAEMON_BINARY CTL_BINARY: the three measurements against one daemon
# with an `ip monitor` beside it; prints one line of results.
run_one() {
	local label=$1 t0 t1 c0 c1 m0 m1 i
	ROAMVPND=$2 ROAMVPNCTL=$3
	rm -rf "$RV_TMP/state"; mkdir -p "$RV_TMP/state"
	: >"$RV_TMP/daemon.log"
	t0=$(now_ns)
	# Not --debug: the log would measure the terminal, not the daemon.
	ip netns exec "$NS" "$ROAMVPND" --foreground --bus "$RV_BUS" --config-dir "$RV_TMP/etc" \
		--state-dir "$RV_TMP/state" --resolv-conf "$RV_TMP/resolv.conf" >>"$RV_TMP/daemon.log" 2>&1 &
	RV_DAEMON_PID=$!; RV_PIDS+=($RV_DAEMON_PID)
	rv_wait_for 600 rv_ctl status || { echo "$label: daemon not up"; tail "$RV_TMP/daemon.log"; return; }
	t1=$(now_ns)
	start_ms=$(( (t1 - t0) / 1000000 ))
	wait_quiet "$RV_DAEMON_PID"
	ip -n "$NS" monitor link address route neigh >/dev/null 2>&1 &
	MON=$!; RV_PIDS+=($MON)
	sleep 0.5

	# flaps: sa2..sa(FLAPS+1), each down and up once, 20 ms apart
	c0=$(cpu_ns "$RV_DAEMON_PID"); m0=$(cpu_ns "$MON")
	for i in $(seq 2 $((FLAPS + 1))); do
		ip -n "$NS" link set "sa$i" down; sleep 0.01
		ip -n "$NS" link set "sa$i" up; sleep 0.01
	done
	wait_quiet "$RV_DAEMON_PID"
	c1=$(cpu_ns "$RV_DAEMON_PID"); m1=$(cpu_ns "$MON")
	flap_us=$(( (c1 - c0) / FLAPS / 1000 ))
	mon_flap_us=$(( (m1 - m0) / FLAPS / 1000 ))

	# status
	status_ms=$(for i in $(seq "$STATUS_RUNS"); do
		t0=$(now_ns); rv_ctl status >/dev/null; t1=$(now_ns); echo $(( (t1 - t0) / 1000000 ))
	done | median)
	iplink_ms=$(for i in $(seq "$STATUS_RUNS"); do
		t0=$(now_ns); ip -n "$NS" -o link show >/dev/null; t1=$(now_ns); echo $(( (t1 - t0) / 1000000 ))
	done | median)

	# burst: BURST new links; then the same links removed again for the next run
	c0=$(cpu_ns "$RV_DAEMON_PID"); m0=$(cpu_ns "$MON")
	t0=$(now_ns)
	for i in $(seq 1 $((BURST / 2))); do echo "link add ba$i type veth peer name bb$i"; done | batch
	if rv_wait_for 600 same_links; then burst_ok=yes; else burst_ok=NO; fi
	t1=$(now_ns)
	wait_quiet "$RV_DAEMON_PID"
	c1=$(cpu_ns "$RV_DAEMON_PID"); m1=$(cpu_ns "$MON")
	burst_ms=$(( (t1 - t0) / 1000000 ))
	burst_cpu_ms=$(( (c1 - c0) / 1000000 ))
	mon_burst_cpu_ms=$(( (m1 - m0) / 1000000 ))
	for i in $(seq 1 $((BURST / 2))); do echo "link del ba$i"; done | batch
	rv_wait_for 600 same_links
	overruns=$(grep -c 'resynchronising' "$RV_TMP/daemon.log")

	kill "$MON" 2>/dev/null
	kill -TERM "$RV_DAEMON_PID"; wait "$RV_DAEMON_PID" 2>/dev/null
	printf '%-10s %8s %10s %10s %9s %9s %9s %9s %9s %9s %5s %4s\n' "$label" "$start_ms" "$flap_us" \
		"$mon_flap_us" "$status_ms" "$iplink_ms" "$burst_ms" "$burst_cpu_ms" "$mon_burst_cpu_ms" \
		"$burst_ok" "$overruns" >>"$RV_TMP/results"
}

: >"$RV_TMP/results"
NEW_D=$ROAMVPND NEW_C=$ROAMVPNCTL
for run in $(seq "$RUNS"); do
	run_one roamvpnd "$NEW_D" "$NEW_C"
	if [ -n "${OLD_BUILD:-}" ]; then
		run_one old "$OLD_BUILD/daemon/roamvpnd" "$OLD_BUILD/client/roamvpnctl"
	fi
done
# median LABEL: one row of per-column medians of that label's runs
median_row() {
	awk -v l="$1" '$1 == l { n++; for (c = 2; c <= 12; c++) v[c, n] = $c }
	END {
		if (!n) exit
		printf "%-10s", l "-med"
		for (c = 2; c <= 12; c++) {
			if (c == 10) { ok = "yes"; for (i = 1; i <= n; i++) if (v[c, i] != "yes") ok = "NO"; printf " %9s", ok; continue }
			if (c == 11) { t = 0; for (i = 1; i <= n; i++) t += v[c, i]; printf " %5s", t; continue }
			m = 0; for (i = 1; i <= n; i++) a[i] = v[c, i]
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
			printf " %9s", a[int((n + 1) / 2)]
		}
		printf "\n" }' "$RV_TMP/results"
}
{ median_row roamvpnd; median_row old; } >"$RV_TMP/medians"

echo
echo "roamvpnd with $(kernel_links | wc -l) links ($FLAPS flaps, burst of $BURST links); load: $(uptime | sed 's/.*load/load/')"
printf '%-10s %8s %10s %10s %9s %9s %9s %9s %9s %9s %5s\n' "" "start" "flap CPU" "ip-mon" \
	"status" "ip link" "burst" "burst" "ip-mon" "final" "over-"
printf '%-10s %8s %10s %10s %9s %9s %9s %9s %9s %9s %5s\n' "" "ms" "us/flap" "us/flap" \
	"ms" "ms" "wall ms" "CPU ms" "CPU ms" "state ok" "runs"
cat "$RV_TMP/results"
echo "medians of $RUNS runs:"
cat "$RV_TMP/medians"
awk '$1 == "roamvpnd-med" {
	printf "ratios: flap CPU roamvpnd/ip-monitor %.2f; status/ip-link %.2f; burst CPU roamvpnd/ip-monitor %.2f\n",
		$3 / ($4 ? $4 : 1), $5 / ($6 ? $6 : 1), $8 / ($9 ? $9 : 1)
	printf "goal: flap < 1000 us: %s; status < 200 ms: %s; burst final state: %s\n",
		($3 < 1000 ? "met" : "NOT met"), ($5 < 200 ? "met" : "NOT met"), $10 }' "$RV_TMP/medians"
awk '$1 == "roamvpnd-med" { for (c = 2; c <= 10; c++) n[c] = $c } $1 == "old-med" { for (c = 2; c <= 10; c++) o[c] = $c }
	END { if (o[3]) printf "old/new: start %.1fx, flap CPU %.1fx, status %.1fx, burst wall %.1fx, burst CPU %.1fx\n",
		o[2] / n[2], o[3] / (n[3] ? n[3] : 1), o[5] / (n[5] ? n[5] : 1), o[7] / (n[7] ? n[7] : 1), o[8] / (n[8] ? n[8] : 1) }' "$RV_TMP/medians"
