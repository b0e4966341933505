# mmlock_ext: pluggable mmap-lock policies for Linux 6.12 as BPF struct_ops.
#
# From a fresh Debian 12 machine (root):
#   make demo     build everything, boot the VM, show a policy working
#   make check    host tests, then the selftests in the VM (debug kernel)
#   make vm       interactive shell in the VM   (CMD='...' runs a command)
#   make help     everything else
SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:

TOP := $(CURDIR)
B ?= $(TOP)/build
FLAVOUR ?= debug
JOBS ?= $(shell nproc)
CPUS ?= 2
MEM ?= 1G
TIMEOUT ?= 1800

KSRC := $(B)/linux
O := $(B)/$(FLAVOUR)
KOBJ := $(O)/kernel
BZIMAGE := $(KOBJ)/arch/x86/boot/bzImage
VMLINUX := $(KOBJ)/vmlinux
VMLINUX_H := $(O)/include/vmlinux.h
TOOLS := $(B)/tools
BPFTOOL := $(TOOLS)/bpftool
LIBBPF_A := $(TOOLS)/libbpf/libbpf.a
LIBBPF_INC := $(TOOLS)/libbpf/include
INITRAMFS := $(O)/initramfs.cpio.gz

CLANG ?= clang-19
CC := gcc
CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation \
	-std=gnu11 -D_GNU_SOURCE \
	-I$(TOP)/include -I$(B)/uapi -I$(LIBBPF_INC) -I$(O)/skel
LDLIBS := $(LIBBPF_A) -lelf -lz -lzstd -lpthread
BPF_CFLAGS := -g -O2 --target=bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall \
	-Wno-missing-declarations -I$(O)/include -I$(TOP)/include -I$(LIBBPF_INC)

POLICY_SRCS := $(wildcard bpf-policies/*.bpf.c)
POLICY_OBJS := $(patsubst bpf-policies/%.bpf.c,$(O)/policies/%.bpf.o,$(POLICY_SRCS))
GUEST_TEST_SRCS := $(wildcard selftests/guest/*.c)
GUEST_BPF_SRCS := $(wildcard selftests/guest/*.bpf.c)
GUEST_TEST_C := $(filter-out %.bpf.c,$(GUEST_TEST_SRCS))
GUEST_TEST_OBJS := $(patsubst selftests/guest/%.c,$(O)/obj/guest/%.o,$(GUEST_TEST_C))
GUEST_SKELS := $(patsubst selftests/guest/%.bpf.c,$(O)/skel/%.skel.h,$(GUEST_BPF_SRCS))
GUEST_BPF_OBJS := $(patsubst selftests/guest/%.bpf.c,$(O)/obj/guest/%.bpf.o,$(GUEST_BPF_SRCS))
HOST_TESTS := $(patsubst selftests/host/%.c,$(B)/host/%,$(wildcard selftests/host/*.c))
include selftests/host/range_rwlock/rules.mk
include selftests/mm/rules.mk
LOADER_SRCS := $(wildcard loader/*.c)
GUEST_BINS := $(O)/bin/mmlock $(O)/bin/mmlock-selftests $(O)/bin/mmlock-workload \
	$(O)/bin/mmlock-bench $(O)/bin/mmlock-stress $(O)/bin/mmlock-fault-probe

.PHONY: all deps tree kernel tools policies initramfs vm demo check check-fresh check-distro kernel-deb bench bench-cost bench-profile \
	kernel-patches kernel-tree-reset clean distclean help
all: initramfs

help:
	@sed -n '2,/^SHELL/p' Makefile | sed '$$d;s/^# \{0,1\}//'
	@echo 'Variables: FLAVOUR=debug|perf CPUS=$(CPUS) MEM=$(MEM) TIMEOUT=$(TIMEOUT)s (VM), CMD=, ADD='
	@echo 'Other targets: kernel tools policies initramfs bench (BENCH_REPS=, BENCH_SECONDS=)'
	@echo '  bench-cost (exact instructions per fault/op, every policy, patch-free kernel), bench-rangelock'
	@echo '  bench-profile (one fault single-stepped: instructions per kernel function, every policy)'
	@echo '  kernel-patches (export the kernel tree commits), kernel-tree-reset, clean'

deps:
	@scripts/install-deps.sh

# --- kernel -------------------------------------------------------------
tree: deps
	@scripts/kernel-tree.sh $(KSRC)

kernel: tree
	@JOBS=$(JOBS) scripts/kernel-build.sh $(KSRC) $(KOBJ) $(FLAVOUR)
$(BZIMAGE): kernel ;
# Kernel sources that userspace builds use exist once the tree is made.
$(KSRC)/kernel/locking/range_rwlock.c $(KSRC)/lib/rbtree.c \
	$(KSRC)/include/linux/range_rwlock.h \
	$(KSRC)/include/linux/interval_tree_generic.h: | tree ;
$(VMLINUX): $(BZIMAGE) ;

# Regenerate kernel-patches/*.patch and series from the tree's commits.
kernel-patches:
	@scripts/kernel-patches.sh $(KSRC)

kernel-tree-reset:
	rm -rf $(KSRC)
	@scripts/kernel-tree.sh $(KSRC)

# --- libbpf and a static bpftool from the same tree --------------------
tools: tree
	@mkdir -p $(TOOLS)/bpftool-build
	@echo "tools: building libbpf and a static bpftool from the kernel tree"
	@$(MAKE) -s -C $(KSRC)/tools/bpf/bpftool OUTPUT=$(TOOLS)/bpftool-build/ \
		CLANG=$(CLANG) LLVM_STRIP=llvm-strip-19 LLVM_CONFIG=/bin/false \
		EXTRA_LDFLAGS=-static -j$(JOBS) >$(TOOLS)/bpftool-build.log 2>&1 || \
		{ tail -20 $(TOOLS)/bpftool-build.log; exit 1; }
	@cp -p $(TOOLS)/bpftool-build/bpftool $(BPFTOOL)
	@mkdir -p $(TOOLS)/libbpf
	@cp -p $(TOOLS)/bpftool-build/libbpf/libbpf.a $(LIBBPF_A)
	@rm -rf $(LIBBPF_INC) && cp -r $(TOOLS)/bpftool-build/libbpf/include $(LIBBPF_INC)
$(BPFTOOL) $(LIBBPF_A): tools ;

# The kernel's uapi header, for userspace (policies get it from vmlinux.h).
UAPI_H := $(B)/uapi/linux/mmlock_ext.h
$(UAPI_H): tree
	@mkdir -p $(dir $@)
	@cmp -s $(KSRC)/include/uapi/linux/mmlock_ext.h $@ || \
		cp $(KSRC)/include/uapi/linux/mmlock_ext.h $@

$(VMLINUX_H): $(VMLINUX) $(BPFTOOL)
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(VMLINUX) format c >$@.tmp && mv $@.tmp $@

# --- BPF objects and skeletons -------------------------------------------
BPF_HDRS := $(wildcard include/*.h include/*/*.h)

$(O)/policies/%.bpf.o: bpf-policies/%.bpf.c $(VMLINUX_H) $(BPF_HDRS) | $(BPFTOOL)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/obj/guest/%.bpf.o: selftests/guest/%.bpf.c $(VMLINUX_H) $(BPF_HDRS) | $(BPFTOOL)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/skel/%.skel.h: $(O)/obj/guest/%.bpf.o $(BPFTOOL)
	@mkdir -p $(dir $@)
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) >$@.tmp && mv $@.tmp $@

policies: $(POLICY_OBJS)

# --- userspace (static, runs in the guest) -------------------------------
$(O)/obj/guest/%.o: selftests/guest/%.c $(GUEST_SKELS) $(LIBBPF_A) $(UAPI_H) $(wildcard selftests/guest/*.h include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iselftests/guest -c $< -o $@

$(O)/bin/mmlock-selftests: $(GUEST_TEST_OBJS) $(LIBBPF_A)
	@mkdir -p $(dir $@)
	$(CC) -static -o $@ $(GUEST_TEST_OBJS) $(LDLIBS)

$(O)/bin/mmlock: $(LOADER_SRCS) $(wildcard loader/*.h include/*.h) $(LIBBPF_A) $(UAPI_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $(LOADER_SRCS) $(LDLIBS)

$(O)/bin/mmlock-workload: selftests/tools/workload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< -lpthread

$(O)/bin/mmlock-bench: selftests/bench/falseconflict.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< -lpthread

$(O)/bin/mmlock-fault-probe: selftests/bench/fault_probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

$(O)/bin/mmlock-stress: selftests/tools/stress.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< -lpthread

# --- initramfs -------------------------------------------------------------
$(INITRAMFS): $(BZIMAGE) $(GUEST_BINS) $(POLICY_OBJS) $(GUEST_BPF_OBJS) $(BPFTOOL) selftests/vm/init \
		selftests/vm/make-initramfs.sh $(wildcard selftests/vm/guest-*.sh) $(KMM_FILES)
	@selftests/vm/make-initramfs.sh $@ $(GUEST_BINS) $(BPFTOOL) -- $(POLICY_OBJS) \
		-- $(GUEST_BPF_OBJS) -- $(KMM_FILES)
initramfs: $(INITRAMFS)

# --- running ---------------------------------------------------------------
VM_ENV = KERNEL=$(BZIMAGE) INITRD=$(INITRAMFS) CPUS=$(CPUS) MEM=$(MEM) \
	TIMEOUT=$(TIMEOUT) LOGDIR=$(O)/logs

# CMD as given, unexpanded by make ($ and all), to run-vm.sh's environment.
override CMD := $(value CMD)
export CMD
vm: $(INITRAMFS)
	@# CMD reaches run-vm.sh through the environment, never through the
	@# recipe's text: any shell command works, quotes and newlines too.
	@$(VM_ENV) ADD="$(ADD)" selftests/vm/run-vm.sh

demo: $(INITRAMFS)
	@$(VM_ENV) CMD="sh /usr/share/mmlock/guest-demo.sh" selftests/vm/run-vm.sh

$(B)/host/%: selftests/host/%.c loader/value.c $(wildcard include/*.h loader/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iloader -o $@ $< loader/value.c -lpthread

# TESTS='name...' runs only those in-VM tests (mmlock-selftests --list).
check:
	@$(VM_ENV) KSRC=$(KSRC) HOST_TESTS="$(HOST_TESTS)" TESTS="$(TESTS)" \
		BUILD='$(MAKE) -s --no-print-directory initramfs $(HOST_TESTS)' \
		selftests/vm/check.sh

# The false-conflict benchmark on the perf kernel: BENCH_REPS runs of
# BENCH_SECONDS per scenario and policy, interleaved. Report in build/bench/
BENCH_REPS ?= 3
BENCH_SECONDS ?= 1
bench: deps
	@$(MAKE) -s --no-print-directory FLAVOUR=perf initramfs
	@KERNEL=$(B)/perf/kernel/arch/x86/boot/bzImage INITRD=$(B)/perf/initramfs.cpio.gz \
		CPUS=$(CPUS) MEM=$(MEM) TIMEOUT=1800 LOGDIR=$(B)/perf/logs \
		CMD="sh /usr/share/mmlock/guest-bench.sh $(BENCH_REPS) $(BENCH_SECONDS)" selftests/vm/run-vm.sh
	@selftests/bench/report.sh $(B)/perf/logs/last.log $(B)/bench

# The exact cost meter: instructions per fault and per writer op under
# QEMU's instruction counting, for every policy, as ratios to no policy;
# also the patch-free kernel (perf flavour). ROUNDS=, SECONDS_PER_RUN=.
# Report in build/bench/cost.md, raw lines in build/bench/cost-raw.txt.
PRISTINE_SRC := $(B)/linux-pristine
bench-cost: deps
	@$(MAKE) -s --no-print-directory FLAVOUR=perf initramfs
	@[ -d $(PRISTINE_SRC) ] || git -C $(KSRC) worktree add -q -f --detach $(PRISTINE_SRC) pristine
	@NO_MMLOCK=1 JOBS=$(JOBS) scripts/kernel-build.sh $(PRISTINE_SRC) $(B)/pristine-perf/kernel perf
	@selftests/bench/cost.sh $(B)/perf/kernel/arch/x86/boot/bzImage $(B)/perf/initramfs.cpio.gz \
		$(B)/bench $(B)/pristine-perf/kernel/arch/x86/boot/bzImage

# Where one ordinary fault's instructions go, per kernel function, under
# no policy and each policy (PROFILE_CONFIGS=): single-stepped under
# instruction counting. Report in build/bench/profile/profile.txt.
PROFILE_CONFIGS ?= none stock anon2m-oc adaptive anon2m
bench-profile: deps
	@scripts/install-deps.sh gdb
	@$(MAKE) -s --no-print-directory FLAVOUR=perf initramfs
	@selftests/bench/fault-profile.sh $(B)/perf/kernel/vmlinux \
		$(B)/perf/kernel/arch/x86/boot/bzImage $(B)/perf/initramfs.cpio.gz \
		$(B)/bench/profile $(PROFILE_CONFIGS)

# A kernel for a real machine: the series built with a distro config
# (KCONFIG=/boot/config-..., default Debian's amd64 6.12 config) plus
# kernel-patches/config-machine.fragment, packaged by bindeb-pkg in build/.
# check-distro compiles only what the series touches under that config.
kernel-deb: tree
	@JOBS=$(JOBS) scripts/kernel-deb.sh $(KSRC) $(B)/deb/kernel "$(KCONFIG)" deb
check-distro: tree
	@JOBS=$(JOBS) scripts/kernel-deb.sh $(KSRC) $(B)/deb/check "$(KCONFIG)" check

# The README's two commands on a fresh Debian 12 root (debootstrap), timed.
check-fresh:
	@scripts/fresh-machine.sh $(B)/fresh-root

clean:
	rm -rf $(B)/debug $(B)/perf $(B)/host

distclean:
	rm -rf $(B)
