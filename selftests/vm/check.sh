#!/bin/bash
# `make check`: build, run the host tests, check the kernel patches, run the
# selftests in the VM and the harness self-test, then print one closing
# "N passed, N failed" line. Exits non-zero on any failure, on a kernel
# report (BUG/WARNING/lockdep/...) in a guest log, or on a VM timeout.
#
# Environment: BUILD (command that builds everything), HOST_TESTS, KSRC,
# and run-vm.sh's KERNEL, INITRD, CPUS, MEM, TIMEOUT, LOGDIR.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
passed=0 failed=0

pass() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

echo "== build"
if ! eval "$BUILD"; then
	fail "build (see the messages above)"
	finish
fi
pass "build"

echo "== host tests"
for t in ${HOST_TESTS:-}; do
	if out=$("$t" 2>&1); then
		pass "host: $(basename "$t")"
	else
		echo "$out" | tail -30 | sed 's/^/#   /'
		fail "host: $(basename "$t")"
	fi
done

echo "== kernel patches"
for p in "$top"/kernel-patches/*.patch; do
	[ -e "$p" ] || continue
	if out=$(cd "$KSRC" && ./scripts/checkpatch.pl --no-tree --quiet \
		"$p" 2>&1); then
		pass "checkpatch: $(basename "$p")"
	else
		echo "$out" | head -30 | sed 's/^/#   /'
		fail "checkpatch: $(basename "$p")"
	fi
done

echo "== the series under a distro config (Debian's amd64 6.12)"
if out=$(make -s --no-print-directory -C "$top" check-distro 2>&1); then
	pass "distro config: mm/ arch/x86/mm/ kernel/locking/ kernel/bpf/ compile ($(echo "$out" | sed -n 's/^kernel-deb: done in //p'))"
else
	echo "$out" | tail -30 | sed 's/^/#   /'
	fail "distro config: the touched directories do not compile"
fi

echo "== kernel documentation"
for d in "$KSRC"/Documentation/mm/mmlock_ext.rst; do
	if out=$(python3 "$top/scripts/rst-check.py" "$d" 2>&1); then
		pass "rst: $(basename "$d")"
	else
		echo "$out" | head -20 | sed 's/^/#   /'
		fail "rst: $(basename "$d")"
	fi
done

# One VM run: the command's TAP output is folded into our counts.
vm_run() {
	local name=$1 cmd=$2 out rc p f tmp
	# Through a file: tee /dev/stderr would truncate a log file that
	# stdout and stderr both go to.
	tmp=$(mktemp)
	CMD="$cmd" "$here/run-vm.sh" 2>&1 | tee "$tmp"
	rc=${PIPESTATUS[0]}
	out=$(cat "$tmp")
	rm -f "$tmp"
	log=$(readlink -f "$LOGDIR/last.log")
	p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -1)
	f=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	case $rc in
	0) ;;
	124) fail "$name: VM timeout after ${TIMEOUT}s (log $log)" ;;
	125) fail "$name: VM died before the command finished (log $log)" ;;
	*) [ -n "$f" ] && [ "$f" != 0 ] || fail "$name: exit status $rc (log $log)" ;;
	esac
	if scan=$("$here/scan-log.sh" "$log"); then
		pass "$name: guest log free of kernel reports"
	else
		echo "$scan"
		fail "$name: kernel reports in the guest log"
	fi
}

echo "== selftests in the VM ($CPUS vCPUs)"
mkdir -p "$LOGDIR"
vm_run "vm selftests" "mmlock-selftests ${TESTS:-}"

echo "== harness self-test: a guest WARN and a failing command must be caught"
out=$(CMD='echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT; exit 3' \
	"$here/run-vm.sh" 2>&1)
rc=$?
log=$(readlink -f "$LOGDIR/last.log")
if [ "$rc" = 3 ]; then
	pass "harness: a failing guest command fails the run"
else
	fail "harness: guest 'exit 3' gave status $rc"
fi
if ! "$here/scan-log.sh" "$log" >/dev/null && grep -q 'WARNING:' "$log"; then
	pass "harness: an injected kernel WARN is detected"
else
	fail "harness: an injected kernel WARN went unnoticed (log $log)"
fi

# `make vm CMD=` passes any shell command: quotes, $, newlines.
out=$(make -s --no-print-directory -C "$top" vm CMD='printf "<%s>\n" "a  b" '\''$HOME'\''
echo second line; exit 4' 2>&1)
rc=$?
if [ "$rc" != 0 ] && echo "$out" | grep -qx 'mmlock-vm: exit status 4' &&
	echo "$out" | grep -qx '<a  b>' &&
	echo "$out" | grep -qx '<\$HOME>' && echo "$out" | grep -qx 'second line'; then
	pass "harness: make vm CMD= keeps quotes, \$ and newlines"
else
	echo "$out" | tail -5 | sed 's/^/#   /'
	fail "harness: make vm CMD= mangled its command (status $rc)"
fi
finish
