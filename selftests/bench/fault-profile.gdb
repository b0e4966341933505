# gdb commands for fault-profile.sh: stop at the probe's sched_yield(),
# then at the exception entry for its traced fault, and single-step that
# fault to its return, printing every program counter. Set by the caller:
# $probe_yield, $probe_entry, $probe_addr (and the remote target).
set pagination off
set confirm off
hbreak *$probe_yield
continue
delete
hbreak *$probe_entry if $cr2 == $probe_addr
continue
delete
set $probe_ret = *(unsigned long *)$rsp
set $probe_steps = 0
while $pc != $probe_ret && $probe_steps < 200000
  printf "PC %lx\n", $pc
  stepi
  set $probe_steps = $probe_steps + 1
end
printf "PC-END %d\n", $probe_steps
detach
quit
