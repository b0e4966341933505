#!/bin/sh
# What `make demo` runs in the VM: load a policy, inspect it, run a load.
set -e
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step uname -r
step mmlock list
step mmlock load anon2m
step bpftool struct_ops show
step mmlock status
step mmlock get
step mmlock-workload 3 2
step mmlock stats
step mmlock set range_size=4M
step mmlock swap stock
step mmlock-workload 2 2
step mmlock stats
step mmlock unload
step mmlock status
