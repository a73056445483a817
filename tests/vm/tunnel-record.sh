#!/bin/sh
# Start= command of the VM test's exec tunnel "cafe": records the environment that
# roamvpnd gave it (ROAMVPN_SSID etc.) and the guest uptime at start, then stays
# running until the daemon stops it. Writes /tmp/tunnel.log and /tmp/tunnel.env.N.
n=$(( $(cat /tmp/tunnel.count 2>/dev/null || echo 0) + 1 ))
echo "$n" > /tmp/tunnel.count
env > /tmp/tunnel.env.tmp && mv /tmp/tunnel.env.tmp "/tmp/tunnel.env.$n"
echo "START $n $(cut -d' ' -f1 /proc/uptime) pid=$$ args=$*" >> /tmp/tunnel.log
child=
stop() {
	echo "STOP $n $(cut -d' ' -f1 /proc/uptime) signal=$1" >> /tmp/tunnel.log
	[ -n "$child" ] && kill "$child" 2>/dev/null
	exit 0
}
trap 'stop TERM' TERM
trap 'stop INT' INT
trap 'stop HUP' HUP
# Bounded: the whole VM run is shorter than this.
sleep 600 &
child=$!
wait "$child"
echo "EXPIRED $n $(cut -d' ' -f1 /proc/uptime)" >> /tmp/tunnel.log
