# Host tests and benchmark of the range lock, included by the top Makefile.
#
# They run kernel/locking/range_rwlock.c and lib/rbtree.c from the patched
# kernel tree $(KSRC), compiled for userspace against the shim in shim/.
# The tests are built with CONFIG_DEBUG_RANGE_RWLOCK, the benchmark without.
#
# Uses: KSRC (patched kernel tree), B (build directory), CC.
# Adds: the tests to HOST_TESTS; $(B)/host/range_rwlock_bench and the
# phony bench-rangelock, which builds and runs it.

RL_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
RL_OBJ := $(B)/host/range_rwlock
RL_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 \
	-D_GNU_SOURCE -I$(RL_DIR)/shim -I$(KSRC)/include
RL_HDRS := $(wildcard $(RL_DIR)/*.h $(RL_DIR)/shim/*.h $(RL_DIR)/shim/*/*.h \
	$(RL_DIR)/shim/*/*/*.h) $(KSRC)/include/linux/range_rwlock.h \
	$(KSRC)/include/linux/interval_tree_generic.h $(RL_DIR)/rules.mk

# $(RL_OBJ)/debug/*.o and $(RL_OBJ)/fast/*.o: the lock with and without
# its debug checks, and what it needs.
RL_LIB_SRCS := $(KSRC)/kernel/locking/range_rwlock.c $(KSRC)/lib/rbtree.c \
	$(RL_DIR)/shim/kshim.c
RL_LIB_debug := $(patsubst %.c,$(RL_OBJ)/debug/%.o,$(notdir $(RL_LIB_SRCS)))
RL_LIB_fast := $(patsubst %.c,$(RL_OBJ)/fast/%.o,$(notdir $(RL_LIB_SRCS)))
RL_FLAGS_debug := -DCONFIG_DEBUG_RANGE_RWLOCK

define RL_LIB_RULES
$(RL_OBJ)/$(1)/range_rwlock.o: $(KSRC)/kernel/locking/range_rwlock.c $(RL_HDRS)
$(RL_OBJ)/$(1)/rbtree.o: $(KSRC)/lib/rbtree.c $(RL_HDRS)
$(RL_OBJ)/$(1)/kshim.o: $(RL_DIR)/shim/kshim.c $(RL_HDRS)
$(RL_LIB_$(1)):
	@mkdir -p $$(dir $$@)
	$$(CC) $(RL_CFLAGS) $(RL_FLAGS_$(1)) -c $$< -o $$@
endef
$(eval $(call RL_LIB_RULES,debug))
$(eval $(call RL_LIB_RULES,fast))

$(B)/host/range_rwlock_model: $(RL_DIR)/model.c $(RL_LIB_debug) $(RL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RL_CFLAGS) $(RL_FLAGS_debug) -o $@ $< $(RL_LIB_debug) -lpthread

$(B)/host/range_rwlock_starve: $(RL_DIR)/starve.c $(RL_LIB_debug) $(RL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RL_CFLAGS) $(RL_FLAGS_debug) -o $@ $< $(RL_LIB_debug) -lpthread

$(B)/host/range_rwlock_bench: $(RL_DIR)/bench.c $(RL_LIB_fast) $(RL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(RL_CFLAGS) -o $@ $< $(RL_LIB_fast) -lpthread -lm

HOST_TESTS += $(B)/host/range_rwlock_model $(B)/host/range_rwlock_starve

.PHONY: bench-rangelock
bench-rangelock: $(B)/host/range_rwlock_bench
	$<
