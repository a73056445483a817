#!/bin/sh
# /init of roamvpn's PPTP VM test (PID 1 in the qemu guest; made by vm-pptp-test.sh).
#
# The host kernel has no PPP; Debian's kernel in this guest has ppp_generic, ppp_async
# and ppp_mppe. A network namespace "srv" runs the real pptpd (its pptpctrl starts the
# real pppd: MS-CHAPv2, MPPE-128 required, ms-dns 10.77.2.53). The init namespace is
# the laptop: lan0 (veth) 10.77.0.1 <-> wan0 10.77.0.2 in srv, where 10.77.2.1 stands
# for a corporate host behind the server.
#   1. the real pppd + pptp by hand (no roamvpnd): MPPE, ping through ppp0, DNS1 from
#      the server, a clean stop, and a wrong password ending in pppd's exit 19;
#   2. roamvpnd with the pptp plugin ([pptp] tunnel, rule on lan0): up by itself on
#      link up, ping through the ppp device (pppd names it after the tunnel, "corp"),
#      the server's DNS in resolv.conf, no password in any process's command line or
#      environment, link down restores resolv.conf byte for byte, and a wrong password
#      is named in the tunnel's LastError and not retried, as is a server that is not there.
# Every wait has a deadline on /proc/uptime. Each check prints one line
#   @@RVTEST ok NAME   or   @@RVTEST FAIL NAME: why
# and the host counts them.
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
PPTP_USER=alice
PPTP_PASS='s3cret pass;$(touch /tmp/pwned)'	# a password a shell would mangle
WRONG_PASS='not-the-password'
PLUGIN_DIR=/usr/local/lib/roamvpn/plugins
HOOK=/usr/local/libexec/roamvpn/roamvpn-hook

. /etc/rvtest/guest-lib.sh
guest_mounts
mkdir -p /var/log
mount -t devpts devpts /dev/pts	# pptp's pty to pppd

BGPIDS=
DAEMON_PID=
finish() {
	[ -n "$1" ] && fail scenario "$1"
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait_for 15 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" ||
			fail clean-exit "roamvpnd did not exit within 15 s of SIGTERM"
	fi
	for p in $BGPIDS; do kill "$p" 2>/dev/null; done
	sleep 1
	for f in /tmp/syslog.txt /tmp/pppd-direct.out /tmp/ip-up.log /tmp/daemon.log /tmp/check.log \
		 /tmp/resolv.conf /tmp/ctl.log /tmp/pptpd.out; do
		[ -f "$f" ] || continue
		echo "@@RVTEST-LOG-BEGIN $f"; cat "$f"; echo "@@RVTEST-LOG-END $f"
	done
	mark "END"
	sync
	poweroff -f
	sleep 5; echo o > /proc/sysrq-trigger
}
ip() { /usr/sbin/ip "$@"; }   # iproute2, not busybox's applet
dev_up() { ip -4 addr show dev "$1" 2>/dev/null | grep -q 'inet 10\.77\.3\.'; }   # a pool address
no_dev() { ! ip link show dev "$1" >/dev/null 2>&1; }
ppp0_up() { dev_up ppp0; }
no_ppp0() { no_dev ppp0; }
# secret_in_proc TEXT: some process has TEXT in its command line or environment
secret_in_proc() {
	for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
		tr '\0' '\n' < "$f" 2>/dev/null | grep -qF "$1" && { echo "$f"; return 0; }
	done
	return 1
}

mark "BOOTED kernel $(uname -r)"
for m in ppp_generic ppp_async ppp_mppe veth crc32c_generic nf_tables; do
	modprobe "$m" || finish "modprobe $m"
done
check ppp-kernel "no /dev/ppp after modprobe ppp_generic" wait_for 5 test -c /dev/ppp
ip link set lo up

# ---- the server: pptpd in namespace srv ----
ip netns add srv || finish "ip netns add srv"
ip -n srv link set lo up
ip link add lan0 type veth peer name wan0 netns srv || finish "veth"
ip addr add 10.77.0.1/24 dev lan0
ip -n srv addr add 10.77.0.2/24 dev wan0
ip -n srv link set wan0 up
ip -n srv addr add 10.77.2.1/32 dev lo
# pptpd and pptp log only to syslog
syslogd -n -O /tmp/syslog.txt &
BGPIDS="$BGPIDS $!"
wait_for 5 test -S /dev/log || finish "syslogd"

mkdir -p /etc/rvtest /etc/ppp
cat > /etc/ppp/pptpd-options <<EOC
name pptpd
refuse-pap
refuse-chap
refuse-mschap
require-mschap-v2
require-mppe-128
ms-dns 10.77.2.53
ms-dns 10.77.2.54
nodefaultroute
nobsdcomp
novj
novjccomp
nologfd
EOC
# chap-secrets: client server secret addresses (quoted: the password has blanks)
printf '%s pptpd "%s" *\n' "$PPTP_USER" "$PPTP_PASS" > /etc/ppp/chap-secrets
chmod 600 /etc/ppp/chap-secrets
printf 'option /etc/ppp/pptpd-options\nlocalip 10.77.3.1\nremoteip 10.77.3.10-20\n' > /etc/rvtest/pptpd.conf
ip netns exec srv pptpd -f -c /etc/rvtest/pptpd.conf -p /run/pptpd.pid -l 10.77.0.2 > /tmp/pptpd.out 2>&1 &
BGPIDS="$BGPIDS $!"
wait_for 10 grep -q 'MGR: Manager process started' /tmp/syslog.txt ||
	finish "pptpd did not start"
mark "PPTPD_UP"

# ---- 1. real pppd + pptp by hand ----
cat > /etc/rvtest/ip-up-log <<'EOC'
#!/bin/sh
{ echo "=== $0 $*"; env | sort; } >> /tmp/ip-up.log
EOC
chmod 755 /etc/rvtest/ip-up-log
ip link set lan0 up
# run_pppd PASSWORD: the client as NetworkManager-pptp runs it; the password on fd 3
run_pppd() {
	printf '%s' "$1" > /run/pw; chmod 600 /run/pw
	exec 3< /run/pw		# opened here: the file is gone before the child would open it
	rm -f /run/pw
	pppd nodetach noauth refuse-pap refuse-chap refuse-mschap refuse-eap require-mppe-128 \
		user "$PPTP_USER" remotename pptpd plugin passwordfd.so passwordfd 3 \
		pty "pptp 10.77.0.2 --nolaunchpppd --nohostroute" usepeerdns \
		ip-up-script /etc/rvtest/ip-up-log ip-down-script /etc/rvtest/ip-up-log \
		>> /tmp/pppd-direct.out 2>&1 &
	PPPD=$!
	exec 3<&-
}
run_pppd "$PPTP_PASS"
if check direct-ppp0-up "ppp0 got no 10.77.3.x address within 60 s" wait_for 60 ppp0_up; then
	mark "DIRECT_UP $(ip -4 -br addr show dev ppp0)"
	check direct-mppe "pppd did not log MPPE 128-bit" grep -q 'MPPE 128-bit' /tmp/syslog.txt
	ip route add 10.77.2.0/24 dev ppp0
	check direct-ping "no answer from 10.77.2.1 through ppp0" ping -c 2 -W 5 10.77.2.1
	check direct-peer-dns "ip-up had no DNS1=10.77.2.53 (usepeerdns)" grep -q '^DNS1=10.77.2.53' /tmp/ip-up.log
	kill "$PPPD"
	check direct-stop "ppp0 still there 20 s after SIGTERM to pppd" wait_for 20 no_ppp0
	check direct-ip-down "pppd did not run ip-down" grep -q '^CONNECT_TIME=' /tmp/ip-up.log
fi
wait "$PPPD"
# pppd exits 19 (we failed to authenticate ourselves), or 16 (hangup) when the
# server's pppd hangs up first; either way after saying so.
: > /tmp/pppd-direct.out
run_pppd "$WRONG_PASS"
wait "$PPPD"; rc=$?
check direct-wrong-password "pppd exit $rc, wanted 19 or 16 after 'CHAP authentication failed'" \
	sh -c "{ [ $rc = 19 ] || [ $rc = 16 ]; } && grep -q 'CHAP authentication failed' /tmp/pppd-direct.out"
ip link set lan0 down
mark "DIRECT_DONE"

# ---- 2. roamvpnd with the pptp plugin ----
if ! command -v roamvpnd >/dev/null || ! ls "$PLUGIN_DIR"/*pptp*.so >/dev/null 2>&1; then
	fail daemon-plugin "roamvpnd or the pptp plugin is not in the image"
	finish
fi
mkdir -p /etc/roamvpn/tunnels /etc/roamvpn/rules /run/roamvpn /run/dbus
write_tunnel() {   # write_tunnel PASSWORD
	rm -f /etc/roamvpn/tunnels/corp.conf
	(umask 077; cat > /etc/roamvpn/tunnels/corp.conf) <<EOC
[Tunnel]
Backend=pptp
Routes=10.77.2.0/24

[pptp]
Server=10.77.0.2
User=$PPTP_USER
Password=$1
EOC
}
write_tunnel "$PPTP_PASS"
printf '[General]\nDNS=file\nDebounceMs=200\nBackoffInitialMs=5000\n' > /etc/roamvpn/roamvpn.conf
printf '[Match]\nName=lan0\n[Action]\nConnect=corp\n' > /etc/roamvpn/rules/50-wire.rules
printf 'nameserver 10.77.0.2\n' > /tmp/resolv.conf
cp /tmp/resolv.conf /tmp/resolv.conf.orig
guest_bus || finish "private bus (dbus-daemon)"
export ROAMVPN_PLUGIN_DIR=$PLUGIN_DIR ROAMVPN_HOOK_PATH=$HOOK
check daemon-check "roamvpnd --check refused the [pptp] tunnel" \
	roamvpnd --config-dir /etc/roamvpn --check
roamvpnd --config-dir /etc/roamvpn --check > /tmp/check.log 2>&1
roamvpnd --foreground --debug --config-dir /etc/roamvpn --state-dir /run/roamvpn \
	--resolv-conf /tmp/resolv.conf --bus "$BUS" > /tmp/daemon.log 2>&1 &
DAEMON_PID=$!
ctl() { roamvpnctl --bus "$BUS" "$@"; }
tunnel_field() { ctl --json tunnels 2>/dev/null | jq -r '.. | objects | select(.Name? == "corp") | .'"$1" | head -1; }
tunnel_is() { [ "$(tunnel_field State)" = "$1" ]; }
wait_for 20 ctl status || finish "roamvpnd did not come up on the bus"
mark "DAEMON_STARTED pid=$DAEMON_PID"

ip link set lan0 up
if check daemon-up "tunnel corp not up within 60 s of lan0 up (LastError: $(tunnel_field LastError))" \
	wait_for 60 tunnel_is up; then
	ctl --json tunnels >> /tmp/ctl.log 2>&1
	mark "DAEMON_UP $(ip -4 -br addr show dev corp)"
	check daemon-device "the ppp device 'corp' has no address from the server's pool" dev_up corp
	check daemon-route "10.77.2.0/24 (Routes=) is not routed through corp" \
		sh -c "ip route show 10.77.2.0/24 | grep -q 'dev corp'"
	check daemon-ping "no answer from 10.77.2.1 through the tunnel" ping -c 2 -W 5 10.77.2.1
	check daemon-dns "the server's DNS 10.77.2.53 is not in resolv.conf" grep -q '^nameserver 10.77.2.53' /tmp/resolv.conf
	check daemon-mppe "no MPPE 128-bit in the daemon's pppd session" \
		sh -c "[ \$(grep -c 'MPPE 128-bit' /tmp/syslog.txt) -ge 2 ]"
	w=$(secret_in_proc "$PPTP_PASS")
	check daemon-no-secret-in-proc "the password is in $w" [ -z "$w" ]
	check daemon-no-secret-in-log "the password is in the daemon log" sh -c "! grep -qF '$PPTP_USER pptpd' /tmp/daemon.log && ! grep -qF 's3cret' /tmp/daemon.log"
	check no-shell-expansion "the password was run through a shell" test ! -e /tmp/pwned
fi
ip link set lan0 down
check daemon-down "tunnel corp not down within 20 s of lan0 down" wait_for 20 tunnel_is down
check daemon-device-gone "the ppp device still there after the tunnel went down" wait_for 20 no_dev corp
check daemon-resolv-restored "resolv.conf differs from before the tunnel" cmp -s /tmp/resolv.conf /tmp/resolv.conf.orig

# wrong password: named, and not retried in a tight loop
write_tunnel "$WRONG_PASS"
ctl reload >/dev/null 2>&1
sleep 1
auth_failures() { grep -c 'failed CHAP authentication' /tmp/syslog.txt; }   # pptpd's pppd, one per attempt
before=$(auth_failures)
ip link set lan0 up
check daemon-wrong-password "LastError does not name the authentication failure: '$(tunnel_field LastError)'" \
	wait_for 60 sh -c "roamvpnctl --bus '$BUS' --json tunnels | grep -qi 'authentic'"
ctl --json tunnels >> /tmp/ctl.log 2>&1
sleep 8
check daemon-wrong-password-not-up "tunnel came up with a wrong password" no_dev corp
tries=$(( $(auth_failures) - before ))
check daemon-wrong-password-no-retry "$tries attempts with a wrong password within ~10 s (wanted 1: no retry on an authentication failure)" [ "$tries" -le 1 ]
ip link set lan0 down
wait_for 20 no_dev corp

# a server that is not there: named as such
write_tunnel "$PPTP_PASS"
sed -i 's/^Server=10.77.0.2$/Server=10.77.0.99/' /etc/roamvpn/tunnels/corp.conf
ctl reload >/dev/null 2>&1
sleep 1
ip link set lan0 up
check daemon-unreachable "LastError does not say the server cannot be reached: '$(tunnel_field LastError)'" \
	wait_for 60 sh -c "roamvpnctl --bus '$BUS' --json tunnels | grep -q 'unreachable\|could not be reached\|does not answer'"
ctl --json tunnels >> /tmp/ctl.log 2>&1
ip link set lan0 down
finish
