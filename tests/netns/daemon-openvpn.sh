#!/bin/bash
# daemon-openvpn.sh - roamvpnd's openvpn plugin against a REAL OpenVPN 2.6 server in a
# namespace: TLS with a CA this test makes, tls-crypt, username/password checked by a
# script on the server (auth-user-pass-verify), a pushed route and dhcp-option DNS and
# DOMAIN. The rule brings the tunnel up on link up; the pushed route, DNS and domain
# are applied by the daemon (OpenVPN runs with --route-noexec and roamvpn-hook); a
# ping reaches a host behind the server; the password is in no command line,
# environment or log; link down restores everything byte for byte; a wrong password
# is named in LastError and not retried; a server that pushes no route gives a full
# tunnel (default route through it, the server kept outside); --check refuses a bad
# [openvpn].
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"
rv_require_root
for p in openvpn openssl ping; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
rv_plugin_setup rvovpn openvpn
PASSWORD='ov s3cret$(touch /tmp/x)'	# blanks and shell syntax: must arrive as bytes
WRONG='not-the-password'

C=rvovpn-cli-$$; S=rvovpn-srv-$$
rv_gateway_pair "$C" "$S" ovs0

# ---- the server: a throw-away PKI, tls-crypt, password check -------------------------
W=$RV_TMP/srv; mkdir -p "$W"
rv_test_pki "$W" rvovpn-ca server $'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyAgreement'
openvpn --genkey tls-crypt "$W/tc.key" >/dev/null 2>&1
[ -s "$W/tc.key" ] || { echo "FAIL: tls-crypt key"; exit 1; }
printf '%s\n' "$PASSWORD" >"$W/password"
cat >"$W/check-pass.sh" <<EOF
#!/bin/sh
# auth-user-pass-verify via-file: \$1 holds the username and the password, one a line
[ "\$(sed -n 1p "\$1")" = alice ] && [ "\$(sed -n 2p "\$1")" = "\$(cat $W/password)" ]
EOF
chmod 755 "$W/check-pass.sh"
cat >"$W/server.conf" <<EOF
dev tun
proto udp
local 10.77.0.2
port 1194
topology subnet
server 10.77.8.0 255.255.255.0
ca $W/ca.crt
cert $W/server.crt
key $W/server.key
dh none
tls-crypt $W/tc.key
verify-client-cert none
username-as-common-name
script-security 2
auth-user-pass-verify $W/check-pass.sh via-file
tmp-dir $W
push "route 10.77.2.0 255.255.255.0"
push "dhcp-option DNS 10.77.2.53"
push "dhcp-option DOMAIN corp.example"
keepalive 10 60
verb 3
EOF
# A second server on port 1195 that pushes no route (a provider's full tunnel: OpenVPN
# tells scripts nothing about redirect-gateway, so no route pushed means everything).
sed -e 's/^port 1194$/port 1195/' -e 's/^server 10.77.8.0 /server 10.77.18.0 /' \
	-e '/^push "route /d' "$W/server.conf" >"$W/full.conf"
for conf in server full; do
	ip netns exec "$S" openvpn --config "$W/$conf.conf" --log "$W/$conf.log" &
	RV_PIDS+=($!)
	rv_wait_for 10 grep -q 'Initialization Sequence Completed' "$W/$conf.log" ||
		{ echo "FAIL: OpenVPN server $conf did not start"; tail -5 "$W/$conf.log"; exit 1; }
done

# ---- the client: an .ovpn as a provider gives it, used as is ------------------------
mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state" "$RV_TMP/ovpn"
cp "$W/ca.crt" "$W/tc.key" "$RV_TMP/ovpn/"
cat >"$RV_TMP/ovpn/corp.ovpn" <<EOF
client
dev tun
proto udp
remote 10.77.0.2 1194
nobind
ca $RV_TMP/ovpn/ca.crt
tls-crypt $RV_TMP/ovpn/tc.key
remote-cert-tls server
auth-user-pass
verb 3
EOF
sed 's/^remote 10.77.0.2 1194$/remote 10.77.0.2 1195/' "$RV_TMP/ovpn/corp.ovpn" >"$RV_TMP/ovpn/full.ovpn"
chmod 644 "$RV_TMP/ovpn/corp.ovpn" "$RV_TMP/ovpn/full.ovpn"
write_tunnel() {   # write_tunnel DIR PASSWORD [OVPN]
	(umask 077; cat >"$1/tunnels/corp.conf") <<EOF
[Tunnel]
Backend=openvpn
[openvpn]
Config=$RV_TMP/ovpn/${3:-corp}.ovpn
Username=alice
Password=$2
EOF
}
write_tunnel "$RV_TMP/etc" "$PASSWORD"
rv_check_accepts "the [openvpn] tunnel"

# --check: what must be refused, with FILE:LINE and without the password
bad_conf() { rv_plugin_refuses "$PASSWORD" "$@"; }
bad_conf "Config= missing" 'corp.conf:[0-9]+: .*Config=' "[Tunnel]
Backend=openvpn
[openvpn]
Username=alice
Password=$PASSWORD"
bad_conf "Password= without Username=" 'corp.conf:3: \[openvpn\] needs both Username= and Password=' "[Tunnel]
Backend=openvpn
[openvpn]
Config=$RV_TMP/ovpn/corp.ovpn
Password=$PASSWORD"
bad_conf "a relative Config=" "corp.conf:4: Config=: 'corp.ovpn' is not an absolute path" "[Tunnel]
Backend=openvpn
[openvpn]
Config=corp.ovpn"
cp -p "$RV_TMP/ovpn/corp.ovpn" "$RV_TMP/ovpn/open.ovpn"; chmod 666 "$RV_TMP/ovpn/open.ovpn"
bad_conf "a world-writable .ovpn (it names programs run as root)" "corp.conf:4: Config=: .* is writable by group or others" "[Tunnel]
Backend=openvpn
[openvpn]
Config=$RV_TMP/ovpn/open.ovpn"

# ---- the daemon ---------------------------------------------------------------------
rv_corp_on_lan0 'BackoffInitialMs=3000\n'
rv_start_bus
rv_start_daemon "$C"

rv_link_up_tunnel_up "$C" 30 "tunnel up through OpenVPN"
dev=$(field Interface)
check "device reported: '$dev'" [ -n "$dev" ]
check "pushed address on $dev (10.77.8.x/24, ifconfig by OpenVPN)" sh -c "ip -n $C -4 addr show dev '$dev' | grep -q 'inet 10.77.8.[0-9]*/24'"
check "pushed route 10.77.2.0/24 through $dev (applied by the daemon)" sh -c "ip -n $C route show 10.77.2.0/24 | grep -q 'dev $dev'"
check "no default route through the tunnel (split)" sh -c "! ip -n $C route show default | grep -q '$dev'"
check "pushed DNS server in resolv.conf" grep -q '^nameserver 10.77.2.53' "$RV_TMP/resolv.conf"
check "pushed domain in resolv.conf" grep -q 'corp.example' "$RV_TMP/resolv.conf"
check "ping the host behind the server through the tunnel" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.1
pid=$(ip netns pids "$C" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = openvpn ] && echo "$p"; done | head -1)
check "openvpn runs (pid ${pid:-none})" [ -n "$pid" ]
check "the password is not in openvpn's command line" sh -c "! tr '\\0' '\\n' </proc/$pid/cmdline | grep -qF 's3cret'"
check "the password is not in openvpn's environment" sh -c "! tr '\\0' '\\n' </proc/$pid/environ | grep -qF 's3cret'"
check "the password is not in the daemon log" sh -c "! grep -qF 's3cret' '$RV_TMP/daemon.log'"
check "the server accepted alice's password" grep -q "Peer Connection Initiated" "$W/server.log"

ip -n "$C" link set lan0 down
check "tunnel down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "openvpn gone" rv_wait_for 10 sh -c "! ip netns pids $C | xargs -r -n1 -I{} cat /proc/{}/comm 2>/dev/null | grep -qx openvpn"
check "pushed route removed" sh -c "! ip -n $C route show 10.77.2.0/24 | grep -q ."
check "resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

# ---- a wrong password: named, and not retried ---------------------------------------
write_tunnel "$RV_TMP/etc" "$WRONG"
refusals() { grep -c 'Auth Username/Password verification failed' "$W/server.log"; }
before=$(refusals)
rv_plugin_up_names "LastError names the refused password" "authentication failed"
sleep 7	# two backoff steps (BackoffInitialMs=3000) during which a retry would happen
n=$(( $(refusals) - before ))
check "exactly one attempt with the wrong password in ~7 s (no retry after an auth failure; saw $n)" [ "$n" = 1 ]
check "tunnel not up with the wrong password" sh -c "[ \"\$('$ROAMVPNCTL' --bus '$RV_BUS' --json tunnels | jq -r '.. | objects | select(.Name? == \"corp\") | .State' | head -1)\" != up ]"
ip -n "$C" link set lan0 down

# ---- a server that pushes no route: a full tunnel -----------------------------------
write_tunnel "$RV_TMP/etc" "$PASSWORD" full
rv_ctl reload >/dev/null
sleep 0.5
rv_link_up_tunnel_up "$C" 30 "full tunnel: up through the second server"
dev=$(field Interface)
check "full tunnel: any address (192.0.2.1) is routed through $dev" sh -c "ip -n $C route get 192.0.2.1 | grep -q 'dev $dev'"
check "full tunnel: the server itself is still reached outside the tunnel" \
	sh -c "ip -n $C route get 10.77.0.2 | grep -q 'dev lan0'"
check "full tunnel: ping the host behind the server" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.1
ip -n "$C" link set lan0 down
check "full tunnel: down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "full tunnel: routes removed (192.0.2.1 no longer through $dev)" sh -c "! ip -n $C route get 192.0.2.1 2>/dev/null | grep -q 'dev $dev'"
check "full tunnel: resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -60 "$RV_TMP/daemon.log"; }
rv_summary
