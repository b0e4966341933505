#!/bin/bash
# Prepare the kernel git tree used for every build:
#   1. a pristine extraction of Debian's linux-source-6.12, committed once and
#      cached outside the checkout ($MMLOCK_CACHE), so fresh clones reuse it;
#   2. a working clone under the build directory with every patch listed in
#      kernel-patches/series applied as a commit on top of the pristine one.
# Re-running is cheap: nothing is touched when the series has not changed, so
# file times survive and kbuild stays incremental.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:?usage: kernel-tree.sh TREE_DIR}
cache=${MMLOCK_CACHE:-$HOME/.cache/mmlock_ext}
tarball=/usr/src/linux-source-6.12.tar.xz
patchdir=$top/kernel-patches

die() { echo "kernel-tree: $*" >&2; exit 1; }

[ -f "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.12)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
pristine=$cache/linux-source-$srcver.git

gitq() { git -c user.name='mmlock_ext build' -c user.email='build@mmlock-ext.invalid' "$@"; }

if [ ! -d "$pristine" ]; then
	echo "kernel-tree: extracting linux-source-6.12 $srcver into $pristine (once)"
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/extract.XXXXXX")
	tar -C "$tmp" -xf "$tarball"
	src=$(echo "$tmp"/linux-source-*)
	[ -d "$src" ] || die "unexpected layout in $tarball"
	# Debian's .gitignore ignores every top-level path ("/*"), which would
	# hide new files from git status; drop that block, nothing else.
	sed -i '/^# Debian packaging/,/^!\/debian\/$/d' "$src/.gitignore"
	gitq -C "$src" init -q
	gitq -C "$src" add -A
	gitq -C "$src" commit -q -m "linux-source-6.12 $srcver (pristine)" \
		-m "Debian's top-level ignore block removed from .gitignore."
	gitq -C "$src" tag pristine
	git clone -q --bare "$src" "$tmp/bare.git"
	mv "$tmp/bare.git" "$pristine"
	rm -rf "$tmp"
fi

series_hash() {
	(cd "$patchdir" && cat series $(grep -v '^#' series | sed '/^$/d')) 2>/dev/null |
		sha1sum | cut -d' ' -f1
}

if [ ! -d "$tree/.git" ]; then
	echo "kernel-tree: cloning the pristine tree into $tree"
	git clone -q --shared "$pristine" "$tree"
	gitq -C "$tree" checkout -q -B mmlock pristine
	rm -f "$tree/.git/mmlock-series"
fi

want=$(series_hash)
stamp=$tree/.git/mmlock-series
if [ -f "$stamp" ]; then
	read -r have applied_head <"$stamp"
	[ "$have" = "$want" ] && exit 0
	head=$(git -C "$tree" rev-parse HEAD)
	if [ "$head" != "$applied_head" ]; then
		die "$tree has commits that are not in kernel-patches/ (HEAD $head).
Export them with 'make kernel-patches', or discard them with 'make kernel-tree-reset'."
	fi
fi
[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
	die "$tree has uncommitted changes; commit them and run 'make kernel-patches' first"

echo "kernel-tree: applying kernel-patches/series onto linux-source-6.12 $srcver"
gitq -C "$tree" checkout -q -B mmlock pristine
if [ -f "$patchdir/series" ]; then
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		if ! gitq -C "$tree" am -q --keep-cr "$patchdir/$p" >/dev/null 2>&1; then
			gitq -C "$tree" am --abort >/dev/null 2>&1 || true
			# Our own partial state: the next run may start over.
			echo "failed $(git -C "$tree" rev-parse HEAD)" >"$stamp"
			die "patch $p does not apply to linux-source-6.12 $srcver"
		fi
	done <"$patchdir/series"
fi
echo "$want $(git -C "$tree" rev-parse HEAD)" >"$stamp"
