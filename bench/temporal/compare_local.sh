#!/usr/bin/env bash
# Interleaved bench_temporal runs of our worker and the official Go SDK worker (gobench/), each
# with remote and with local activities: ROUNDS rounds of the four variants in turn at each
# concurrency, then the median of each figure per variant. Saga-sized workflows: 7 activities,
# one local HTTP call each. Prints figures, asserts nothing (docs/bench-temporal.md).
# usage: bench/temporal/compare_local.sh BUILD_DIR [ROUNDS] [WORKFLOWS] [CONCURRENCY...]
#   (scripts/stack up running; BUILD_DIR a Release build with bench_temporal built; Go 1.26+
#   and the module cache scripts/setup fills)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: compare_local.sh BUILD_DIR [ROUNDS] [WORKFLOWS] [CONCURRENCY...]}" && pwd)
rounds=${2:-3}
n=${3:-40}
shift $(($# < 3 ? $# : 3))
concs=("$@")
((${#concs[@]})) || concs=(1 32)
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
bench=$build/bench/temporal/bench_temporal
gobench=$build/bench/temporal/gobench
(cd "$here/gobench" && GOFLAGS="-mod=mod -buildvcs=false" GOPROXY=off GOTOOLCHAIN=local \
  CGO_ENABLED=0 "$go" build -o "$gobench" .)
server_pid=${TEMPORAL_PID:-$(cat "${STACK_DIR:-$root/.stack}/temporal.pid")}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for c in "${concs[@]}"; do
  for ((r = 1; r <= rounds; r++)); do
    for v in c:remote c:local go:remote go:local; do
      args=(-n "$n" -c "$c" -a 7 --http --server-pid "$server_pid")
      [[ ${v#*:} == local ]] && args+=(--local)
      [[ ${v%%:*} == go ]] && args+=(--go-worker "$gobench")
      res=$("$bench" "${args[@]}" 2>/dev/null)
      line=$(awk -v v="$v" -v c="$c" -v r="$r" '
        /^throughput=/ { split($1, a, "="); tp = a[2]; split($3, b, "="); p50 = b[2]; split($5, d, "="); p99 = d[2] }
        /^worker_cpu=/ { for (i = 1; i <= NF; i++) if ($i == "ms/workflow") wc = $(i - 1) }
        /^server_cpu=/ { for (i = 1; i <= NF; i++) if ($i == "ms/workflow") sc = $(i - 1) }
        /^worker=/ { for (i = 1; i <= NF; i++) if ($i ~ /^failed=/) { split($i, f, "="); fail = f[2] } }
        END { printf "%s c=%s round=%s workflows/s=%s p50_ms=%s p99_ms=%s worker_cpu_ms=%s server_cpu_ms=%s failed=%s\n", v, c, r, tp, p50, p99, wc, sc, fail }' <<<"$res")
      echo "$line load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out"
    done
  done
done
echo "medians:"
for c in "${concs[@]}"; do
  for v in c:remote c:local go:remote go:local; do
    grep "^$v c=$c " "$out" | awk -v v="$v" -v c="$c" '
      function med(arr, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return arr[int((k + 1) / 2)] }
      { for (i = 4; i <= 8; i++) { split($i, kv, "="); val[i, NR] = kv[2] + 0 } }
      END { for (i = 4; i <= 8; i++) { for (k = 1; k <= NR; k++) x[k] = val[i, k]; m[i] = med(x, NR) }
            printf "%-9s c=%-3s workflows/s=%.1f p50_ms=%.1f p99_ms=%.1f worker_cpu_ms/wf=%.2f server_cpu_ms/wf=%.1f\n", v, c, m[4], m[5], m[6], m[7], m[8] }'
  done
done
