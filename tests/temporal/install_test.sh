#!/usr/bin/env bash
# install_test.sh SRC: temporal-c as another project gets it. Builds temporal/ on its own
# (cmake -S temporal: Release, no sanitizers, ../proto brought along) in a temporary directory,
# installs it into a temporary prefix, checks what the prefix holds (headers, libtemporal-c.so
# with its SONAME, libtemporal-c.a, temporal-c.pc) and that the shared library exports only the
# public functions, then builds examples/hello with its Makefile (plain cc and pkg-config) and
# runs it against the dev server (TEMPORAL_ADDRESS), links the same program to the static
# library, and builds and runs the C++ header check with g++ against the installed library.
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
step() { printf '[install] %s\n' "$*"; }

step "configure temporal/ alone"
cmake -S "$src/temporal" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$tmp/cfg.log" 2>&1 ||
  { cat "$tmp/cfg.log"; exit 1; }
step "build"
cmake --build "$tmp/build" -j2 >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log"; exit 1; }
step "install into a temporary prefix"
cmake --install "$tmp/build" --prefix "$tmp/prefix" >"$tmp/install.log"
p=$tmp/prefix
libdir=$(ls -d "$p"/lib*/pkgconfig | head -n1)
libdir=${libdir%/pkgconfig}
for f in include/temporal-c/temporal.h include/temporal-c/temporal_version.h \
  include/temporal-c/temporal_workflow.h include/temporal-c/temporal_worker.h \
  include/temporal-c/temporal_payload.h include/temporal-c/temporal_protobuf.h; do
  [[ -f $p/$f ]] || { echo "missing $f"; exit 1; }
done
[[ ! -e $p/include/temporal-c/temporal_internal.h ]] || { echo "a private header was installed"; exit 1; }
[[ -f $libdir/libtemporal-c.a && -L $libdir/libtemporal-c.so ]] || { echo "libraries missing"; exit 1; }
soname=$(readelf -d "$libdir/libtemporal-c.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
major=$(sed -n 's/^#define TC_VERSION_MAJOR \([0-9]*\)/\1/p' "$p/include/temporal-c/temporal_version.h")
[[ $soname == "libtemporal-c.so.$major" ]] || { echo "SONAME $soname"; exit 1; }
[[ -e $libdir/$soname ]] || { echo "no $soname in $libdir"; exit 1; }
"$src/tests/temporal/check_exports.sh" "$libdir/libtemporal-c.so" "$tmp/build/temporal-c.map"

export PKG_CONFIG_PATH=$libdir/pkgconfig
version=$(pkg-config --modversion temporal-c)
step "pkg-config: temporal-c $version, $(pkg-config --cflags --libs temporal-c)"
[[ $(pkg-config --print-requires-private temporal-c | tr '\n' ' ') == *grpc*libprotobuf-c*jansson* ]] ||
  { echo "Requires.private: $(pkg-config --print-requires-private temporal-c)"; exit 1; }

step "examples/hello with its Makefile (cc + pkg-config only)"
cp -r "$src/examples/hello" "$tmp/hello"
make -s -C "$tmp/hello" CC=cc
out=$(LD_LIBRARY_PATH=$libdir "$tmp/hello/hello")
echo "$out"
[[ $out == "temporal-c $version: Greet returned \"world\"" ]] || { echo "unexpected output"; exit 1; }

step "the same program on the static library"
cc -O2 -o "$tmp/hello-static" "$tmp/hello/hello.c" $(pkg-config --cflags temporal-c) \
  "$libdir/libtemporal-c.a" $(pkg-config --libs grpc libprotobuf-c jansson) -lm -pthread
out=$("$tmp/hello-static")
[[ $out == *"Greet returned \"world\""* ]] || { echo "static: $out"; exit 1; }
ldd "$tmp/hello-static" | grep -q temporal-c && { echo "static build uses the shared library"; exit 1; }

step "C++17 against the installed headers and library"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -o "$tmp/cxx" "$src/tests/temporal/cxx_headers.cpp" \
  $(pkg-config --cflags --libs temporal-c)
LD_LIBRARY_PATH=$libdir "$tmp/cxx" | grep -q "^temporal-c $version ($version)"
step "ok"
