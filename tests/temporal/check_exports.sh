#!/usr/bin/env bash
# check_exports.sh LIB MAP: the shared library exports exactly the functions its public headers
# declare (MAP, the version script exports.cmake generated from them): no symbol of gRPC,
# protobuf-c, jansson or of the library's internals, and no declared function missing.
set -euo pipefail
lib=$1
map=$2
want=$(sed -n 's/^    \(tc_[a-z0-9_]*\);$/\1/p' "$map" | sort)
# defined dynamic symbols, without the version node itself
got=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort)
leaks=$(comm -13 <(echo "$want") <(echo "$got"))
missing=$(comm -23 <(echo "$want") <(echo "$got"))
status=0
if [[ -n $leaks ]]; then
  echo "exported but not in the public headers:"
  echo "$leaks" | head -20
  status=1
fi
if [[ -n $missing ]]; then
  echo "declared in the public headers but not exported (not defined?):"
  echo "$missing"
  status=1
fi
n=$(echo "$got" | grep -c . || true)
[[ $n -gt 100 ]] || { echo "only $n symbols exported"; status=1; }
echo "$n functions exported, all from the public headers"
exit $status
