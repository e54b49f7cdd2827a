#!/usr/bin/env bash
# make bench-instr: the instructions one request costs through ghlgate's
# pipeline and through a bare httputil.ReverseProxy (BenchmarkPipeline and
# BenchmarkBare, in process, no sockets), counted by valgrind's callgrind.
#
# Timings on a shared machine move by 5-10% from one run to the next, more
# than most single changes are worth; an instruction count moves by 1-3%
# (garbage collections and hash seeds differ from run to run). It is not the
# throughput figure (no sockets, no kernel, one P), but a few runs of each
# tell whether a change made the gateway cheaper.
#
# Each benchmark runs twice, for N1 and N2 requests; the difference divided
# by N2-N1 leaves out the set-up (loading the spec, opening the store).
# Usage: scripts/bench-instructions.sh [ENDPOINT...] (default GET_contactsid;
# the names are BenchmarkPipeline's sub-benchmarks, e.g. PUT_contactsid).
set -euo pipefail

N1=${BENCH_INSTR_N1:-1000}
N2=${BENCH_INSTR_N2:-6000}

if ! command -v valgrind >/dev/null; then
  echo "bench-instructions.sh: valgrind is not installed; install it (Debian: apt-get install valgrind) to count instructions" >&2
  exit 2
fi
if (( N2 <= N1 )); then
  echo "bench-instructions.sh: BENCH_INSTR_N2 ($N2) must be larger than BENCH_INSTR_N1 ($N1)" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# valgrind does not follow cgo's threads, so the binary is built without cgo
# (the SQLite driver is pure Go).
CGO_ENABLED=0 go test -c -o "$tmp/bench.test" ./bench/

# count BENCHMARK ENDPOINT N: the instructions of the whole test binary.
# One P and no asynchronous preemption: callgrind runs one thread at a
# time, and spinning Ps and preemption signals would only add noise.
# cpu.rdtscp=off: valgrind 3.19 cannot decode RDTSCP, which the runtime's
# cputicks uses when a lock is contended; the run then dies of SIGILL.
count() {
  local out
  out=$(cd bench && GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind \
    --callgrind-out-file=/dev/null "$tmp/bench.test" -test.run '^$' \
    -test.bench "^$1/$2\$" -test.benchtime "${3}x" 2>&1)
  if ! grep -q "^ok\|^PASS" <<<"$out"; then
    echo "bench-instructions.sh: $1/$2 failed under valgrind:" >&2
    echo "$out" | grep -v '^==' >&2
    exit 1
  fi
  sed -n 's/.*Collected : //p' <<<"$out"
}

per_request() {
  local a b
  a=$(count "$1" "$2" "$N1")
  b=$(count "$1" "$2" "$N2")
  echo $(( (b - a) / (N2 - N1) ))
}

echo "instructions per request (callgrind; in process, no sockets; GOMAXPROCS=1; $N1 and $N2 requests)"
printf '%-22s %12s %12s %8s\n' endpoint ghlgate bare ratio
for ep in "${@:-GET_contactsid}"; do
  g=$(per_request BenchmarkPipeline "$ep")
  b=$(per_request BenchmarkBare "$ep")
  printf '%-22s %12d %12d %8s\n' "$ep" "$g" "$b" "$(awk -v g="$g" -v b="$b" 'BEGIN { printf "%.2f", g / b }')"
done
