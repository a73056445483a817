#!/usr/bin/env python3
"""engine-profile-classify.py - where the engine's CPU goes, from a perf profile.

Not a test: a helper for the profile in docs/engine.md. Record both engines during a
bench run and classify every sample by its leaf frame and the system call on its stack:

    perf record -F 997 -g -p PID_A,PID_B -o engine.data -- sleep 6
    perf script -i engine.data -F comm,tid,period,ip,sym,dso > engine.txt
    python3 bench/engine-profile-classify.py engine.txt [CPU_SECONDS_PER_GB]

With the run's CPU-seconds per GB (bench/engine-throughput.sh prints it) each class is
also given in ns per byte and in microseconds per 64 KiB superpacket (both ends).
Kernel frames are named by function because the kernel inlines its __x64_sys_* entries.
"""
import collections
import re
import sys

COPY = re.compile(r'copy_user|_copy_from_iter|_copy_to_iter|copy_to_user|copy_from_user|rep_movs|'
                  r'memcpy|memmove|copy_page|skb_copy_datagram|csum_and_copy|__memset|clear_page|memset_orig')
SCHED = re.compile(r'finish_task_switch|__schedule|schedule|pick_next|switch_mm|__switch_to|enqueue_task|'
                   r'dequeue_task|update_curr|try_to_wake_up|ttwu|select_task_rq|psi_|update_load|sched_|'
                   r'__wake_up|native_sched_clock|switch_fpu|restore_fpregs|xsave|xrstor|fpu|ipi|irq|apic',
                   re.IGNORECASE)
# (kernel function on the stack, what it is); first match wins
SYSCALLS = [('__sys_sendmmsg', 'UDP send'), ('__sys_sendto', 'UDP send'), ('__sys_sendmsg', 'UDP send'),
            ('__sys_recvmmsg', 'UDP receive'), ('do_recvmmsg', 'UDP receive'), ('__sys_recvmsg', 'UDP receive'),
            ('tun_chr_read_iter', 'TUN read'), ('tun_chr_write_iter', 'TUN write'),
            ('do_sys_poll', 'poll'), ('do_epoll_wait', 'poll'), ('do_futex', 'futex'),
            ('do_sched_yield', 'sched_yield')]


def samples(path):
    cur = None
    for line in open(path, errors='replace'):
        if not line.strip():
            if cur:
                yield cur
            cur = None
            continue
        if cur is None:
            cur = []
            continue
        m = re.match(r'\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$', line)
        if m:
            cur.append((m.group(1), m.group(2)))
    if cur:
        yield cur


def classify(frames):
    sym, dso = frames[0]
    stack = ' '.join(f[0] for f in frames)
    call = next((name for fn, name in SYSCALLS if re.search(r'\b' + fn + r'\b', stack)), None)
    if 'libcrypto' in dso or 'libsodium' in dso:
        return 'cipher (OpenSSL/libsodium)'
    if 'libc' in dso:
        if re.search(r'mem(move|cpy|set)', sym):
            return 'user: libc memmove/memset'
        if 'spin' in sym or 'rwlock' in sym or 'mutex' in sym:
            return 'user: locks'
        return 'user: other libc'
    if 'kernel' in dso:
        if COPY.search(sym):
            return 'kernel copy: ' + (call or 'other')
        if SCHED.search(sym):
            return 'scheduling, wake-ups, IPIs, interrupts'
        return 'kernel: ' + (call or 'other')
    if 'csum' in sym:
        return 'user: copy + checksum of the TSO split'
    return 'user: engine logic'


def main():
    count = collections.Counter(classify(f) for f in samples(sys.argv[1]) if f)
    total = sum(count.values())
    per_byte = float(sys.argv[2]) if len(sys.argv) > 2 else None
    print('%d samples' % total)
    for name, n in count.most_common():
        share = n / total
        extra = ''
        if per_byte:
            extra = '  %6.3f ns/B  %6.1f us/64KiB' % (share * per_byte, share * per_byte * 65536 / 1000)
        print('%6.1f %%%s  %s' % (100 * share, extra, name))


if __name__ == '__main__':
    main()
