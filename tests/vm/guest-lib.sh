# guest-lib.sh - what the VM tests' /init scripts share (guest-init.sh for Wi-Fi,
# pptp-guest-init.sh for PPTP); build-initramfs.sh puts it at /etc/rvtest/guest-lib.sh
# and they source it. busybox sh: POSIX only.
#
# Each check prints one line, "@@RVTEST ok NAME" or "@@RVTEST FAIL NAME: why", and the
# host (boot.sh) counts them. Every wait has a deadline on /proc/uptime: under TCG each
# poll is slow, so counting polls lies.

# guest_mounts: what PID 1 has to mount before anything else runs.
guest_mounts() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /run /tmp /var/run
	mount -t tmpfs tmpfs /run
	mount -t tmpfs tmpfs /tmp
	# The kernel loads modules on demand (ccm/ctr for WPA2, ppp_mppe's ciphers).
	echo /sbin/modprobe > /proc/sys/kernel/modprobe
	echo 4 > /proc/sys/kernel/printk
}

up() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "@@RVTEST-MARK $(up) $*"; }
ok() { echo "@@RVTEST ok $1"; }
fail() { echo "@@RVTEST FAIL $1: $2"; }
check() {   # check NAME WHY-IF-NOT COMMAND...
	name=$1; why=$2; shift 2
	if "$@" >/dev/null 2>&1; then ok "$name"; return 0; fi
	fail "$name" "$why"; return 1
}
# wait_for SECONDS COMMAND...: 0 when COMMAND succeeds before the deadline, else 1.
wait_for() {
	t=$1; shift
	u=$(up); deadline=$(( ${u%.*} + t ))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		u=$(up); [ "${u%.*}" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# guest_bus: a private system bus for roamvpnd that every local user may use (the
# guest runs everything as root); its address in BUS. 1 when it did not come up.
guest_bus() {
	mkdir -p /etc/rvtest /run/dbus
	cat > /etc/rvtest/dbus.conf <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/rvtest-bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOC
	BUS=unix:path=/run/dbus/rvtest-bus
	dbus-daemon --config-file=/etc/rvtest/dbus.conf --fork --nopidfile || return 1
	wait_for 10 test -S /run/dbus/rvtest-bus
}
