#!/bin/bash
# openrc-service.sh - /etc/init.d/roamvpnd under the real openrc-run (Debian's
# openrc .deb, extracted, never installed) in a private mount and network
# namespace: start pulls in its "need dbus", status, a reload with a broken
# configuration is refused and the running policy kept, a good reload applies,
# a start with a broken configuration is refused, stop takes the tunnel down and
# restores DNS.
#
# The host is not touched: /usr gets the extracted openrc as an extra read-only
# overlay layer, /etc an overlay whose writable layer is a tmpfs (so
# /etc/init.d holds only this test's scripts), /run a tmpfs; all of it inside an
# `unshare --mount` that disappears with the test.
#
# The .debs (openrc, librc1, libeinfo1) come from ROAMVPN_OPENRC_DEBS if set,
# else from a cache in the build directory, filled once with `apt-get download`.
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --inside ]; then
	# ---- inside the namespaces -----------------------------------------------------
	set -u
	RV_TMP=$2
	STAGE=$3
	OV=$RV_TMP/ov
	mount -t tmpfs tmpfs "$OV" || { echo "FAIL: tmpfs"; exit 1; }
	mkdir -p "$OV/etc-up" "$OV/etc-work"
	mount -t overlay overlay -o "lowerdir=$STAGE/usr:/usr" /usr ||
		{ echo "FAIL: overlay on /usr"; exit 1; }
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$OV/etc-up,workdir=$OV/etc-work" /etc ||
		{ echo "FAIL: overlay on /etc"; exit 1; }
	mount -t tmpfs -o mode=755 tmpfs /run || { echo "FAIL: tmpfs on /run"; exit 1; }
	# Only this test's services, and a private resolv.conf for good measure.
	rm -rf /etc/init.d /etc/conf.d /etc/runlevels
	mkdir -p /etc/init.d /etc/conf.d /etc/runlevels/default /run/openrc
	cp "$STAGE/etc/rc.conf" /etc/rc.conf
	# Debian's openrc reads it for LSB scripts; there are none here.
	: >/etc/insserv.conf
	: >/etc/resolv.conf
	# openrc-run refuses to run on a system OpenRC did not boot unless told so.
	touch /run/openrc/softlevel
	# The state layout that "openrc" itself makes at boot.
	for d in daemons exclusive failed hotplugged inactive options scheduled started \
		starting stopping tmp wasinactive; do mkdir -p "/run/openrc/$d"; done

	cp "$RV_TMP/roamvpnd.initd" /etc/init.d/roamvpnd
	cp "$RV_TMP/dbus.initd" /etc/init.d/dbus
	chmod 755 /etc/init.d/roamvpnd /etc/init.d/dbus
	cp "$RV_TMP/roamvpnd.confd" /etc/conf.d/roamvpnd
	cat >>/etc/conf.d/roamvpnd <<EOF
ROAMVPND_OPTS="--bus unix:path=$RV_TMP/bus --config-dir $RV_TMP/etc --state-dir $RV_TMP/state --resolv-conf $RV_TMP/resolv.conf --debug"
output_log="$RV_TMP/daemon.log"
error_log="$RV_TMP/daemon.log"
EOF
	export RV_BUS=unix:path=$RV_TMP/bus
	resolv_is_original() { cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"; }
	resolv_is_swapped() { grep -q '^nameserver 10.97.0.53' "$RV_TMP/resolv.conf"; }
	daemon_pid() { pgrep -f "^$ROAMVPND --foreground" | head -1; }
	rc() { /etc/init.d/"$@" >>"$RV_TMP/openrc.out" 2>&1; }

	check "openrc-run is Debian's extracted one" test -x /sbin/openrc-run
	rc roamvpnd start
	check "start: exit 0" [ $? = 0 ] || sed "s/^/    openrc: /" "$RV_TMP/openrc.out"
	check "start pulled in 'need dbus'" rc dbus status
	check "roamvpnd answers on the bus" rv_wait_for 10 rv_ctl status
	check "status: exit 0 while started" rc roamvpnd status
	check "status says started" grep -q "status: started" "$RV_TMP/openrc.out"
	pid=$(daemon_pid)
	check "supervised roamvpnd runs (pid ${pid:-none})" [ -n "$pid" ]
	check "its umask keeps the state private" \
		sh -c "[ \"\$(stat -c %a '$RV_TMP/state/roamvpnd.lock')\" = 600 ]"

	ip link set lan0 up
	check "the rule brings corp up" rv_wait_for 10 rv_tunnel_is corp up
	check "DNS swapped" rv_wait_for 3 resolv_is_swapped

	# A broken rule: reload refused before roamvpnd is even signalled.
	printf '[Match]\nName=lan0\n[Action]\nDisconnect=all\nBogus=1\n' >"$RV_TMP/etc/rules/10-broken.rules"
	: >"$RV_TMP/openrc.out"
	rc roamvpnd reload
	check "reload with a broken configuration fails" [ $? != 0 ]
	check "... and names FILE:LINE" grep -q "10-broken.rules:5" "$RV_TMP/openrc.out"
	check "... the same roamvpnd still runs" [ "$(daemon_pid)" = "$pid" ]
	check "... the daemon never reloaded" sh -c "! grep -q 'SIGHUP' '$RV_TMP/daemon.log'"
	sleep 0.5
	check "... the running policy is kept: corp up" rv_tunnel_is corp up
	check "... still started" rc roamvpnd status

	# The same change without the mistake: reload applies it.
	printf '[Match]\nName=lan0\n[Action]\nDisconnect=all\n' >"$RV_TMP/etc/rules/10-broken.rules"
	rc roamvpnd reload
	check "a good reload: exit 0" [ $? = 0 ]
	check "... roamvpnd re-read it (SIGHUP)" rv_wait_for 5 grep -q 'SIGHUP' "$RV_TMP/daemon.log"
	check "... the new rule takes corp down" rv_wait_for 10 rv_tunnel_is corp down
	check "... DNS restored" rv_wait_for 3 resolv_is_original
	rm "$RV_TMP/etc/rules/10-broken.rules"
	rc roamvpnd reload
	check "corp up again after the rule went" rv_wait_for 10 rv_tunnel_is corp up

	rc roamvpnd stop
	check "stop: exit 0" [ $? = 0 ]
	check "roamvpnd gone" rv_wait_for 10 sh -c "[ -z \"\$(pgrep -f '^$ROAMVPND --foreground')\" ]"
	check "stop restored DNS" resolv_is_original
	rc roamvpnd status
	check "status after stop: exit 3 (stopped)" [ $? = 3 ]

	# start checks the configuration first.
	printf '[Match]\nColour=blue\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/20-bad.rules"
	: >"$RV_TMP/openrc.out"
	rc roamvpnd start
	check "start with a broken configuration is refused" [ $? != 0 ]
	check "... saying where" grep -q "20-bad.rules:2" "$RV_TMP/openrc.out"
	check "... and nothing runs" [ -z "$(daemon_pid)" ]
	rm "$RV_TMP/etc/rules/20-bad.rules"

	rc dbus stop
	sed 's/^/    openrc: /' "$RV_TMP/openrc.out"
	rv_summary
	exit $?
fi

# ---- outside: fetch openrc, build the sandbox's files, enter the namespaces ---------------
rv_require_root
rv_setup rvorc
DEBS=${ROAMVPN_OPENRC_DEBS:-$RV_BUILD/tests/openrc-debs}
if ! ls "$DEBS"/openrc_*.deb >/dev/null 2>&1; then
	mkdir -p "$DEBS"
	(cd "$DEBS" && timeout 120 apt-get download openrc librc1 libeinfo1) >/dev/null 2>&1
fi
for p in openrc librc1 libeinfo1; do
	ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || { echo "SKIP: no $p .deb in $DEBS (apt-get download failed)"; exit 77; }
done
INITD=$RV_BUILD/openrc/roamvpnd.initd
[ -f "$INITD" ] || { echo "FAIL: $INITD not built"; exit 1; }

STAGE=$RV_TMP/stage
mkdir -p "$STAGE/root"
for d in "$DEBS"/openrc_*.deb "$DEBS"/librc1_*.deb "$DEBS"/libeinfo1_*.deb; do
	dpkg-deb -x "$d" "$STAGE/root"
done
# /bin, /lib and /sbin are /usr's on Debian: lay the package out as /usr sees it.
mkdir -p "$STAGE/usr" "$STAGE/etc"
cp -a "$STAGE/root/bin" "$STAGE/root/lib" "$STAGE/root/sbin" "$STAGE/usr/"
cp -a "$STAGE/root/etc/rc.conf" "$STAGE/etc/"
mkdir -p "$RV_TMP/ov"

NS=rvorc-$$
rv_netns_add "$NS"
ip -n "$NS" link add lan0 type veth peer name gw0
ip -n "$NS" addr add 10.79.0.2/24 dev lan0
ip -n "$NS" link set gw0 up

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
printf 'nameserver 10.79.0.1\n' >"$RV_TMP/resolv.conf"
cp "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"
cat >"$RV_TMP/fake-vpn" <<EOF
#!/bin/sh
trap 'exit 0' TERM
while :; do sleep 0.1; done
EOF
chmod 755 "$RV_TMP/fake-vpn"
printf '[General]\nDNS=file\nDebounceMs=100\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\nDNS=10.97.0.53\n[exec]\nStart=%s\n' "$RV_TMP/fake-vpn" \
	>"$RV_TMP/etc/tunnels/corp.conf"
printf '[Match]\nName=lan0\n[Action]\nConnect=corp\n' >"$RV_TMP/etc/rules/50-wire.rules"

# The service under test, pointed at this build's roamvpnd.
sed "s|^command=.*|command=\"$ROAMVPND\"|" "$INITD" >"$RV_TMP/roamvpnd.initd"
cp "$RV_SRC/openrc/roamvpnd.confd" "$RV_TMP/roamvpnd.confd"
# The "dbus" it needs: a real OpenRC service running this test's private bus.
rv_bus_conf "$RV_TMP/bus.conf"
cat >"$RV_TMP/dbus.initd" <<EOF
#!/sbin/openrc-run
description="private D-Bus for the roamvpnd OpenRC test"
supervisor=supervise-daemon
command=$(command -v dbus-daemon)
command_args="--config-file=$RV_TMP/bus.conf --nofork --nopidfile"
pidfile=/run/test-dbus.pid
start_post() {
	local i=0
	while [ ! -S "$RV_TMP/bus" ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
}
EOF
chmod 755 "$RV_TMP"

ip netns exec "$NS" unshare --mount --propagation private -- \
	env RV_SRC="$RV_SRC" RV_BUILD="$RV_BUILD" ROAMVPND="$ROAMVPND" ROAMVPNCTL="$ROAMVPNCTL" \
	bash "$0" --inside "$RV_TMP" "$STAGE"
rc=$?
# The namespace test's own verdict; rv_cleanup (EXIT trap) then kills what is left
# in the namespace and removes it, and checks the host's resolv.conf.
[ "$rc" = 0 ] || RV_FAILED=$((RV_FAILED + 1))
exit "$rc"
