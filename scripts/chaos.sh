#!/usr/bin/env bash
# Chaos for `rlax launch`: SIGKILLs a role of a running multi-process run every few seconds
# and checks that the run still ends with the uninterrupted run's weights and that every
# group was consumed exactly once.
#
#   scripts/chaos.sh RUN_DIR KILLS MIN_SECONDS MAX_SECONDS [rlax train flags...]
#
# LAUNCH_ARGS adds flags of `rlax launch` alone (e.g. "--lease-seconds 2").
# The roles are killed in rounds, each round every role once in a random order (so every
# role is killed about KILLS / roles times), with a random pause in [MIN, MAX] seconds before
# each kill. Kills start once RL has begun (metrics.jsonl exists) and stop after KILLS or when
# the run ends. The reference weights come from `rlax train` with the same flags in
# RUN_DIR.reference, unless REFERENCE_SHA is set. RLAX names the binary (default
# .build/release/rlax). Prints one JSON line with the result; exits 0 only when the run
# completed with the reference weights, exact accounting and at least KILLS kills.
set -euo pipefail
if [ $# -lt 4 ]; then sed -n '2,17p' "$0" >&2; exit 2; fi
run_dir=$1 kills=$2 min=$3 max=$4
shift 4
rlax=${RLAX:-.build/release/rlax}
log=$run_dir.log chaos_log=$run_dir.chaos
rm -rf "$run_dir" "$run_dir.reference" "$chaos_log"

reference=${REFERENCE_SHA:-}
if [ -z "$reference" ]; then
  "$rlax" train --quiet --run-dir "$run_dir.reference" "$@" >"$run_dir.reference.log" 2>&1 \
    || { echo "the reference run failed: $run_dir.reference.log" >&2; exit 1; }
  reference=$(sed -n 's/^weights sha256 //p' "$run_dir.reference.log")
fi

start=$(date +%s.%N)
# shellcheck disable=SC2086
"$rlax" launch --run-dir "$run_dir" ${LAUNCH_ARGS:-} "$@" >"$log" 2>&1 &
launch=$!
trap 'kill -TERM $launch 2>/dev/null || true' EXIT

pids=$run_dir/launch/pids
while kill -0 $launch 2>/dev/null && [ ! -s "$run_dir/metrics.jsonl" ]; do sleep 0.1; done
roles=$(cd "$pids" && ls *.pid | sed 's/\.pid$//' | sort)
done_kills=0
declare -A per_role
rand_pause() { awk -v a="$min" -v b="$max" -v r="$RANDOM" 'BEGIN { printf "%.2f", a + (b - a) * r / 32767 }'; }
while [ $done_kills -lt "$kills" ] && kill -0 $launch 2>/dev/null; do
  for role in $(echo "$roles" | shuf); do
    [ $done_kills -lt "$kills" ] || break
    sleep "$(rand_pause)"
    kill -0 $launch 2>/dev/null || break
    pid=$(cat "$pids/$role.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
      done_kills=$((done_kills + 1))
      per_role[$role]=$(( ${per_role[$role]:-0} + 1 ))
      steps=$(wc -l <"$run_dir/metrics.jsonl" 2>/dev/null || echo 0)
      echo "$(date +%s.%N) kill $role pid $pid after $steps metric lines" >>"$chaos_log"
      # Wait for the supervisor to start the role again before the next kill of anything.
      for _ in $(seq 100); do
        new=$(cat "$pids/$role.pid" 2>/dev/null || true)
        [ "$new" != "$pid" ] && break
        kill -0 $launch 2>/dev/null || break
        sleep 0.05
      done
    fi
  done
done
set +e
wait $launch
status=$?
set -e
trap - EXIT
end=$(date +%s.%N)
python3 - "$run_dir" "$reference" "$status" "$done_kills" "$kills" "$start" "$end" "$(for r in "${!per_role[@]}"; do echo "$r=${per_role[$r]}"; done)" <<'PY'
import json, sys
run_dir, reference, status, done, wanted, start, end, per_role = sys.argv[1:9]
kills = dict(line.split("=") for line in per_role.split() if line)
result = {"status": int(status), "kills": int(done), "kills_per_role": {k: int(v) for k, v in sorted(kills.items())},
          "seconds": round(float(end) - float(start), 1), "reference_sha256": reference}
ok = int(status) == 0 and int(done) >= int(wanted)
try:
    summary = json.load(open(f"{run_dir}/summary.json"))
    record = json.load(open(f"{run_dir}/run.json"))["config"]["rl"]
    acc, ctl = summary["accounting"], summary.get("controller") or {}
    result.update(weights_sha256=summary["weights_sha256"], steps=summary["steps"], accounting=acc, controller=ctl,
                  supervision=json.load(open(f"{run_dir}/launch/supervision.json")))
    groups = summary["steps"] * record["promptsPerStep"]
    result["same_weights"] = summary["weights_sha256"] == reference
    result["consumed_exactly_once"] = acc["consumed"] == groups and acc["issued"] == groups
    ok = ok and result["same_weights"] and result["consumed_exactly_once"] and summary["steps"] == record["steps"]
except (OSError, KeyError, ValueError) as e:
    result["error"] = f"{type(e).__name__}: {e}"
    ok = False
result["ok"] = ok
print(json.dumps(result, sort_keys=True))
sys.exit(0 if ok else 1)
PY
