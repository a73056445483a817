#!/bin/bash
# daemon-admin-group.sh - AdminGroup= applies on reload (issue 8 §8): with
# AdminGroup=daemon the system user "daemon" (primary group daemon) may pause and
# take a tunnel down and "bin" may not; after the file says AdminGroup=bin and a
# reload, "daemon" is refused and "bin" may. No polkit on the private bus, so the
# daemon's own root/AdminGroup check decides. Uses the base system's users daemon
# (uid 1) and bin (uid 2); changes nothing on the host.
. "$(dirname "$0")/lib.sh"
rv_require_root
rv_setup rvadmgrp
for u in daemon bin; do
	getent passwd "$u" >/dev/null || { echo "SKIP: no system user $u"; exit 77; }
done

NS=rvadmgrp-$$
rv_netns_add "$NS"
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
printf '[General]\nDNS=file\nAdminGroup=daemon\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/sleep 3600\n' >"$RV_TMP/etc/tunnels/corp.conf"

# as USER roamvpnctl ARGS...: exit code in $rc
as() {
	local user=$1; shift
	setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups \
		"$ROAMVPNCTL" --bus "$RV_BUS" "$@" >"$RV_TMP/out" 2>&1
	rc=$?
	sed 's/^/    | /' "$RV_TMP/out"
}

rv_start_bus
rv_start_daemon "$NS"

as daemon pause
check "AdminGroup=daemon: user daemon may pause" [ "$rc" = 0 ]
as daemon resume
check "AdminGroup=daemon: user daemon may resume" [ "$rc" = 0 ]
as bin pause
check "AdminGroup=daemon: user bin may not pause" [ "$rc" = 1 ]

printf '[General]\nDNS=file\nAdminGroup=bin\n' >"$RV_TMP/etc/roamvpn.conf"
rv_ctl reload
check "reload with AdminGroup=bin accepted" [ $? = 0 ]
as daemon pause
check "after the reload user daemon (old group) may not pause" [ "$rc" = 1 ]
check "... and is told which group it needs" grep -q 'group bin' "$RV_TMP/out"
as daemon down corp
check "after the reload user daemon may not disconnect" [ "$rc" = 1 ]
check "automation not paused by the refused call" sh -c \
	"'$ROAMVPNCTL' --bus '$RV_BUS' --json status | jq -e '.. | objects | select(has(\"Paused\")) | .Paused == false' >/dev/null"
as bin pause
check "after the reload user bin (new group) may pause" [ "$rc" = 0 ]

rv_summary
