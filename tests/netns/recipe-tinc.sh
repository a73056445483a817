#!/bin/bash
# recipe-tinc.sh - the tinc recipe of docs/tunnels.md, tested: an exec tunnel runs the
# real tincd 1.0 in the foreground (tincd -D), whose tinc-up reports the device,
# address, routes and DNS through roamvpn-hook (Report=hook), against a real tincd
# "office" node in another namespace. The rule brings it up on link up; a ping
# reaches a host behind the office node; DNS is applied; link down stops tincd
# (its tinc-down reports too) and restores resolv.conf byte for byte.
# The recipe uses `tincd -n NET` (/etc/tinc/NET); the test gives the same files with
# -c DIR, since it may not write to /etc.
. "$(dirname "$0")/lib.sh"
rv_require_root
command -v tincd >/dev/null || { echo "SKIP: tincd not installed (tinc)"; exit 77; }
TINCD=$(command -v tincd)
HOOK=$RV_BUILD/hooks/roamvpn-hook
[ -x "$HOOK" ] || { echo "FAIL: $HOOK not built"; exit 1; }
rv_setup rvtinc

C=rvtinc-cli-$$; S=rvtinc-off-$$
rv_gateway_pair "$C" "$S" off0		# 10.77.2.1: a host behind the office node

# ---- two tinc nodes: "office" (in S) and "laptop" (the tunnel "corp", in C) --------
T=$RV_TMP/tinc
mkdir -p "$T/office/hosts" "$T/corp/hosts"
printf 'Name = office\nInterface = tincoff\nAddressFamily = ipv4\nBindToAddress = 10.77.0.2\n' >"$T/office/tinc.conf"
printf 'Name = laptop\nConnectTo = office\nInterface = corp\nAddressFamily = ipv4\n' >"$T/corp/tinc.conf"
printf 'Address = 10.77.0.2\nSubnet = 10.77.5.1/32\nSubnet = 10.77.2.0/24\n' >"$T/office/hosts/office"
printf 'Subnet = 10.77.5.2/32\n' >"$T/corp/hosts/laptop"
for node in office corp; do
	"$TINCD" -c "$T/$node" -K2048 </dev/null >/dev/null 2>&1 || { echo "FAIL: tincd -K for $node"; exit 1; }
done
cp "$T/office/hosts/office" "$T/corp/hosts/"
cp "$T/corp/hosts/laptop" "$T/office/hosts/"
cat >"$T/office/tinc-up" <<'EOF'
#!/bin/sh
ip addr add 10.77.5.1/24 dev "$INTERFACE"
ip link set "$INTERFACE" up
EOF
# The recipe's tinc-up and tinc-down: tincd runs them with INTERFACE set and its own
# environment, which has ROAMVPN_HOOK (and the hook's socket) from roamvpnd.
cat >"$T/corp/tinc-up" <<'EOF'
#!/bin/sh
# roamvpnd configures the device from this report: address, routes, DNS.
exec env reason=connect TUNDEV="$INTERFACE" INTERNAL_IP4_ADDRESS=10.77.5.2 \
	CISCO_SPLIT_INC=1 CISCO_SPLIT_INC_0_ADDR=10.77.2.0 CISCO_SPLIT_INC_0_MASKLEN=24 \
	INTERNAL_IP4_DNS=10.77.2.53 CISCO_DEF_DOMAIN=corp.example "$ROAMVPN_HOOK"
EOF
cat >"$T/corp/tinc-down" <<'EOF'
#!/bin/sh
exec env reason=disconnect TUNDEV="$INTERFACE" "$ROAMVPN_HOOK"
EOF
chmod 755 "$T/office/tinc-up" "$T/corp/tinc-up" "$T/corp/tinc-down"
ip netns exec "$S" "$TINCD" -D -c "$T/office" --pidfile "$T/office.pid" >"$T/office.log" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 10 sh -c "ip -n $S -4 addr show dev tincoff | grep -q 10.77.5.1" ||
	{ echo "FAIL: office tincd did not start"; cat "$T/office.log"; exit 1; }

# ---- roamvpnd with the recipe's exec tunnel --------------------------------------------
rv_corp_on_lan0
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
[Tunnel]
Backend=exec
Interface=corp
[exec]
Start=$TINCD -D -c $T/corp --pidfile $RV_TMP/state/tinc.corp.pid
Report=hook
EOF
rv_check_accepts "the recipe"
rv_start_bus
ROAMVPN_HOOK_PATH=$HOOK rv_start_daemon "$C"

rv_link_up_tunnel_up "$C" 20 "tincd's tinc-up reported through roamvpn-hook"
check "address from the report on corp" sh -c "ip -n $C -4 addr show dev corp | grep -q 'inet 10.77.5.2/32'"
check "route 10.77.2.0/24 through corp" sh -c "ip -n $C route show 10.77.2.0/24 | grep -q 'dev corp'"
check "DNS server in resolv.conf" grep -q '^nameserver 10.77.2.53' "$RV_TMP/resolv.conf"
check "domain in resolv.conf" grep -q 'corp.example' "$RV_TMP/resolv.conf"
check "ping the host behind the office node through tinc" rv_wait_for 15 ip netns exec "$C" ping -c 1 -W 1 10.77.2.1

ip -n "$C" link set lan0 down
check "tunnel down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "tincd gone (its device too)" rv_wait_for 10 sh -c "! ip -n $C link show dev corp >/dev/null 2>&1"
check "tinc-down reported disconnect" grep -q 'reports disconnect' "$RV_TMP/daemon.log"
check "route removed" sh -c "! ip -n $C route show 10.77.2.0/24 | grep -q ."
check "resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -40 "$RV_TMP/daemon.log"; }
rv_summary
