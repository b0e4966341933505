#!/bin/bash
# Export the kernel tree's commits on top of the pristine source as
# kernel-patches/*.patch plus kernel-patches/series (the config fragments
# there are left alone), and record that the tree matches them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:?usage: kernel-patches.sh TREE_DIR}
out=$top/kernel-patches

[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	{ echo "kernel-patches: $tree has uncommitted changes; commit them first" >&2; exit 1; }
rm -f "$out"/*.patch
git -C "$tree" format-patch -q --no-signature --zero-commit --no-numbered \
	-o "$out" pristine..HEAD
(cd "$out" && ls -1 *.patch 2>/dev/null) >"$out/series" || true
n=$(wc -l <"$out/series")
echo "kernel-patches: exported $n patch(es)"
for p in "$out"/*.patch; do
	[ -e "$p" ] || continue
	(cd "$tree" && ./scripts/checkpatch.pl --no-tree --quiet \
		"$p") || echo "kernel-patches: checkpatch complains about $(basename "$p")"
done
hash=$(cd "$out" && cat series $(cat series) | sha1sum | cut -d' ' -f1)
echo "$hash $(git -C "$tree" rev-parse HEAD)" >"$tree/.git/mmlock-series"
