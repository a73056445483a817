# boot.sh - boot a VM test's image and count its checks (sourced by vm-*-test.sh, bash).
#
#   rv_vm_require NAME HINT PROG...  exits 77 (skip) unless root and every PROG is on
#                                 PATH; HINT says which packages to install.
#   rv_vm_image NAME OUT BUILD [ARG...]  runs build-initramfs.sh -o OUT -b BUILD ARG...
#                                 (its log in OUT.build.log), prints how long it took and
#                                 sets T0 and T1; a failed build prints the log and
#                                 "NAME: 0 passed, 1 failed" and exits 1.
#   rv_vm_boot OUT TIMEOUT_S T1   boots OUT/vmlinuz + OUT/initramfs.cpio.gz under qemu
#                                 (KVM if accel.sh's probe shows it works, else TCG) and
#                                 writes the console to OUT/console.log, each line with
#                                 the host's seconds since T1 (microseconds, EPOCHREALTIME
#                                 without the dot). Sets LOG, ACCEL, RC (qemu's exit), T2.
#   rv_vm_tally                   prints the guest's marks and failed checks and sets
#                                 PASSED and FAILED ("@@RVTEST ok|FAIL NAME" lines), counting
#                                 a guest that did not finish or ran fewer than 5 checks
#                                 as a failure.
rv_vm_require() {
  local name=$1 hint=$2 p
  shift 2
  [ "$(id -u)" = 0 ] || { echo "SKIP: $name needs root"; exit 77; }
  for p in "$@"; do
    command -v "$p" >/dev/null || { echo "SKIP: missing $p (install: $hint)"; exit 77; }
  done
}

rv_vm_image() {
  local name=$1 out=$2 build=$3
  shift 3
  T0=${EPOCHREALTIME/./}
  mkdir -p "$out"
  if ! HERE="$(dirname "${BASH_SOURCE[0]}")" "$(dirname "${BASH_SOURCE[0]}")/build-initramfs.sh" \
       -o "$out" -b "$build" "$@" > "$out.build.log" 2>&1; then
    cat "$out.build.log"
    echo "$name: 0 passed, 1 failed (image build failed)"
    exit 1
  fi
  T1=${EPOCHREALTIME/./}
  printf 'image built in %.1fs: %s\n' "$(( T1 - T0 ))e-6" "$(tail -1 "$out.build.log")"
}

rv_vm_boot() {
  local out=$1 tmo=$2 t1=$3
  LOG=$out/console.log
  . "$(dirname "${BASH_SOURCE[0]}")/accel.sh"
  rv_vm_accel "$out/vmlinuz"
  ACCEL=$RV_ACCEL
  echo "accelerator: $ACCEL ($RV_ACCEL_WHY)"
  # -nic none: the guest needs no network device. panic=-1 and -no-reboot make a dying
  # init end qemu instead of hanging it; timeout bounds the rest.
  timeout --kill-after=10 "$tmo" qemu-system-x86_64 \
      -M pc -accel "$ACCEL" -smp 2 -m 768 \
      -kernel "$out/vmlinuz" -initrd "$out/initramfs.cpio.gz" \
      -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
      -display none -vga none -monitor none -serial stdio -nic none -no-reboot </dev/null 2>&1 |
  while IFS= read -r line; do
      line=${line%$'\r'}
      now=${EPOCHREALTIME/./}
      printf '%9.3f %s\n' "$(( now - t1 ))e-6" "$line"
  done > "$LOG"
  RC=${PIPESTATUS[0]}
  T2=${EPOCHREALTIME/./}
}

rv_vm_tally() {
  grep -E '@@RVTEST(-MARK)? ' "$LOG" | cut -d' ' -f2- | grep -v '^@@RVTEST ok' || true
  echo "----"
  PASSED=$(grep -c '@@RVTEST ok ' "$LOG")
  FAILED=$(grep -c '@@RVTEST FAIL ' "$LOG")
  if ! grep -q '@@RVTEST-MARK .* END' "$LOG"; then
    echo "FAIL: the guest did not finish (qemu exit $RC; see $LOG)"
    FAILED=$((FAILED + 1))
  fi
  if [ "$PASSED" -lt 5 ]; then
    echo "FAIL: only $PASSED checks ran (see $LOG)"
    FAILED=$((FAILED + 1))
  fi
}
