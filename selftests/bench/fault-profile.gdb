# gdb commands for fault-profile.sh: stop at the probe's sched_yield(),
# then at the entry of the traced operation (exc_page_fault with CR2 at
# the probe's address, or a syscall whose pt_regs->di is that address),
# and single-step it to its return, printing every program counter. Set
# by the caller: $probe_yield, $probe_entry, $probe_addr, $probe_syscall
# (and the remote target).
set pagination off
set confirm off
hbreak *$probe_yield
continue
delete
if $probe_syscall
  hbreak *$probe_entry if *(unsigned long *)($rdi + 112) == $probe_addr
else
  hbreak *$probe_entry if $cr2 == $probe_addr
end
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
