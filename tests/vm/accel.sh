# accel.sh - choose qemu's accelerator for the VM tests (sourced, bash).
#
#   rv_vm_accel KERNEL [TIMEOUT_S]   sets RV_ACCEL to kvm or tcg and RV_ACCEL_WHY to a sentence
#
# A writable /dev/kvm is not proof that KVM works: on some hosts (nested virtualisation
# with a partial CPU model) qemu starts, SeaBIOS even runs, and the guest kernel never
# prints a line, so a test waiting for its boot marker hangs until its own timeout.
# The probe boots the test's own kernel without an initramfs: a working KVM reaches the
# kernel's "cannot mount root" panic in about a second; panic=-1 and -no-reboot then end
# qemu. Anything else within TIMEOUT_S (default 20) means TCG.
# RV_VM_ACCEL=kvm|tcg in the environment skips the probe.

rv_vm_accel() {
	local kernel=$1 tmo=${2:-20} out
	if [ -n "${RV_VM_ACCEL:-}" ]; then
		RV_ACCEL=$RV_VM_ACCEL
		RV_ACCEL_WHY="RV_VM_ACCEL=$RV_VM_ACCEL set by the caller"
		return 0
	fi
	RV_ACCEL=tcg
	if [ ! -w /dev/kvm ]; then
		RV_ACCEL_WHY="/dev/kvm is missing or not writable"
		return 0
	fi
	out=$(timeout --kill-after=5 "$tmo" qemu-system-x86_64 -M pc -accel kvm -smp 1 -m 256 \
		-kernel "$kernel" -append "console=ttyS0 panic=-1 loglevel=4" \
		-display none -vga none -monitor none -serial stdio -nic none -no-reboot \
		</dev/null 2>/dev/null)
	if printf '%s\n' "$out" | grep -q -e 'Kernel panic' -e 'VFS: Unable to mount root'; then
		RV_ACCEL=kvm
		RV_ACCEL_WHY="KVM probe booted the kernel to its root-mount panic"
	elif printf '%s\n' "$out" | grep -q 'Linux version'; then
		RV_ACCEL_WHY="KVM probe: the kernel started but did not finish booting within ${tmo}s"
	else
		RV_ACCEL_WHY="KVM probe: /dev/kvm is writable but the kernel printed nothing within ${tmo}s"
	fi
}
