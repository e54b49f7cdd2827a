#!/usr/bin/env bash
# make contract: start a fresh gateway (temp data dir, free port), create the
# suite's keys, run the contract suite against its staging, stop it, and exit
# with the suite's code (0 passed, 1 a scenario failed, 2 usage, fixture or
# connection error). Reports land in $CONTRACT_REPORT_DIR (default bin/contract).
set -euo pipefail

BIN=${BIN:-bin/ghlgate}
REPORTS=${CONTRACT_REPORT_DIR:-bin/contract}
RUN_TIMEOUT=${CONTRACT_TIMEOUT:-300}

if [[ ! -x $BIN ]]; then
  echo "contract.sh: $BIN not found; run make build first" >&2
  exit 2
fi

tmp=$(mktemp -d)
gw_pid=""
cleanup() {
  if [[ -n $gw_pid ]] && kill -0 "$gw_pid" 2>/dev/null; then
    kill -TERM "$gw_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gw_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The suite is one burst of a few hundred requests, most to one seeded
# location. GHL's per-location budget (100 per 10 s, which the gateway also
# learns from the mock's rate-limit headers) would refuse the suite itself,
# so it is off here; every client gets a budget instead, which
# gateway-rate-limited (a client of its own) must reach within 1,000 calls.
cat >"$tmp/ghlgate.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: $tmp/data
log: {level: warn}
ratelimit:
  default:
    location: null
  stages:
    staging:
      client: {max: 600, interval: 10s}
    sandbox:
      client: {max: 150, interval: 10s}
YAML
gw=("$BIN" --config "$tmp/ghlgate.yaml")

# Keys first, straight into the store the gateway is about to open.
key() { "${gw[@]}" keys create --expires 1h "$@"; }
writer=$(key --name contract-writer --scopes contacts.readonly,contacts.write --stages staging,sandbox)
readonly_key=$(key --name contract-readonly --scopes contacts.readonly --stages staging,sandbox)
dental=$(key --name contract-dental-only --scopes contacts.readonly,contacts.write --locations ve9EPM428h8vShlRW1KT --stages staging,sandbox)
# Production only, bound to a location that does not exist: it can reach
# production's test-traffic refusal and nothing else.
production=$(key --name contract-production-only --scopes contacts.readonly,contacts.write --locations contract-suite-no-such-location --stages production)
ratelimit=$(key --name contract-rate-limit --scopes contacts.readonly --stages staging,sandbox)

"${gw[@]}" serve 2>"$tmp/gateway.log" &
gw_pid=$!

base=""
for _ in $(seq 1 150); do
  if ! kill -0 "$gw_pid" 2>/dev/null; then
    echo "contract.sh: the gateway exited during start-up:" >&2
    cat "$tmp/gateway.log" >&2
    exit 2
  fi
  base=$(grep -o 'serving on http://[0-9.]*:[0-9]*' "$tmp/gateway.log" | head -1 | sed 's/^serving on //' || true)
  if [[ -n $base ]] && curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then
    break
  fi
  base=""
  sleep 0.1
done
if [[ -z $base ]]; then
  echo "contract.sh: the gateway did not become ready within 15 s:" >&2
  cat "$tmp/gateway.log" >&2
  exit 2
fi

mkdir -p "$REPORTS"
code=0
timeout --signal=TERM "$RUN_TIMEOUT" "$BIN" contract run \
  --target "$base/staging" --key "$writer" \
  --var readonlyKey="$readonly_key" --var dentalOnlyKey="$dental" \
  --var productionOnlyKey="$production" --var rateLimitKey="$ratelimit" \
  --parallel 4 --quiet \
  --junit "$REPORTS/junit.xml" --json "$REPORTS/report.json" --html "$REPORTS/report.html" || code=$?
if [[ $code -eq 124 ]]; then
  echo "contract.sh: the suite did not finish within ${RUN_TIMEOUT}s" >&2
  code=2
fi
if [[ $code -ne 0 ]]; then
  echo "contract.sh: gateway log (last 40 lines):" >&2
  tail -n 40 "$tmp/gateway.log" >&2
fi
echo "contract.sh: reports in $REPORTS (junit.xml, report.json, report.html)" >&2
exit "$code"
