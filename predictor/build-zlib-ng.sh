#!/bin/sh
# Build zlib-ng in zlib-compatible mode and put its libz.so.1 in DEST:  build-zlib-ng.sh DEST
#
# Why: a canvas PNG is mostly long runs of transparent pixels, and inflating them is most of the
# cost of reading it. Pillow's wheels are compiled for zlib-ng, but manylinux rules make them load
# the system's libz.so.1 (Debian 12: zlib 1.2.13), which inflates a 280x280 canvas ~15x slower
# (520 us vs 30 us here); with this library first on LD_LIBRARY_PATH the whole request costs about
# half the CPU. zlib-ng's compat mode is a drop-in replacement (Fedora ships it as its system zlib).
#
# Source: the zlib-ng release bundled in the sdist of python-zlib-ng on PyPI (reachable wherever
# pip is), pinned by version and hash. Needs a C compiler and make (Debian: gcc libc6-dev make).
set -eu

DEST=${1:?usage: build-zlib-ng.sh DEST}
PYTHON=${PYTHON:-python3}
SDIST_VERSION=1.1.0  # python-zlib-ng 1.1.0 bundles zlib-ng 2.3.3
SDIST_SHA256=08a3a8468d4f130e3dc80d28ec42fcc7a878a57dfed616233e791066327d78a3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "zlib-ng==$SDIST_VERSION --hash=sha256:$SDIST_SHA256" > "$work/requirements.txt"
"$PYTHON" -m pip download --quiet --no-binary :all: --no-deps --require-hashes \
    --requirement "$work/requirements.txt" --dest "$work"
tar -xzf "$work/zlib_ng-$SDIST_VERSION.tar.gz" -C "$work"
cd "$work/zlib_ng-$SDIST_VERSION/src/zlib_ng/zlib-ng"
# Runtime CPU detection (zlib-ng's default) picks SSE/AVX2 or NEON on the machine it runs on, so
# one build serves every CPU of its architecture.
./configure --zlib-compat > "$work/configure.log"
make -j"$(nproc)" shared > "$work/make.log"
mkdir -p "$DEST"
cp "$(readlink -f libz.so.1)" "$DEST/libz.so.1"
echo "zlib-ng $(sed -n 's/^#define ZLIBNG_VERSION "\(.*\)"/\1/p' zlib.h) -> $DEST/libz.so.1"
