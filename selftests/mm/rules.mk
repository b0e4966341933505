# The kernel's own mm selftests (tools/testing/selftests/mm of the patched
# tree $(KSRC)), built statically for the guest, included by the top Makefile.
#
# Built out of tree, without the selftests' Makefile (which writes
# local_config.{h,mk} into the source directory): each test is one gcc call
# on its .c and the helpers it needs, against the uapi headers of the same
# tree (headers_install into $(KMM_OUT)/usr). The binaries do not depend on
# the kernel flavour, so both flavours share one build in $(B)/kselftest-mm;
# nothing is rebuilt unless a source, a header or this file changed.
# Which tests are built and how they run: tests.list (binary = 3rd column);
# why the others are not: EXCLUDED.md. The guest runner is
# selftests/guest/kernel_mm.c.
#
# Uses: KSRC, B. Adds: KMM_FILES (binaries + tests.list, for the initramfs),
# the phony kselftest-mm, and its removal to `make clean`.

KMM_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KMM_SRC := $(KSRC)/tools/testing/selftests/mm
KMM_OUT := $(B)/kselftest-mm
KMM_HDR := $(KMM_OUT)/usr/include
KMM_HDR_STAMP := $(KMM_OUT)/usr/.installed
KMM_LIST := $(KMM_DIR)/tests.list
KMM_NAMES := $(sort $(shell awk '!/^[[:space:]]*(\#|$$)/ { print $$3 }' $(KMM_LIST)))
KMM_BINS := $(addprefix $(KMM_OUT)/bin/,$(KMM_NAMES))
KMM_FILES := $(KMM_BINS) $(KMM_LIST)

# -w: the warnings are upstream's, not ours to fix here.
KMM_CFLAGS := -static -O2 -U_FORTIFY_SOURCE -w \
	-I$(KSRC) -isystem $(KMM_HDR) -isystem $(KSRC)/tools/include/uapi \
	-I$(KMM_OUT) -fmacro-prefix-map=$(KMM_SRC)/=
KMM_LDLIBS := -lrt -lpthread -lm
# What a test needs beyond its own .c (from the selftests' Makefile).
KMM_HELPERS := $(KMM_SRC)/vm_util.c $(KMM_SRC)/thp_settings.c
KMM_EXTRA_uffd-unit-tests := $(KMM_SRC)/uffd-common.c
KMM_EXTRA_uffd-stress := $(KMM_SRC)/uffd-common.c
KMM_LIBS_mlock-random-test := -lcap
KMM_LIBS_ksm_tests := -lnuma

# Sources that exist once the tree is made (a fresh clone has none yet).
$(KMM_NAMES:%=$(KMM_SRC)/%.c) $(KMM_HELPERS) $(KMM_SRC)/uffd-common.c: | tree ;

# The uapi headers, but our own (which the mm tests do not include), so
# that work on the patch series does not rebuild them.
KMM_UAPI := $(filter-out %/mmlock_ext.h,$(wildcard $(KSRC)/include/uapi/linux/*.h \
	$(KSRC)/include/uapi/asm-generic/*.h $(KSRC)/arch/x86/include/uapi/asm/*.h))
$(KMM_HDR_STAMP): $(KMM_UAPI) $(KMM_DIR)/rules.mk | tree
	@mkdir -p $(KMM_OUT)/hdr-obj
	@echo "kselftest-mm: installing the uapi headers of $(KSRC)"
	@$(MAKE) -s --no-print-directory -C $(KSRC) O=$(KMM_OUT)/hdr-obj ARCH=x86_64 \
		INSTALL_HDR_PATH=$(KMM_OUT)/usr headers_install >$(KMM_OUT)/headers.log 2>&1 || \
		{ tail -20 $(KMM_OUT)/headers.log; exit 1; }
	@touch $@

# The selftests' check_config.sh probes for liburing; the VM kernel has no
# io_uring, so the tests are built without it.
$(KMM_OUT)/local_config.h: $(KMM_DIR)/rules.mk
	@mkdir -p $(dir $@)
	@echo '// No liburing support found' >$@

$(KMM_OUT)/bin/%: $(KMM_SRC)/%.c $(KMM_HELPERS) $(KMM_HDR_STAMP) $(KMM_OUT)/local_config.h \
		$(wildcard $(KMM_SRC)/*.h $(KMM_SRC)/../*.h) $(KMM_DIR)/rules.mk
	@mkdir -p $(dir $@)
	@echo "kselftest-mm: $*"
	@$(CC) $(KMM_CFLAGS) -o $@ $< $(KMM_HELPERS) $(KMM_EXTRA_$*) \
		$(KMM_LDLIBS) $(KMM_LIBS_$*)
	@strip $@

$(KMM_OUT)/bin/uffd-unit-tests $(KMM_OUT)/bin/uffd-stress: $(KMM_SRC)/uffd-common.c

.PHONY: kselftest-mm kselftest-mm-clean
kselftest-mm: $(KMM_FILES)
clean: kselftest-mm-clean
kselftest-mm-clean:
	rm -rf $(KMM_OUT)
