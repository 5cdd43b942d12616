#!/usr/bin/env bash
# Packs a free-threaded CPython, stripped to what a gilbench run needs, with Pillow, into one
# archive small enough to travel to another machine (the 16-core reference: scripts/reference_16core.py).
#
#   scripts/make_ft_bundle.sh PREFIX [OUT]      OUT defaults to .carry/python-ft.tar.xz
#
# PREFIX is a free-threaded CPython built from source (./configure --disable-gil --prefix=PREFIX);
# unpack the archive at / on the other machine (`tar -xJf OUT -C /`) so it lands at the same PREFIX.
# Removed: debug symbols, the test suite, idle/tkinter/turtle, ensurepip, pip, the static library,
# headers, byte-code caches. The archive is not committed (.carry/ is git-ignored).
set -euo pipefail
PREFIX=${1:?usage: scripts/make_ft_bundle.sh PREFIX [OUT] (PREFIX: the --prefix of a free-threaded CPython build)}
OUT=${2:-.carry/python-ft.tar.xz}
py=$(ls "$PREFIX"/bin/python3.*t | head -n 1)
"$py" -c 'import sys; assert not sys._is_gil_enabled()' || { echo "$py is not a free-threaded build" >&2; exit 2; }
ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage$(dirname "$PREFIX")"
cp -a "$PREFIX" "$stage$PREFIX"
root="$stage$PREFIX"
lib="$root/lib/python${ver}t"
rm -rf "$lib"/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3,pydoc_data} "$lib"/turtle.py \
       "$lib"/config-*/libpython*.a "$root/include" "$root/share" "$lib/site-packages"/pip*
find "$root" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$root" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -exec strip --strip-unneeded {} + 2>/dev/null || true

# Pillow for the free-threaded ABI (cp313t), installed from the registry into the bundle's own site-packages.
PIP_ROOT_USER_ACTION=ignore "$py" -m pip install --quiet --no-compile --only-binary=:all: --target "$lib/site-packages" Pillow
"$root/bin/python${ver}t" -c 'import PIL, sys; print("bundle:", sys.version.split()[0], "free-threaded, Pillow", PIL.__version__)' 2>/dev/null \
  || "$py" -c 'print("bundle made (the staged copy runs only once unpacked at its prefix)")'

mkdir -p "$(dirname "$OUT")"
tar -C "$stage" -cJf "$OUT" "${PREFIX#/}"
echo "$(du -h "$OUT" | cut -f1)  $OUT  (unpacks to $PREFIX)"
