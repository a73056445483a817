#!/bin/bash
# applet: roamvpn-applet used as a person would, against the real roamvpnd.
#
# roamvpnd runs in a network namespace on a private system bus; the applet runs
# under Xvfb with a private session bus on which fake-desktop plays the panel
# (StatusNotifierWatcher/host, reading the item's icon and its dbusmenu like a
# panel does) and the notification server (recording every notification).
# Checks that the applet's model follows the daemon (a link coming up starts a
# tunnel by itself, with its kill switch) with no polling (a dbus-monitor on the
# system bus counts the applet's calls: one snapshot per daemon start, one call
# per click), that clicking menu items through dbusmenu
# calls the daemon (disconnect, connect, pause, resume), that notifications are
# sent for a tunnel up by itself and for a failure with its reason, and that the
# applet copes with roamvpnd starting after it, stopping and starting again. Saves a screenshot of
# the menu in each state (to $APPLET_SHOTS if set, for docs/applet.md).
. "$(dirname "$0")/lib.sh"
rv_require_root
APPLET=${APPLET:-$RV_BUILD/applet/roamvpn-applet}
[ -x "$APPLET" ] || { echo "SKIP: roamvpn-applet not built (-Dapplet, GTK 3, ayatana-appindicator3, libnotify)"; exit 77; }
for p in Xvfb import; do
	command -v $p >/dev/null || { echo "SKIP: $p not installed (xvfb, imagemagick)"; exit 77; }
done
rv_setup rvap
NS=rvap-$$
PEER=rvap-p-$$
rv_wire "$NS" "$PEER" 10.78.0

# --- roamvpnd's configuration: corp by rule, two more by hand ---------------------
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
: >"$RV_TMP/resolv.conf"
cat >"$RV_TMP/fake-vpn" <<'EOF'
#!/bin/sh
trap 'exit 0' TERM
while :; do sleep 0.1; done
EOF
cat >"$RV_TMP/broken-vpn" <<'EOF'
#!/bin/sh
echo "cannot reach the VPN gateway" >&2
exit 1
EOF
chmod 755 "$RV_TMP/fake-vpn" "$RV_TMP/broken-vpn"
printf '[General]\nDNS=file\nDebounceMs=200\nBackoffInitialMs=60000\n' >"$RV_TMP/etc/roamvpn.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=%s\n' "$RV_TMP/fake-vpn" >"$RV_TMP/etc/tunnels/corp.conf"
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=%s\nType=oneshot\n' "$RV_TMP/broken-vpn" >"$RV_TMP/etc/tunnels/lab.conf"
# "slow" is up only when its program reports through roamvpn-hook: it never does.
printf '[Tunnel]\nBackend=exec\n[exec]\nStart=%s\nReport=hook\n' "$RV_TMP/fake-vpn" >"$RV_TMP/etc/tunnels/slow.conf"
cat >"$RV_TMP/etc/rules/50-untrusted-wire.rules" <<EOF
[Match]
Type=ether
Carrier=yes
[Action]
Connect=corp
KillSwitch=yes
EOF
# Root may monitor the private system bus: every call the applet makes is recorded.
RV_BUS_EXTRA='  <policy user="root"><allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/></policy>'
rv_start_bus
dbus-monitor --address "$RV_BUS" --monitor "type='method_call'" >"$RV_TMP/calls.log" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 15 grep -q 'member=NameLost' "$RV_TMP/calls.log" || fail "dbus-monitor watches the system bus"

# --- the desktop: Xvfb, a session bus, the panel and notification server ----------
rv_start_desktop || { rv_summary; exit 1; }
export DISPLAY=$RV_DISPLAY
export DBUS_SESSION_BUS_ADDRESS=$RV_SESSION_BUS

LANG=C LC_ALL=C NO_AT_BRIDGE=1 "$APPLET" --test --bus "$RV_BUS" --icon-dir "$RV_SRC/applet/icons" \
	>"$RV_TMP/applet.out" 2>"$RV_TMP/applet.err" &
APPLET_PID=$!
RV_PIDS+=($APPLET_PID)

# model: the applet's model, printed on request (SIGUSR1).
model() {
	local n
	n=$(grep -c '^--- end' "$RV_TMP/applet.out")
	kill -USR1 "$APPLET_PID" || return 1
	rv_wait_for 5 sh -c "[ \$(grep -c '^--- end' '$RV_TMP/applet.out') -gt $n ]" || return 1
	awk '/^--- model/ { block = "" ; next } /^--- end/ { last = block; next } { block = block $0 "\n" } END { printf "%s", last }' \
		"$RV_TMP/applet.out"
}
model_has() { model | grep -q "$1"; }
wait_model() { rv_wait_for 10 model_has "$1"; }
click() { rv_desk "click $1"; grep -q "^clicked" "$RV_TMP/desk.reply"; }
icon_is() { rv_desk icon; grep -qx "icon $1" "$RV_TMP/desk.reply"; }
notified() { grep -q "^notify: $1" "$RV_TMP/desktop.out"; }
# shot NAME: the menu as GTK draws it, under the applet's test panel.
shot() {
	local n h
	n=$(grep -c '^--- popup shown' "$RV_TMP/applet.out")
	h=$(grep -c '^--- popup hidden' "$RV_TMP/applet.out")
	kill -USR2 "$APPLET_PID"
	if rv_wait_for 5 sh -c "[ \$(grep -c '^--- popup shown' '$RV_TMP/applet.out') -gt $n ]"; then
		sleep 0.5	# let the X server finish drawing; not an assertion
		check "screenshot of the menu: $1" \
			import -display "$DISPLAY" -window root -crop 560x400+0+0 +repage "$RV_TMP/applet-$1.png"
		[ -n "${APPLET_SHOTS:-}" ] && cp "$RV_TMP/applet-$1.png" "$APPLET_SHOTS/"
	else
		fail "menu popped up for the $1 screenshot"
	fi
	kill -USR2 "$APPLET_PID"
	rv_wait_for 5 sh -c "[ \$(grep -c '^--- popup hidden' '$RV_TMP/applet.out') -gt $h ]"
}

# --- start before roamvpnd: the item registers, the model says it is absent --------
check "the applet registered its item with the panel" rv_wait_for 10 grep -q '^registered' "$RV_TMP/desktop.out"
check "model: daemon absent before roamvpnd starts" wait_model '^daemon absent'
check "panel shows the unprotected icon while roamvpnd is absent" rv_wait_for 5 icon_is roamvpn-unprotected
rv_start_daemon "$NS"
check "model: daemon running once it started" wait_model '^daemon running'
check "model: corp down while the link is down" wait_model '^tunnel corp state="down"'
check "model: overall unprotected" model_has '^overall unprotected'
check "panel shows the unprotected icon" rv_wait_for 5 icon_is roamvpn-unprotected
rv_desk menu
check "the menu offers 'Connect corp'" grep -qx "menu: Connect corp" "$RV_TMP/desk.reply"
check "the menu says not protected" grep -qx "menu: VPN: not protected" "$RV_TMP/desk.reply"
shot unprotected

# --- a link comes up: corp starts by itself, the applet follows and notifies -------
ip -n "$NS" link set lan0 up
ip -n "$NS" route add default via 10.78.0.1
check "corp up (daemon)" rv_wait_for 10 rv_tunnel_is corp up
check "model: corp up, triggered by lan0" wait_model '^tunnel corp state="up" .*triggered_by="lan0"'
check "model: lan0 decided by 50-untrusted-wire" wait_model '^link lan0 .*rule="50-untrusted-wire" decision="connect corp (kill switch)"'
check "model: overall protected" wait_model '^overall protected'
check "panel shows the protected icon" rv_wait_for 5 icon_is roamvpn-protected
check "notification: corp connected by itself" rv_wait_for 5 notified "VPN corp connected | Connected by itself: lan0"
rv_desk menu
check "the menu shows the network and its rule" grep -qx "menu: lan0 (ether): rule 50-untrusted-wire, connect corp (kill switch)" "$RV_TMP/desk.reply"
check "the menu offers 'Disconnect corp'" grep -qx "menu: Disconnect corp" "$RV_TMP/desk.reply"
check "model: lan0's kill switch lets only the tunnel out" wait_model '^link lan0 .*kill_switch="tunnel"'
rv_desk menu
check "the menu shows the kill switch" grep -qx "menu:     kill switch: only the tunnel may leave" "$RV_TMP/desk.reply"
shot protected

# --- connecting: a tunnel that never reports up -------------------------------------
check "clicking 'Connect slow' in the panel's menu" click "Connect slow"
check "slow is starting (daemon)" rv_wait_for 5 rv_tunnel_is slow starting
check "model: overall connecting" wait_model '^overall connecting'
shot connecting
check "clicking 'Disconnect slow'" click "Disconnect slow"
check "slow goes down" rv_wait_for 10 rv_tunnel_is slow down

# --- failed: its reason in the menu and in a notification --------------------------
check "clicking 'Connect lab'" click "Connect lab"
check "lab failed (daemon)" rv_wait_for 10 rv_tunnel_is lab failed
check "model: overall failed, with the reason" wait_model '^tunnel lab state="failed" .*last_error="[^"]'
check "model: overall failed" model_has '^overall failed'
check "notification: lab failed, with the reason" rv_wait_for 5 notified "VPN lab failed | ."
grep '^notify: VPN lab failed' "$RV_TMP/desktop.out" | sed 's/^/    /'
shot failed

# --- "Why?": roamvpnd's Explain in a window ------------------------------------------
check "clicking 'Why?…'" click "Why?…"
check "the Why? window shows the rule that decided for lan0" \
	rv_wait_for 10 grep -q '^--- explain shown ".*lan0.*50-untrusted-wire' "$RV_TMP/applet.out"
sleep 0.5	# drawing, not an assertion
check "screenshot of the Why? window" \
	import -display "$DISPLAY" -window root -crop 640x380+0+0 +repage "$RV_TMP/applet-why.png"
[ -n "${APPLET_SHOTS:-}" ] && cp "$RV_TMP/applet-why.png" "$APPLET_SHOTS/"

# --- menu items call the daemon: disconnect, pause, resume -------------------------
check "clicking 'Disconnect corp'" click "Disconnect corp"
check "corp goes down (daemon)" rv_wait_for 10 rv_tunnel_is corp down
check "model: corp down" wait_model '^tunnel corp state="down"'
# KillSwitch follows the tunnel's state with no event about the link itself.
check "daemon: lan0's kill switch closed again" sh -c "'$ROAMVPNCTL' --bus '$RV_BUS' --json links | jq -e '.. | objects | select(.Name? == \"lan0\") | select(.KillSwitch == \"closed\")' >/dev/null"
check "model: lan0's kill switch closed again (PropertiesChanged)" wait_model '^link lan0 .*kill_switch="closed"'
check "clicking 'Pause until the network changes'" click "Pause until the network changes"
check "model: paused" wait_model '^paused yes'
check "model: overall paused" model_has '^overall paused'
check "panel shows the paused icon" rv_wait_for 5 icon_is roamvpn-paused
shot paused
check "clicking 'Resume automatic connections'" click "Resume automatic connections"
check "model: resumed" wait_model '^paused no'
# Resume evaluates the rules at once, but a manual disconnect holds until the network changes.
check "model: corp stays down after resume (manual disconnect holds)" model_has '^tunnel corp state="down"'

# --- roamvpnd stops and starts again while the applet runs --------------------------
kill "$RV_DAEMON_PID"
check "model: daemon absent after roamvpnd stopped" wait_model '^daemon absent'
model >"$RV_TMP/model.away"
check "model: no tunnels while it is away" sh -c "grep -q '^daemon absent' '$RV_TMP/model.away' && ! grep -q '^tunnel' '$RV_TMP/model.away'"
check "panel shows the unprotected icon" rv_wait_for 5 icon_is roamvpn-unprotected
rv_desk menu
check "the menu says roamvpnd is not running" grep -qx "menu: roamvpnd is not running" "$RV_TMP/desk.reply"
shot stopped
rv_start_daemon "$NS"
check "model: daemon running again" wait_model '^daemon running'
check "model: corp back up after the restart" wait_model '^tunnel corp state="up"'

# --- a captive portal: the portal icon, a notification, "Log in" ----------------------
cat >"$RV_TMP/portal.py" <<'EOF'
import http.server
class Portal(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", "http://10.78.0.1:8080/login")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("10.78.0.1", 8080), Portal).serve_forever()
EOF
ip netns exec "$PEER" python3 "$RV_TMP/portal.py" >"$RV_TMP/portal.log" 2>&1 &
RV_PIDS+=($!)
check "the fake portal listens" rv_wait_for 10 sh -c "ip netns exec '$PEER' ss -ltn | grep -q '10.78.0.1:8080'"
printf 'PortalProbe=http://10.78.0.1:8080/generate_204\n' >>"$RV_TMP/etc/roamvpn.conf"
check "reload with a portal probe" rv_ctl reload
check "model: lan0 behind a portal" wait_model '^link lan0 .*portal="portal"'
check "model: overall portal" wait_model '^overall portal'
check "panel shows the portal icon" rv_wait_for 5 icon_is roamvpn-portal
check "notification: lan0 needs a login" rv_wait_for 5 notified "lan0 needs a login"
rv_desk menu
check "the menu offers the portal login" grep -qx "menu: Log in to the network on lan0…" "$RV_TMP/desk.reply"
shot portal
check "clicking 'Log in to the network on lan0…'" click "Log in to the network on lan0…"
check "roamvpnd opened the login window (OpenPortal)" \
	rv_wait_for 5 grep -q "portal login window on lan0" "$RV_TMP/daemon.log"
check "model: the kill switch is open for the login" wait_model '^link lan0 .*kill_switch="login-window"' 

# --- no polling: what the applet asked roamvpnd, over the whole run ------------------
# Its unique name on the system bus is the connection whose process is the applet.
applet_name() {
	local n p
	for n in $(dbus-send --bus="$RV_BUS" --print-reply --dest=org.freedesktop.DBus / \
			org.freedesktop.DBus.ListNames | grep -o '":[0-9.]*"' | tr -d '"'); do
		p=$(dbus-send --bus="$RV_BUS" --print-reply --dest=org.freedesktop.DBus / \
			org.freedesktop.DBus.GetConnectionUnixProcessID "string:$n" 2>/dev/null |
			awk '/uint32/ { print $2 }')
		[ "$p" = "$APPLET_PID" ] && echo "$n"
	done
}
AN=$(applet_name | head -1)
check "the applet's bus name found (${AN:-none})" [ -n "$AN" ]
# The member of every call from the applet to anyone but the bus itself.
awk -v s="sender=$AN " 'index($0, "method call") == 1 && index($0, s) &&
	!index($0, "destination=org.freedesktop.DBus ") {
		match($0, /member=[A-Za-z]+/); print substr($0, RSTART + 7, RLENGTH - 7) }' \
	"$RV_TMP/calls.log" | sort | uniq -c >"$RV_TMP/applet-calls.txt"
sed 's/^/    applet called: /' "$RV_TMP/applet-calls.txt"
calls_of() { awk -v m="$1" '$2 == m { n = $1 } END { print n + 0 }' "$RV_TMP/applet-calls.txt"; }
# roamvpnd appeared twice (start, restart): one snapshot each, and the manager's
# properties; polling would show as many more reads.
check "no polling: GetManagedObjects only when roamvpnd appeared ($(calls_of GetManagedObjects), at most 2)" \
	[ "$(calls_of GetManagedObjects)" -le 2 ]
check "no polling: property reads only when roamvpnd appeared ($(( $(calls_of Get) + $(calls_of GetAll) )), at most 4)" \
	[ $(( $(calls_of Get) + $(calls_of GetAll) )) -le 4 ]
check "one call per menu click: Connect 2, Disconnect 2, Pause 1, Resume 1, OpenPortal 1, Explain 1" \
	[ "$(calls_of Connect) $(calls_of Disconnect) $(calls_of Pause) $(calls_of Resume) $(calls_of OpenPortal) $(calls_of Explain)" = "2 2 1 1 1 1" ]

check "the applet logged no criticals" sh -c "! grep -q 'CRITICAL' '$RV_TMP/applet.err'"
sed 's/^/    applet: /' "$RV_TMP/applet.err" | grep -v '^    applet: $' | head -20
if [ "$RV_FAILED" -gt 0 ]; then
	echo "--- daemon log (tail)"; tail -40 "$RV_TMP/daemon.log"
	echo "--- applet model (last)"; model 2>/dev/null | sed 's/^/    /'
fi
rv_summary
