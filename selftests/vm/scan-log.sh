#!/bin/bash
# Scan a guest serial log for kernel reports: exit 1 and print them if any
# BUG/WARNING/Oops/panic/lockdep/KASAN/hung-task/RCU-stall report is found.
log=${1:?usage: scan-log.sh LOG}
pattern='BUG:|WARNING:|Oops|Kernel panic|KASAN|UBSAN|lockdep is turned off|DEBUG_LOCKS_WARN_ON|'
pattern+='circular locking dependency|inconsistent lock state|INFO: task .* blocked|'
pattern+='rcu.*detected stalls|general protection fault|kernel BUG at'
hits=$(grep -nE "$pattern" "$log")
if [ -n "$hits" ]; then
	echo "scan-log: kernel reports in $log:"
	echo "$hits" | head -20 | sed 's/^/    /'
	exit 1
fi
exit 0
