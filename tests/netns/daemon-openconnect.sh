#!/bin/bash
# daemon-openconnect.sh - roamvpnd's openconnect plugin against a REAL ocserv (the
# AnyConnect-compatible server) in a namespace: a certificate this test makes, pinned
# with ServerCert=pin-sha256:..., a plain password file, pushed route, DNS and default
# domain. The rule brings the tunnel up on link up; what the server pushed (through
# openconnect's vpnc-script environment, reported by roamvpn-hook) is applied by the
# daemon; a ping reaches a host behind the server; the password is in no command line,
# environment or log; link down restores everything byte for byte; a wrong password
# (not retried) and a wrong certificate pin are named in LastError; --check refuses
# bad values.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/plugin-lib.sh"
rv_require_root
for p in ocserv openconnect openssl ping ss; do
	command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
rv_plugin_setup rvocon openconnect
PASSWORD='oc s3cret$(touch /tmp/x)'
WRONG='not-the-password'

C=rvocon-cli-$$; S=rvocon-srv-$$
rv_gateway_pair "$C" "$S" ocs0

# ---- the server: ocserv with a test certificate and a plain password file ------------
W=$RV_TMP/srv; mkdir -p "$W"
rv_test_pki "$W" rvocon-ca 10.77.0.2 $'extendedKeyUsage=serverAuth\nsubjectAltName=IP:10.77.0.2'
PIN=pin-sha256:$(openssl x509 -in "$W/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
	openssl dgst -sha256 -binary | base64)
# ocserv's plain[passwd=] file: user:group:crypt(3) hash
printf 'alice:*:%s\n' "$(openssl passwd -5 "$PASSWORD")" >"$W/passwd"
cat >"$W/ocserv.conf" <<EOF
auth = "plain[passwd=$W/passwd]"
tcp-port = 4443
udp-port = 4443
listen-host = 10.77.0.2
socket-file = $W/ocserv.sock
server-cert = $W/server.crt
server-key = $W/server.key
isolate-workers = false
max-clients = 4
max-same-clients = 4
keepalive = 300
dpd = 60
try-mtu-discovery = false
device = vpns
ipv4-network = 10.77.9.0/24
dns = 10.77.2.53
default-domain = corp.example
route = 10.77.2.0/24
pid-file = $W/ocserv.pid
use-occtl = false
cisco-client-compat = true
EOF
ip netns exec "$S" ocserv -f -d 1 -c "$W/ocserv.conf" >"$W/ocserv.log" 2>&1 &
RV_PIDS+=($!)
rv_wait_for 10 sh -c "ip netns exec $S ss -ltn | grep -q '10.77.0.2:4443'" ||
	{ echo "FAIL: ocserv did not start"; tail -5 "$W/ocserv.log"; exit 1; }

mkdir -p "$RV_TMP/etc/tunnels" "$RV_TMP/etc/rules" "$RV_TMP/state"
write_tunnel() {   # write_tunnel DIR PASSWORD PIN
	(umask 077; cat >"$1/tunnels/corp.conf") <<EOF
[Tunnel]
Backend=openconnect
[openconnect]
Server=https://10.77.0.2:4443/
Protocol=anyconnect
Username=alice
Password=$2
ServerCert=$3
EOF
}
write_tunnel "$RV_TMP/etc" "$PASSWORD" "$PIN"
rv_check_accepts "the [openconnect] tunnel"

bad_conf() { rv_plugin_refuses "$PASSWORD" "$@"; }
for server in "-vpn.example" "vpn.example;id" "https://vpn.example:99999/" "vpn example" "ftp://vpn.example"; do
	bad_conf "Server='$server' refused" "corp.conf:4: Server=" "[Tunnel]
Backend=openconnect
[openconnect]
Server=$server"
done
bad_conf "Protocol=ipsec refused" "corp.conf:5: Protocol=" "[Tunnel]
Backend=openconnect
[openconnect]
Server=vpn.example
Protocol=ipsec"
bad_conf "a truncated pin refused" "corp.conf:5: ServerCert=" "[Tunnel]
Backend=openconnect
[openconnect]
Server=vpn.example
ServerCert=pin-sha256:abc"
bad_conf "Password= without Username=" "corp.conf:3: \[openconnect\] needs both Username= and Password=" "[Tunnel]
Backend=openconnect
[openconnect]
Server=vpn.example
Password=$PASSWORD"

# ---- the daemon ---------------------------------------------------------------------
rv_corp_on_lan0 'BackoffInitialMs=3000\n'
rv_start_bus
rv_start_daemon "$C"
state_is_not() { [ "$(field State)" != "$1" ]; }

rv_link_up_tunnel_up "$C" 30 "tunnel up through openconnect"
check "device named after the tunnel: '$(field Interface)'" [ "$(field Interface)" = corp ]
check "pushed address on corp (10.77.9.x)" sh -c "ip -n $C -4 addr show dev corp | grep -q 'inet 10.77.9.'"
check "pushed route 10.77.2.0/24 through corp" sh -c "ip -n $C route show 10.77.2.0/24 | grep -q 'dev corp'"
check "no default route through the tunnel (split)" sh -c "! ip -n $C route show default | grep -q corp"
check "pushed DNS server in resolv.conf" grep -q '^nameserver 10.77.2.53' "$RV_TMP/resolv.conf"
check "pushed domain in resolv.conf" grep -q 'corp.example' "$RV_TMP/resolv.conf"
check "ping the host behind the server through the tunnel" ip netns exec "$C" ping -c 2 -W 2 -i 0.3 10.77.2.1
pid=$(running openconnect)
check "openconnect runs (pid ${pid:-none})" [ -n "$pid" ]
check "the password is not in openconnect's command line" sh -c "! tr '\\0' '\\n' </proc/$pid/cmdline | grep -qF 's3cret'"
check "the password is not in openconnect's environment" sh -c "! tr '\\0' '\\n' </proc/$pid/environ | grep -qF 's3cret'"
check "the password is not in the daemon log" sh -c "! grep -qF 's3cret' '$RV_TMP/daemon.log'"

ip -n "$C" link set lan0 down
check "tunnel down after link down" rv_wait_for 15 rv_tunnel_is corp down
check "openconnect gone" rv_wait_for 10 gone openconnect
check "pushed route removed" sh -c "! ip -n $C route show 10.77.2.0/24 | grep -q ."
check "resolv.conf restored byte for byte" cmp -s "$RV_TMP/resolv.conf" "$RV_TMP/resolv.conf.orig"

# ---- a wrong pin, then a wrong password: named --------------------------------------
try_and_name() {   # try_and_name DESCRIPTION LASTERROR-TEXT
	rv_plugin_up_names "$1" "$2"
	check "$1: tunnel not up" state_is_not up
	ip -n "$C" link set lan0 down
	rv_wait_for 10 gone openconnect
}
write_tunnel "$RV_TMP/etc" "$PASSWORD" "pin-sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
try_and_name "a wrong certificate pin is refused" "does not match ServerCert="
write_tunnel "$RV_TMP/etc" "$WRONG" "$PIN"
logins() { grep -c "using 'plain' authentication to authenticate user" "$W/ocserv.log"; }
before=$(logins)
try_and_name "a wrong password is named" "authentication failed"
ip -n "$C" link set lan0 up
sleep 7	# two backoff steps (BackoffInitialMs=3000) in which a retry would come
n=$(( $(logins) - before ))
check "exactly one login with the wrong password in ~7 s of link up (no retry after an auth failure; saw $n)" [ "$n" = 1 ]
ip -n "$C" link set lan0 down

[ "$RV_FAILED" = 0 ] || { echo "---- daemon log"; tail -60 "$RV_TMP/daemon.log"; }
rv_summary
