#!/bin/bash
# daemon-polkit: roamvpnd asks the real polkitd who may act.
#
# In a private mount namespace (the host's users, polkit rules and actions are
# never touched): test users in a private /etc/passwd and /etc/group, our
# net.roamvpn1.policy among the actions, a JavaScript rules file, polkitd on a
# private system bus, roamvpnd in a network namespace on that bus. Checks:
# a user granted net.roamvpn1.control (not .reload) can toggle and pause but
# not reload; the polkit detail "tunnel" reaches the rules; a third user is
# refused with a clear "Permission denied" sentence and nothing changes; root and
# the AdminGroup need no polkit; with polkitd stopped the root/AdminGroup rule
# applies (the granted user is refused and told why, the group member is not).
# Hook stays closed to users by the bus policy. With the applet built: roamvpn-applet
# running as the granted user under Xvfb connects corp from its menu (polkit: yes),
# is refused lab (the refusal arrives as a notification) and disconnects corp.
. "$(dirname "$0")/lib.sh"
rv_require_root
POLKITD=${POLKITD:-/usr/lib/polkit-1/polkitd}
[ -x "$POLKITD" ] || { echo "SKIP: polkitd not installed (Debian package polkitd)"; exit 77; }
getent passwd polkitd >/dev/null || { echo "SKIP: no polkitd user"; exit 77; }

# Everything below runs in a mount namespace of its own: the bind mounts over
# /etc/passwd and polkit's directories vanish with it.
if [ -z "${RV_POLKIT_INNER:-}" ]; then
	RV_POLKIT_INNER=1 exec unshare --mount --propagation private -- bash "$0" "$@"
fi

rv_setup rvpk
NS=rvpk-$$
rv_netns_add "$NS"

# --- users, groups, polkit configuration (private copies, bind-mounted) -----------
U_CTL=rvpk-ctl U_OTHER=rvpk-other U_ADM=rvpk-adm G_ADM=rvpk-admins
cp /etc/passwd "$RV_TMP/passwd"
cp /etc/group "$RV_TMP/group"
cat >>"$RV_TMP/passwd" <<EOF
$U_CTL:x:61001:61001::/nonexistent:/usr/sbin/nologin
$U_OTHER:x:61002:61002::/nonexistent:/usr/sbin/nologin
$U_ADM:x:61003:61003::/nonexistent:/usr/sbin/nologin
EOF
cat >>"$RV_TMP/group" <<EOF
$U_CTL:x:61001:
$U_OTHER:x:61002:
$U_ADM:x:61003:
$G_ADM:x:61000:$U_ADM
EOF
chmod 644 "$RV_TMP/passwd" "$RV_TMP/group"
mkdir -p "$RV_TMP/rules.d" "$RV_TMP/vendor-rules.d" "$RV_TMP/actions"
cp "$RV_SRC/data/net.roamvpn1.policy" "$RV_TMP/actions/"
# The user may control tunnel "corp" (polkit detail "tunnel"), Pause and Resume
# (no tunnel), never "lab", and may not reload.
cat >"$RV_TMP/rules.d/50-roamvpn-test.rules" <<EOF
polkit.addRule(function(action, subject) {
	if (subject.user != "$U_CTL")
		return polkit.Result.NOT_HANDLED;
	if (action.id == "net.roamvpn1.control" &&
	    (action.lookup("tunnel") == undefined || action.lookup("tunnel") == "corp"))
		return polkit.Result.YES;
	if (action.id == "net.roamvpn1.control" || action.id == "net.roamvpn1.reload")
		return polkit.Result.NO;
	return polkit.Result.NOT_HANDLED;
});
EOF
chmod -R a+rX "$RV_TMP/rules.d" "$RV_TMP/vendor-rules.d" "$RV_TMP/actions"
mount --bind "$RV_TMP/passwd" /etc/passwd
mount --bind "$RV_TMP/group" /etc/group
mount --bind "$RV_TMP/rules.d" /etc/polkit-1/rules.d
mount --bind "$RV_TMP/vendor-rules.d" /usr/share/polkit-1/rules.d
mount --bind "$RV_TMP/actions" /usr/share/polkit-1/actions

# --- daemon configuration: two exec tunnels, no rules (only people act) ------------
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
cat >"$RV_TMP/fake-vpn" <<'EOF'
#!/bin/sh
trap 'exit 0' TERM
while :; do sleep 0.1; done
EOF
chmod 755 "$RV_TMP/fake-vpn"
printf '[General]\nDNS=file\nAdminGroup=%s\n' "$G_ADM" >"$RV_TMP/etc/roamvpn.conf"
for t in corp lab; do
	printf '[Tunnel]\nBackend=exec\n[exec]\nStart=%s\n' "$RV_TMP/fake-vpn" >"$RV_TMP/etc/tunnels/$t.conf"
done

# --- the private system bus, with polkit's own bus policy --------------------------
RV_BUS_EXTRA="  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>"
rv_start_bus

start_polkitd() {
	DBUS_SYSTEM_BUS_ADDRESS=$RV_BUS "$POLKITD" --no-debug >>"$RV_TMP/polkitd.log" 2>&1 &
	POLKITD_PID=$!
	RV_PIDS+=($POLKITD_PID)
	rv_wait_for 10 polkit_on_bus
}
polkit_on_bus() {
	dbus-send --bus="$RV_BUS" --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.PolicyKit1 2>/dev/null |
		grep -q 'boolean true'
}
check "polkitd owns org.freedesktop.PolicyKit1 on the private bus" start_polkitd || {
	tail -20 "$RV_TMP/polkitd.log"; rv_summary; exit 1; }

rv_start_daemon "$NS"

# as USER roamvpnctl ARGS...: exit code in $rc, output in $RV_TMP/out
as() {
	local user=$1; shift
	local uid gid
	uid=$(getent passwd "$user" | cut -d: -f3)
	gid=$(getent passwd "$user" | cut -d: -f4)
	setpriv --reuid="$uid" --regid="$gid" --init-groups \
		"$ROAMVPNCTL" --bus "$RV_BUS" "$@" >"$RV_TMP/out" 2>&1
	rc=$?
	sed 's/^/    | /' "$RV_TMP/out"
}
said() { grep -q "$1" "$RV_TMP/out"; }

# --- the user granted net.roamvpn1.control ----------------------------------------
as $U_CTL up corp
check "$U_CTL may 'up corp' (polkit: control)" [ "$rc" = 0 ]
check "corp comes up" rv_wait_for 5 rv_tunnel_is corp up
as $U_CTL pause
check "$U_CTL may pause" [ "$rc" = 0 ]
check "Paused is true" sh -c "'$ROAMVPNCTL' --bus '$RV_BUS' --json status | jq -e '.. | objects | select(has(\"Paused\")) | .Paused == true' >/dev/null"
as $U_CTL resume
check "$U_CTL may resume" [ "$rc" = 0 ]
as $U_CTL down corp
check "$U_CTL may 'down corp'" [ "$rc" = 0 ]
check "corp goes down" rv_wait_for 5 rv_tunnel_is corp down
as $U_CTL up lab
check "$U_CTL may not 'up lab' (the rule reads the tunnel detail)" [ "$rc" = 1 ]
check "lab stays down" rv_tunnel_is lab down
as $U_CTL reload
check "$U_CTL may not reload (polkit: reload denied)" [ "$rc" = 1 ]
check "the refusal says access denied and names the action" \
	sh -c "grep -qi 'denied' '$RV_TMP/out' && grep -q 'net.roamvpn1.reload' '$RV_TMP/out'"

# --- a third user: polkit's default for a user without a local session ------------
as $U_OTHER up corp
check "$U_OTHER may not 'up corp'" [ "$rc" = 1 ]
check "the refusal is a clear sentence" \
	sh -c "grep -qi 'denied' '$RV_TMP/out' && grep -q '$U_OTHER' '$RV_TMP/out' && grep -q 'net.roamvpn1.control' '$RV_TMP/out'"
check "corp untouched by the refused call" rv_tunnel_is corp down
as $U_OTHER status
check "$U_OTHER may still read status" [ "$rc" = 0 ]
as $U_OTHER hook postup lan0
check "$U_OTHER may not send Hook (bus policy)" [ "$rc" != 0 ]

# --- root and the AdminGroup need no polkit ---------------------------------------
check "root may reload" rv_ctl reload
as $U_ADM up lab
check "$U_ADM (AdminGroup) may 'up lab'" [ "$rc" = 0 ]
check "lab comes up" rv_wait_for 5 rv_tunnel_is lab up
as $U_ADM down lab
check "lab goes down" rv_wait_for 5 rv_tunnel_is lab down

# --- the applet as the person at the keyboard: $U_CTL clicks, polkit decides -----------
# roamvpn-applet runs as $U_CTL under Xvfb, with fake-desktop (as root) as its panel and
# notification server on a session bus both may use. Its clicks are Manager calls that
# roamvpnd authorizes through polkitd with the rules above: "Connect corp" is allowed,
# "Connect lab" is refused and the refusal reaches the user as a notification.
APPLET=${APPLET:-$RV_BUILD/applet/roamvpn-applet}
if [ -x "$APPLET" ] && [ -x "$RV_BUILD/tests/fake-desktop" ] && command -v Xvfb >/dev/null; then
	# any-user: the test user's applet may use the root-owned X server and session bus
	rv_start_desktop any-user
	mkdir -p "$RV_TMP/home"
	chown "$U_CTL:" "$RV_TMP/home"
	setpriv --reuid="$U_CTL" --regid="$U_CTL" --init-groups \
		env -i PATH=/usr/bin:/bin HOME="$RV_TMP/home" DISPLAY="$RV_DISPLAY" \
		DBUS_SESSION_BUS_ADDRESS="$RV_SESSION_BUS" NO_AT_BRIDGE=1 LANG=C LC_ALL=C \
		"$APPLET" --test --bus "$RV_BUS" --icon-dir "$RV_SRC/applet/icons" \
		>"$RV_TMP/applet.out" 2>"$RV_TMP/applet.err" &
	APPLET_PID=$!
	RV_PIDS+=($APPLET_PID)
	menu_offers() { rv_desk menu; grep -qx "menu: $1" "$RV_TMP/desk.reply"; }
	check "applet as $U_CTL: its item is in the panel" rv_wait_for 15 grep -q '^registered' "$RV_TMP/desktop.out"
	check "applet as $U_CTL: the menu offers 'Connect corp'" rv_wait_for 10 menu_offers "Connect corp"
	check "applet as $U_CTL runs as that user" [ "$(stat -c %U "/proc/$APPLET_PID")" = "$U_CTL" ]
	rv_desk "click Connect corp"
	check "applet as $U_CTL: clicking 'Connect corp'" grep -q '^clicked' "$RV_TMP/desk.reply"
	check "... polkit allows it: corp comes up" rv_wait_for 10 rv_tunnel_is corp up
	rv_desk "click Connect lab"
	check "applet as $U_CTL: clicking 'Connect lab'" grep -q '^clicked' "$RV_TMP/desk.reply"
	check "... polkit refuses it: a notification says so" \
		rv_wait_for 10 grep -q '^notify: Could not connect lab | .*net.roamvpn1.control' "$RV_TMP/desktop.out"
	check "... lab stays down" rv_tunnel_is lab down
	check "applet as $U_CTL: the menu now offers 'Disconnect corp'" rv_wait_for 10 menu_offers "Disconnect corp"
	rv_desk "click Disconnect corp"
	check "... polkit allows it: corp goes down" rv_wait_for 10 rv_tunnel_is corp down
	grep '^notify:' "$RV_TMP/desktop.out" | sed 's/^/    /'
	kill "$APPLET_PID" 2>/dev/null
	exec 7>&-
else
	echo "SKIP (section): roamvpn-applet, fake-desktop or Xvfb not available"
fi

# --- polkit down: the root/AdminGroup rule --------------------------------------------
kill "$POLKITD_PID"
check "polkitd gone from the bus" rv_wait_for 5 sh -c "! dbus-send --bus='$RV_BUS' --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner string:org.freedesktop.PolicyKit1 | grep -q 'boolean true'"
as $U_CTL up corp
check "without polkit $U_CTL is refused" [ "$rc" = 1 ]
check "the refusal names the group rule and that polkit is not running" \
	sh -c "grep -qi 'denied' '$RV_TMP/out' && grep -q 'group $G_ADM' '$RV_TMP/out' && grep -q 'polkit is not running' '$RV_TMP/out'"
check "corp stays down" rv_tunnel_is corp down
as $U_ADM up corp
check "without polkit $U_ADM (AdminGroup) may 'up corp'" [ "$rc" = 0 ]
check "corp comes up" rv_wait_for 5 rv_tunnel_is corp up
check "without polkit root may 'down corp'" rv_ctl down corp
check "corp goes down" rv_wait_for 5 rv_tunnel_is corp down

check "roamvpnd logged the refusals" grep -q "refused Connect from" "$RV_TMP/daemon.log"
rv_summary
