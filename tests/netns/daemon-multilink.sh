#!/bin/bash
# daemon-multilink.sh - two wired links at once, told apart by their gateway's MAC
# (the Gateway= fingerprint, learnt from the real neighbour table): the office wire
# alone wants no tunnel; office + café at once brings the tunnel up ("connect
# wins", docs/policy.md); the café leaving takes it down again; a café whose
# router fakes the office's IP (but not its MAC) is still untrusted.
. "$(dirname "$0")/lib.sh"
rv_require_root
rv_setup rvmulti

NS=rvmulti-$$
OFFICE=rvmulti-o-$$
CAFE=rvmulti-c-$$
OFFICE_MAC=02:00:00:0f:f1:ce
for n in "$NS" "$OFFICE" "$CAFE"; do rv_netns_add "$n"; done
ip link add wire0 netns "$NS" type veth peer name r0 netns "$OFFICE"
ip link add wire1 netns "$NS" type veth peer name r1 netns "$CAFE"
ip -n "$OFFICE" link set r0 address "$OFFICE_MAC"
ip -n "$OFFICE" addr add 10.71.0.1/24 dev r0; ip -n "$OFFICE" link set r0 up
ip -n "$CAFE" addr add 10.72.0.1/24 dev r1; ip -n "$CAFE" link set r1 up
ip -n "$NS" addr add 10.71.0.2/24 dev wire0
ip -n "$NS" addr add 10.72.0.2/24 dev wire1

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
printf 'nameserver 10.71.0.1\n' >"$RV_TMP/resolv.conf"
printf '[General]\nDNS=file\nDebounceMs=200\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/sleep 3600\n' >"$RV_TMP/etc/tunnels/corp.conf"
cat >"$RV_TMP/etc/rules/10-office.rules" <<EOF
[Match]
Type=ether
Gateway=$OFFICE_MAC
[Action]
Disconnect=all
EOF
printf '[Match]\nType=ether\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-any-wire.rules"

decision_of() {	# decision_of IFACE -> the link's Decision
	rv_ctl_json links | jq -r --arg n "$1" '.. | objects | select(.Name? == $n) | .Decision' | head -1
}
decision_is() { [ "$(decision_of "$1")" = "$2" ]; }

rv_start_bus
rv_start_daemon "$NS"

ip -n "$NS" link set wire0 up
ip -n "$NS" route add default via 10.71.0.1 dev wire0 metric 100
check "office wire recognised by its gateway MAC" rv_wait_for 5 decision_is wire0 "disconnect all"
sleep 0.6
check "office alone: no tunnel" rv_tunnel_is corp down

ip -n "$NS" link set wire1 up
ip -n "$NS" route add default via 10.72.0.1 dev wire1 metric 200
check "café wire decides connect" rv_wait_for 5 decision_is wire1 "connect corp"
check "office + café: tunnel up (connect wins)" rv_wait_for 5 rv_tunnel_is corp up
check "triggered by the café wire" sh -c "'$ROAMVPNCTL' --bus '$RV_BUS' --json tunnels | grep -q '\"TriggeredBy\": *\"wire1\"'"
rv_ctl explain >"$RV_TMP/explain.txt"
check "explain shows why the café is not the office" grep -q "wire1.*" "$RV_TMP/explain.txt"
check "explain names the gateway mismatch" grep -qi "gateway" "$RV_TMP/explain.txt"
sed 's/^/    /' "$RV_TMP/explain.txt"

ip -n "$NS" link set wire1 down
check "café gone: tunnel down again" rv_wait_for 5 rv_tunnel_is corp down

# An evil twin of the office: same addresses, another router.
ip -n "$NS" link set wire0 down
ip -n "$CAFE" addr flush dev r1
ip -n "$CAFE" addr add 10.71.0.1/24 dev r1
ip -n "$NS" addr flush dev wire1
ip -n "$NS" addr add 10.71.0.2/24 dev wire1
ip -n "$NS" link set wire1 up
ip -n "$NS" route replace default via 10.71.0.1 dev wire1
check "same gateway IP, other MAC: still untrusted" rv_wait_for 5 decision_is wire1 "connect corp"
check "evil twin: tunnel up" rv_wait_for 5 rv_tunnel_is corp up

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -40 "$RV_TMP/daemon.log"; }
rv_summary
