#!/bin/bash
# daemon-links-scale.sh - many links (issue: thousands of veths froze the main loop).
# Correctness, not speed (bench/link-scale.sh measures): the rtnetlink socket has a
# sized receive buffer; a burst of creations, renames, deletions and state changes
# ends in exactly the kernel's final state; one link flap refreshes only that link,
# not all of them; after a receive-buffer overrun (the daemon stopped while links
# churn) the resynchronisation refreshes only links that changed, and the final
# state is again exactly the kernel's.
. "$(dirname "$0")/lib.sh"
rv_require_root
rv_setup rvscale

NS=rvscale-$$
PAIRS=${RV_SCALE_PAIRS:-400}	# veth pairs: 2 links each, both ends in $NS
rv_netns_add "$NS"

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
printf '[General]\nDNS=file\nDebounceMs=100\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/sleep 3600\n' >"$RV_TMP/etc/tunnels/corp.conf"
# Only the link named "lan0" wants the tunnel; the many veths take no part.
printf '[Match]\nName=lan0\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-lan.rules"

batch() { ip -n "$NS" -batch -; }
kernel_links() { ip -n "$NS" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }
daemon_links() { rv_ctl_json links | jq -r '.. | objects | select(has("Index")) | .Name' | sort; }
same_links() { cmp -s <(kernel_links) <(daemon_links); }
# up_links: names the kernel has with carrier (LOWER_UP), and those the daemon calls active.
kernel_up() { ip -n "$NS" -o link show | awk -F': ' '/LOWER_UP/ { sub(/@.*/, "", $2); print $2 }' | grep -v '^lo$' | sort; }
daemon_up() { rv_ctl_json links | jq -r '.. | objects | select(has("Index")) | select(.Carrier == true) | .Name' | grep -v '^lo$' | sort; }
same_up() { cmp -s <(kernel_up) <(daemon_up); }
log_lines() { wc -l <"$RV_TMP/daemon.log"; }
# quiet_log: nothing logged for a second (IPv6 autoconfiguration of new links done).
quiet_log() { local a; a=$(log_lines); sleep 1; [ "$(log_lines)" = "$a" ]; }
at_most() { [ -n "$1" ] && [ "$1" -le "$2" ]; }
fewer() { [ -n "$1" ] && [ "$1" -lt "$2" ]; }
# refreshes_since LINE: the "refreshed N of M links" counts logged after LINE.
refreshes_since() { tail -n +"$(($1 + 1))" "$RV_TMP/daemon.log" | sed -n 's/.*rtnetlink: refreshed \([0-9]*\) of [0-9]* links.*/\1/p'; }

rv_start_bus
rv_start_daemon "$NS"

# --- the receive buffer ------------------------------------------------------------
# In our namespace the only rtnetlink sockets subscribed to multicast groups are the
# daemon's event sockets.
rbufs=$(ip netns exec "$NS" ss -f netlink -a -m -e 2>/dev/null | grep ' rtnl:' | grep -v 'groups=0x00000000' |
	grep -o 'rb[0-9]*' | tr -d rb | sort -n | tail -1)
echo "    netlink receive buffer of roamvpnd's rtnetlink event socket: ${rbufs:-none} bytes"
check "rtnetlink receive buffer sized for bursts (>= 4 MiB)" [ "${rbufs:-0}" -ge 4194304 ]

# --- a burst: creations, a rename, deletions, state changes ------------------------
for i in $(seq 1 "$PAIRS"); do echo "link add sa$i type veth peer name sb$i"; done | batch
for i in $(seq 1 2 "$PAIRS"); do echo "link set sa$i up"; echo "link set sb$i up"; done | batch
for i in $(seq 2 10 "$PAIRS"); do echo "link del sa$i"; done | batch	# takes sb$i with it
ip -n "$NS" link set sa1 name lan0
check "after a burst of $((PAIRS * 2)) links the daemon shows exactly the kernel's links" \
	rv_wait_for 60 same_links
check "... and exactly the kernel's links with carrier" rv_wait_for 20 same_up
check "the renamed link's rule still applies (tunnel wanted)" rv_wait_for 10 rv_tunnel_is corp up
total=$(kernel_links | wc -l)
echo "    $total links in the namespace"

# --- one flap refreshes one link ------------------------------------------------------
rv_wait_for 30 quiet_log
mark=$(log_lines)
ip -n "$NS" link set sa3 down
flap_seen() { rv_ctl_json links | jq -e '.. | objects | select(.Name? == "sa3") | select(.Active == false)' >/dev/null; }
check "flap: link down seen" rv_wait_for 10 flap_seen
ip -n "$NS" link set sa3 up
flap_back() { rv_ctl_json links | jq -e '.. | objects | select(.Name? == "sa3") | select(.Active == true)' >/dev/null; }
check "flap: link up again seen" rv_wait_for 10 flap_back
rv_wait_for 10 quiet_log	# the flap's own IPv6 aftermath
counts=$(refreshes_since "$mark" | tr '\n' ' ')
echo "    links refreshed per batch during the flap: $counts (of $total)"
max=$(refreshes_since "$mark" | sort -n | tail -1)
check "a flap refreshes the links it touched (sa3 and its peer), not all $total" at_most "$max" 2

# --- an overrun: the daemon stopped while half the links churn ----------------------
mark=$(log_lines)
kill -STOP "$RV_DAEMON_PID"
for round in $(seq 1 20); do
	for i in $(seq 3 2 $((PAIRS / 2))); do echo "link set sa$i down"; echo "link set sa$i up"; done
done | batch
for i in $(seq $((PAIRS + 1)) $((PAIRS + 50))); do echo "link add sa$i type veth peer name sb$i"; done | batch
for i in $(seq 4 10 $((PAIRS / 2))); do echo "link del sa$i"; done | batch
for i in $(seq 5 4 $((PAIRS / 2))); do echo "link set sb$i down"; done | batch
kill -CONT "$RV_DAEMON_PID"
overran() { tail -n +"$((mark + 1))" "$RV_TMP/daemon.log" | grep -q 'resynchronising'; }
check "the churn overran the receive buffer (the case under test happened)" rv_wait_for 20 overran
check "after the overrun the daemon shows exactly the kernel's links" rv_wait_for 60 same_links
check "... and exactly the kernel's links with carrier" rv_wait_for 20 same_up
total=$(kernel_links | wc -l)
max=$(refreshes_since "$mark" | sort -n | tail -1)
echo "    largest refresh after the overrun: $max of $total links"
check "the resynchronisation refreshed only links that changed (fewer than all $total)" fewer "$max" "$total"
drops=$(ip netns exec "$NS" cat /proc/net/netlink | awk 'NR > 1 && $2 == 0 && $4 != "00000000" { d += $9 } END { print d + 0 }')
echo "    messages the kernel dropped for the daemon's rtnetlink sockets: $drops"

rv_summary
