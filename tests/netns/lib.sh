# lib.sh - shared helpers for roamvpn's namespace tests (sourced, bash).
#
# Every test: runs as root (else prints SKIP and exits 77), makes its own network
# namespaces with names that start with its prefix, a private dbus-daemon whose
# config includes the real data/net.roamvpn1.conf policy, a private resolv.conf,
# bounded waits only, and removes all of it by name on exit.

set -u

RV_SRC=${ROAMVPN_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RV_BUILD=${ROAMVPN_BUILD_ROOT:-$RV_SRC/build}
ROAMVPND=${ROAMVPND:-$RV_BUILD/daemon/roamvpnd}
ROAMVPNCTL=${ROAMVPNCTL:-$RV_BUILD/client/roamvpnctl}

RV_PASSED=0
RV_FAILED=0
RV_PIDS=()
RV_NETNS=()

rv_log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

rv_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces)"
		exit 77
	fi
	for p in ip unshare dbus-daemon jq setpriv; do
		command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
	done
	[ -x "$ROAMVPND" ] || { echo "FAIL: $ROAMVPND not built"; exit 1; }
}

# rv_setup PREFIX: temp dir and cleanup trap.
rv_setup() {
	RV_PREFIX=$1
	RV_TMP=$(mktemp -d "/tmp/$RV_PREFIX.XXXXXX")
	chmod 755 "$RV_TMP"
	trap rv_cleanup EXIT
	trap 'exit 130' INT TERM
	# The host's resolv.conf must come out of every test as it went in.
	RV_HOST_RESOLV_SUM=$(sha256sum /etc/resolv.conf 2>/dev/null | cut -d' ' -f1)
}

rv_cleanup() {
	local p ns
	for p in "${RV_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${RV_PIDS[@]}"; do
		for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	for ns in "${RV_NETNS[@]}"; do
		if ip netns list | grep -qw "^$ns"; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			ip netns del "$ns" 2>/dev/null
		fi
	done
	if [ -n "${RV_HOST_RESOLV_SUM:-}" ] &&
	   [ "$(sha256sum /etc/resolv.conf | cut -d' ' -f1)" != "$RV_HOST_RESOLV_SUM" ]; then
		echo "FAIL: the host's /etc/resolv.conf changed during the test"
		RV_FAILED=$((RV_FAILED + 1))
	fi
	[ -n "${RV_KEEP:-}" ] || rm -rf "$RV_TMP"
}

rv_netns_add() {
	ip netns del "$1" 2>/dev/null
	ip netns add "$1"
	RV_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# rv_wire NETNS PEER PREFIX: a laptop's wire: lan0 in NETNS (PREFIX.2/24, left down for
# the test to bring up) and the router's end gw0 in PEER (PREFIX.1/24, up); both
# namespaces are made here. PREFIX is the /24's first three octets ("10.77.0").
rv_wire() {
	rv_netns_add "$1"
	rv_netns_add "$2"
	ip link add lan0 netns "$1" type veth peer name gw0 netns "$2"
	ip -n "$2" addr add "$3.1/24" dev gw0
	ip -n "$2" link set gw0 up
	ip -n "$1" addr add "$3.2/24" dev lan0
}

# rv_gateway_pair CLIENT GATEWAY GATEWAY-IFNAME: two namespaces, the client's lan0
# (10.77.0.1/24, left down for the rule to see it come up) joined to the gateway's
# GATEWAY-IFNAME (10.77.0.2/24), and 10.77.2.1 on the gateway's lo for a host behind it.
rv_gateway_pair() {
	rv_netns_add "$1"
	rv_netns_add "$2"
	ip link add lan0 netns "$1" type veth peer name "$3" netns "$2"
	ip -n "$1" addr add 10.77.0.1/24 dev lan0
	ip -n "$2" addr add 10.77.0.2/24 dev "$3"
	ip -n "$2" link set "$3" up
	ip -n "$2" addr add 10.77.2.1/32 dev lo
}

# rv_xauth_gateway NETNS DIR ADDR CORP-NET POOL [POOL-LINES]: strongSwan's charon in
# NETNS as the gateway vpnc speaks to: IKEv1 aggressive mode, group PSK ("vpngroup",
# "grouppsk123") and XAuth ("alice", "alicepass"), on ADDR, giving the corporate network
# CORP-NET and addresses from POOL (FIRST-LAST; POOL-LINES: more of the pool's
# attributes, one a line: dns, domain, banner). ESP in userspace (kernel-libipsec),
# since the kernel may have none. Its files and charon.log are in DIR. charon's pid
# file is fixed (/run/charon.pid): it runs with a /run of its own, so that it neither
# touches the host's nor meets another charon. Returns 1, with its output shown, when
# the gateway did not come up.
rv_xauth_gateway() {
	local ns=$1 w=$2
	mkdir -p "$w"
	cat >"$w/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce aes sha1 sha2 md5 hmac gmp openssl pem pkcs1 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici attr unity xauth-generic
  install_virtual_ip = no
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  filelog { gw { path = $w/charon.log
                 time_format = %T
                 default = 1
                 flush_line = yes } }
  syslog { daemon { default = -1 } auth { default = -1 } }
  plugins { vici { socket = unix://$w/charon.vici } }
}
swanctl { load = pem pkcs1 x509 revocation constraints pubkey openssl random }
EOF
	cat >"$w/swanctl.conf" <<EOF
connections {
  cisco {
    version = 1
    aggressive = yes
    local_addrs = $3
    pools = vpnpool
    send_certreq = no
    proposals = aes256-sha1-modp1024,aes128-sha1-modp1024,default
    local { auth = psk
            id = $3 }
    remote { auth = psk
             id = keyid:vpngroup }
    remote-xauth { auth = xauth }
    children { corp { local_ts = $4
                      esp_proposals = aes256-sha1,aes128-sha1,default } }
  }
}
pools {
  vpnpool {
    addrs = $5
    netmask = 255.255.255.0
${6:-}
  }
}
secrets {
  ike-group { id = keyid:vpngroup
              secret = "grouppsk123" }
  xauth-alice { id = alice
                secret = "alicepass" }
}
EOF
	ip netns exec "$ns" unshare --mount --propagation private -- \
		sh -c 'mount -t tmpfs "$1" /run && shift && exec "$@"' sh "$RV_PREFIX-run" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin STRONGSWAN_CONF="$w/strongswan.conf" \
		/usr/lib/ipsec/charon >"$w/charon.out" 2>&1 &
	RV_PIDS+=($!)
	if ! rv_wait_for 30 test -S "$w/charon.vici"; then
		echo "charon did not start:"; cat "$w/charon.out"; return 1
	fi
	if ! ip netns exec "$ns" env STRONGSWAN_CONF="$w/strongswan.conf" swanctl --load-all \
		--file "$w/swanctl.conf" --uri "unix://$w/charon.vici" >"$w/swanctl.out" 2>&1; then
		echo "swanctl did not load the gateway:"; cat "$w/swanctl.out"; return 1
	fi
}

# rv_corp_on_lan0 [GENERAL-LINES]: the daemon's files for the usual case: DNS=file,
# DebounceMs=100 (and GENERAL-LINES, each ending in \n, for [General]), the rule
# "lan0 → Connect=corp", and a resolv.conf kept as resolv.conf.orig so that the test
# can compare byte for byte after the tunnel is gone. The tunnel file is the test's.
rv_corp_on_lan0() {
	mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
	printf '[General]\nDNS=file\nDebounceMs=100\n%b' "${1:-}" >"$RV_TMP/etc/roamvpn.conf"
	printf '[Match]\nName=lan0\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-lan.rules"
	printf 'nameserver 10.77.0.2\n' >"$RV_TMP/resolv.conf"
	cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"
}

# rv_check_accepts WHAT [CONFIG-DIR]: roamvpnd --check passes on CONFIG-DIR
# ($RV_TMP/etc); when it does not, its output is in the failure.
rv_check_accepts() {
	local out rc
	out=$("$ROAMVPND" --config-dir "${2:-$RV_TMP/etc}" --check 2>&1); rc=$?
	check "--check accepts $1 (exit $rc${out:+: $out})" [ "$rc" = 0 ]
}

# rv_link_up_tunnel_up NETNS SECONDS WHAT: set lan0 up in NETNS; passes as WHAT (with
# the time since link up, for the log) when tunnel corp is up within SECONDS, else
# fails with its LastError and the daemon log's tail, and returns 1 so that the test
# can show its server's log too.
rv_link_up_tunnel_up() {
	local t0
	t0=$(date +%s%N)
	ip -n "$1" link set lan0 up
	if rv_wait_for "$2" rv_tunnel_is corp up; then
		ok "$3 ($(( ($(date +%s%N) - t0) / 1000000 )) ms after link up)"
		return 0
	fi
	fail "$3 (LastError: $(rv_ctl_json tunnels | jq -r '.. | objects | select(.Name? == "corp") | .LastError' | head -1))"
	tail -40 "$RV_TMP/daemon.log"
	return 1
}

ok()   { RV_PASSED=$((RV_PASSED + 1)); echo "ok:   $*"; }
fail() { RV_FAILED=$((RV_FAILED + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

# rv_wait_for SECONDS COMMAND...: poll every 50 ms until the command succeeds.
rv_wait_for() {
	local secs=$1; shift
	local deadline=$(( $(date +%s%N) + secs * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$deadline" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

rv_summary() {
	echo "$RV_PASSED passed, $RV_FAILED failed"
	[ "$RV_FAILED" = 0 ]
}

# rv_bus_conf FILE: the configuration of a private bus with the system bus's
# default policy plus ours (and $RV_BUS_EXTRA, more configuration XML, if set),
# listening on $RV_TMP/bus.
rv_bus_conf() {
	local conf=$1
	cat >"$conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>roamvpn-test</type>
  <listen>unix:path=$RV_TMP/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>$RV_SRC/data/net.roamvpn1.conf</include>
${RV_BUS_EXTRA:-}
</busconfig>
EOF
}

# rv_start_bus: a private bus with the system bus's default policy plus ours.
rv_start_bus() {
	local conf=$RV_TMP/bus.conf
	rv_bus_conf "$conf"
	# Ready means listening. The socket file is not that: it appears at bind(),
	# a moment before listen(), and a client connecting in between is refused
	# ("no bus", roamvpnctl exit 4). dbus-daemon prints its address only once its
	# sockets listen; connections from then on wait in the backlog until it serves.
	rm -f "$RV_TMP/bus.address"
	dbus-daemon --config-file="$conf" --nofork --nopidfile --print-address=3 \
		3>"$RV_TMP/bus.address" >"$RV_TMP/bus.log" 2>&1 &
	RV_PIDS+=($!)
	RV_BUS=unix:path=$RV_TMP/bus
	rv_wait_for 30 test -s "$RV_TMP/bus.address" ||
		{ echo "FAIL: dbus-daemon did not start listening"; cat "$RV_TMP/bus.log"; exit 1; }
	chmod 755 "$RV_TMP"
}

# rv_start_daemon NETNS [extra roamvpnd args]: roamvpnd inside the namespace and a
# mount namespace in which /etc/resolv.conf is a private file, so that no bug can
# reach the host's. The daemon manages $RV_TMP/resolv.conf.
rv_start_daemon() {
	local ns=$1; shift
	: >"$RV_TMP/etc-resolv.conf"
	ip netns exec "$ns" unshare --mount --propagation private -- sh -c '
		mount --bind "$1" /etc/resolv.conf || exit 1
		shift
		exec "$@"' sh "$RV_TMP/etc-resolv.conf" \
		"$ROAMVPND" --foreground --debug --bus "$RV_BUS" \
		--config-dir "$RV_TMP/etc" --state-dir "$RV_TMP/state" \
		--resolv-conf "$RV_TMP/resolv.conf" "$@" >>"$RV_TMP/daemon.log" 2>&1 &
	RV_DAEMON_PID=$!
	RV_PIDS+=($RV_DAEMON_PID)
	if ! rv_wait_for 30 rv_ctl status; then
		echo "FAIL: roamvpnd did not come up on the bus"; tail -30 "$RV_TMP/daemon.log"; exit 1
	fi
}

rv_ctl() { "$ROAMVPNCTL" --bus "$RV_BUS" "$@"; }
rv_ctl_json() { "$ROAMVPNCTL" --bus "$RV_BUS" --json "$@"; }

# rv_tunnel_state NAME: the tunnel's State from roamvpnctl --json tunnels.
rv_tunnel_state() {
	rv_ctl_json tunnels | jq -r --arg n "$1" '.. | objects | select(.Name? == $n) | .State' | head -1
}
rv_tunnel_is() { [ "$(rv_tunnel_state "$1")" = "$2" ]; }

# rv_start_desktop [any-user]: the desktop an applet test needs: Xvfb, a private
# session bus and fake-desktop (tests/fakes: the panel and the notification server)
# reading its commands from fd 7. With any-user, an applet running as another user
# may use both (Xvfb -ac, the bus allows every user). Sets RV_DISPLAY (":N") and
# RV_SESSION_BUS; on a part that does not start: a FAIL line and status 1.
rv_start_desktop() {
	local xvfb_ac=() allow_user=
	RV_DISPLAY= RV_SESSION_BUS=
	if [ "${1:-}" = any-user ]; then
		xvfb_ac=(-ac)
		allow_user='<allow user="*"/>'
	fi
	Xvfb -displayfd 3 -screen 0 640x480x24 -nolisten tcp "${xvfb_ac[@]}" 3>"$RV_TMP/display" \
		>"$RV_TMP/xvfb.log" 2>&1 &
	RV_PIDS+=($!)
	rv_wait_for 10 test -s "$RV_TMP/display" || { fail "Xvfb started"; return 1; }
	RV_DISPLAY=:$(cat "$RV_TMP/display")
	cat >"$RV_TMP/session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$RV_TMP/session</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    $allow_user
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
	# Ready means listening: the address is printed then, the socket file exists earlier.
	dbus-daemon --config-file="$RV_TMP/session.conf" --nofork --nopidfile --print-address=3 \
		3>"$RV_TMP/session.address" >"$RV_TMP/session.log" 2>&1 &
	RV_PIDS+=($!)
	rv_wait_for 30 test -s "$RV_TMP/session.address" || { fail "session bus started"; return 1; }
	RV_SESSION_BUS=unix:path=$RV_TMP/session
	mkfifo "$RV_TMP/desktop.in"
	DBUS_SESSION_BUS_ADDRESS=$RV_SESSION_BUS "$RV_BUILD/tests/fake-desktop" \
		<"$RV_TMP/desktop.in" >"$RV_TMP/desktop.out" 2>&1 &
	RV_PIDS+=($!)
	exec 7>"$RV_TMP/desktop.in"
	rv_wait_for 5 grep -q '^ready' "$RV_TMP/desktop.out" || { fail "fake-desktop ready"; return 1; }
}

# rv_desk COMMAND: ask fake-desktop (rv_start_desktop); its answer lines go to
# $RV_TMP/desk.reply.
rv_desk() {
	local n
	n=$(wc -l <"$RV_TMP/desktop.out")
	echo "$1" >&7
	rv_wait_for 5 sh -c "tail -n +$((n + 1)) '$RV_TMP/desktop.out' | grep -q '^\(icon\|menu end\|clicked\|no \|error\|unknown\)'"
	tail -n +$((n + 1)) "$RV_TMP/desktop.out" >"$RV_TMP/desk.reply"
}
