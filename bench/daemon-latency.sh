#!/bin/bash
# daemon-latency.sh - roamvpnd's reaction time and idle cost (a benchmark, not a test).
#
# Prints, for N link flaps in a network namespace (default 100):
#   * time from `ip link set up` returning to the exec backend's first instruction,
#     median / p90, for roamvpnd with DebounceMs=0 and with the default 300 ms;
#   * the same for the peer measured in the same run: the netifrc-style shell glue
#     this project replaces (`ip monitor link | while read ...` starting the script);
#   * idle RSS and idle wakeups per second (context switches over 10 s) of both.
# Ratios are roamvpnd / shell glue.
#
#   bash bench/daemon-latency.sh [BUILD_DIR]      FLAPS=100 IDLE_S=10
set -u
export ROAMVPN_BUILD_ROOT=$(cd "${1:-build}" && pwd)
export ROAMVPN_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROAMVPN_SOURCE_ROOT/tests/netns/lib.sh"
rv_require_root
rv_setup rvbench
FLAPS=${FLAPS:-100}
IDLE_S=${IDLE_S:-10}

NS=rvbench-$$
PEER=rvbench-p-$$
rv_netns_add "$NS"
rv_netns_add "$PEER"
ip link add lan0 netns "$NS" type veth peer name gw0 netns "$PEER"
ip -n "$PEER" link set gw0 up
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state" "$RV_TMP/marks"
: >"$RV_TMP/resolv.conf"

cat >"$RV_TMP/mark" <<EOF
#!/bin/sh
date +%s%N >"$RV_TMP/marks/start"
echo \$\$ >"$RV_TMP/marks/pid"
exec sleep 3600
EOF
chmod 755 "$RV_TMP/mark"
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
[Tunnel]
Backend=exec
[exec]
Start=$RV_TMP/mark
EOF
printf '[Match]\nType=ether\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-any.rules"

# measure_flaps LABEL: FLAPS times link up -> wait for the mark -> link down -> wait stopped.
measure_flaps() {
	local label=$1 samples=() t0 t1
	for i in $(seq "$FLAPS"); do
		rm -f "$RV_TMP/marks/start"
		t0=$(date +%s%N)
		ip -n "$NS" link set lan0 up
		if ! rv_wait_for 5 test -s "$RV_TMP/marks/start"; then
			echo "$label: flap $i: no start within 5 s" >&2; continue
		fi
		t1=$(cat "$RV_TMP/marks/start")
		samples+=($(( (t1 - t0) / 1000 )))
		rv_wait_for 2 test -s "$RV_TMP/marks/pid"
		pid=$(cat "$RV_TMP/marks/pid"); rm -f "$RV_TMP/marks/pid"
		ip -n "$NS" link set lan0 down
		rv_wait_for 5 sh -c "! kill -0 $pid 2>/dev/null" || echo "$label: flap $i: backend not stopped" >&2
		sleep 0.05
	done
	printf '%s\n' "${samples[@]}" | sort -n >"$RV_TMP/$label.us"
}
pct() { awk -v p="$2" '{a[NR]=$1} END {i=int((NR-1)*p)+1; printf "%.1f", a[i]/1000}' "$RV_TMP/$1.us"; }

idle_cost() {	# idle_cost PID... -> "RSS_KIB WAKEUPS_PER_S"
	local rss=0 cs0=0 cs1=0 p
	for p in "$@"; do
		rss=$(( rss + $(awk '/^VmRSS/ {print $2}' /proc/$p/status) ))
		cs0=$(( cs0 + $(awk '/ctxt_switches/ {s+=$2} END {print s}' /proc/$p/status) ))
	done
	sleep "$IDLE_S"
	for p in "$@"; do
		cs1=$(( cs1 + $(awk '/ctxt_switches/ {s+=$2} END {print s}' /proc/$p/status) ))
	done
	echo "$rss $(awk -v d=$((cs1 - cs0)) -v s="$IDLE_S" 'BEGIN {printf "%.2f", d/s}')"
}

rv_start_bus
results=()
for debounce in 0 300; do
	printf '[General]\nDNS=file\nDebounceMs=%s\n' "$debounce" >"$RV_TMP/etc/roamvpn.conf"
	rm -rf "$RV_TMP/state"; mkdir -p "$RV_TMP/state"
	rv_start_daemon "$NS"
	# Quiet log: debug output would measure the terminal, not the daemon.
	measure_flaps "roamvpnd-$debounce"
	if [ "$debounce" = 300 ]; then
		read -r d_rss d_wake < <(idle_cost "$(pgrep -f "^$ROAMVPND" | head -1)")
	fi
	kill -TERM "$RV_DAEMON_PID"; wait "$RV_DAEMON_PID" 2>/dev/null
done

# The peer: what people run today (netifrc postup glue, event driven at best).
ip netns exec "$NS" bash -c '
	child=
	ip monitor link dev lan0 | while read -r line; do
		case $line in
		*"state UP"*)
			if [ -z "$child" ] || ! kill -0 "$child" 2>/dev/null; then "$1" & child=$!; fi ;;
		*"state DOWN"*)
			[ -n "$child" ] && kill "$child" 2>/dev/null; child= ;;
		esac
	done' glue "$RV_TMP/mark" >/dev/null 2>&1 &
GLUE=$!
RV_PIDS+=($GLUE)
sleep 0.5
measure_flaps glue
read -r g_rss g_wake < <(idle_cost $(pgrep -P "$GLUE") "$GLUE")
kill "$GLUE" 2>/dev/null

echo
echo "roamvpn daemon benchmark ($FLAPS flaps each; latency = ip link set up -> backend running)"
printf '%-34s %10s %10s\n' "" "median ms" "p90 ms"
for l in roamvpnd-0 roamvpnd-300 glue; do
	printf '%-34s %10s %10s\n' "$l" "$(pct $l 0.5)" "$(pct $l 0.9)"
done
echo "ratio roamvpnd(DebounceMs=0)/glue median: $(awk -v a="$(pct roamvpnd-0 0.5)" -v b="$(pct glue 0.5)" 'BEGIN {printf "%.2f", a/b}')"
echo "idle RSS: roamvpnd ${d_rss} KiB, glue ${g_rss} KiB (ratio $(awk -v a="$d_rss" -v b="$g_rss" 'BEGIN {printf "%.2f", a/b}'))"
echo "idle wakeups/s: roamvpnd ${d_wake}, glue ${g_wake}"
