#!/bin/bash
# demo.sh - roamvpn in two minutes, entirely inside network namespaces.
#
# A "laptop" namespace has one Ethernet link (lan0) to a "café router" namespace.
# roamvpnd runs in the laptop with one rule: any wired network that is not the
# office (identified by its gateway's MAC) is untrusted -> connect "corp". The corp
# tunnel is an exec tunnel that creates a real TUN device; the daemon routes
# 10.99.0.0/16 into it and swaps resolv.conf (a private file, never the host's).
#
#   bash tools/demo.sh [BUILD_DIR]
set -u
BUILD=$(cd "${1:-build}" && pwd)
export ROAMVPN_BUILD_ROOT=$BUILD
export ROAMVPN_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROAMVPN_SOURCE_ROOT/tests/netns/lib.sh"
rv_require_root
rv_setup rvdemo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '   $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/     /'; }
ctl() { "$ROAMVPNCTL" --bus "$RV_BUS" "$@"; }

LAPTOP=rvdemo-laptop
CAFE=rvdemo-cafe
rv_netns_add "$LAPTOP"
rv_netns_add "$CAFE"
ip link add lan0 netns "$LAPTOP" type veth peer name router0 netns "$CAFE"
ip -n "$CAFE" addr add 192.0.2.1/24 dev router0
ip -n "$CAFE" link set router0 up
ip -n "$LAPTOP" addr add 192.0.2.10/24 dev lan0

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
printf 'nameserver 192.0.2.1\nsearch cafe.example\n' >"$RV_TMP/resolv.conf"
cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.before"
cat >"$RV_TMP/etc/roamvpn.conf" <<EOF
[General]
DNS=file
DebounceMs=300
EOF
cat >"$RV_TMP/etc/tunnels/corp.conf" <<EOF
# An exec tunnel: Start= brings the VPN up and exits 0 (Type=oneshot), Stop=
# takes it down. Here it is a plain TUN device; in real life vpnc, openconnect...
[Tunnel]
Backend=exec
Interface=corp0
Routes=10.99.0.0/16
DNS=10.99.0.53
Domains=corp.example
[exec]
Type=oneshot
Start=$RV_TMP/corp-up corp0
Stop=ip link del corp0
EOF
cat >"$RV_TMP/corp-up" <<'EOF'
#!/bin/sh
# Stands in for a VPN client: a real TUN device with the tunnel's address.
set -e
ip tuntap add dev "$1" mode tun
ip addr add 10.99.0.2/32 dev "$1"
ip link set "$1" up
echo "corp-up: $1 is up (triggered by $ROAMVPN_LINK, a $ROAMVPN_LINK_TYPE link)"
EOF
chmod 755 "$RV_TMP/corp-up"
cat >"$RV_TMP/etc/rules/10-office.rules" <<EOF
# The office wire: its router's MAC is a fingerprint a café cannot copy.
[Match]
Type=ether
Gateway=02:00:00:0f:f1:ce
[Action]
Disconnect=all
EOF
cat >"$RV_TMP/etc/rules/50-untrusted-wire.rules" <<EOF
[Match]
Type=ether
[Action]
Connect=corp
EOF

say "Configuration ($RV_TMP/etc)"
for f in "$RV_TMP"/etc/tunnels/*.conf "$RV_TMP"/etc/rules/*.rules; do
	echo "   --- ${f#$RV_TMP/}"; grep -v '^#' "$f" | sed 's/^/     /'
done
show "$ROAMVPND" --check --config-dir "$RV_TMP/etc"

say "Starting roamvpnd in the laptop namespace (private D-Bus, private resolv.conf)"
rv_start_bus
rv_start_daemon "$LAPTOP"
show ctl status

say "Plugging the laptop into the café's network (ip link set lan0 up)"
ip -n "$LAPTOP" link set lan0 up
ip -n "$LAPTOP" route add default via 192.0.2.1
if rv_wait_for 10 rv_tunnel_is corp up; then
	echo "   the tunnel came up by itself"
else
	echo "   the tunnel did NOT come up"; tail -20 "$RV_TMP/daemon.log"; exit 1
fi
show ctl status
show ctl explain lan0
say "The tunnel device, its route and the swapped resolv.conf"
show ip -n "$LAPTOP" -br link show corp0
show ip -n "$LAPTOP" route show 10.99.0.0/16
show cat "$RV_TMP/resolv.conf"

say "Unplugging (ip link set lan0 down)"
ip -n "$LAPTOP" link set lan0 down
if rv_wait_for 10 rv_tunnel_is corp down; then
	echo "   the tunnel went down by itself"
else
	echo "   the tunnel did NOT go down"; exit 1
fi
show ctl status
if cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.before"; then
	echo "   resolv.conf is back, byte for byte:"
	sed 's/^/     /' "$RV_TMP/resolv.conf"
else
	echo "   resolv.conf was NOT restored"; exit 1
fi
if ip -n "$LAPTOP" link show corp0 >/dev/null 2>&1; then
	echo "   corp0 still exists"; exit 1
fi
echo "   corp0 is gone"

say "Stopping roamvpnd (SIGTERM); cleaning up the namespaces"
kill -TERM "$RV_DAEMON_PID"; wait "$RV_DAEMON_PID"
echo
echo "demo: passed"
