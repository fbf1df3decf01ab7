#!/usr/bin/env bash
# Runs every bundled RL algorithm from the same SFT checkpoint and seed, and prints a markdown
# table of held-out pass@1 / pass@8 before and after, wall time and final-weights digest.
# A benchmark, not a test: several minutes per algorithm on 2 cores.
#
#   scripts/compare-algorithms.sh [RUNS_DIR] [extra rlax flags...]
#   e.g. scripts/compare-algorithms.sh runs/compare --steps 100
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/compare}
shift || true
rlax=$(swift build -c release --show-bin-path)/rlax
[ -x "$rlax" ] || make release
mkdir -p "$runs"
# The default run's warm start: rl.warmStartSteps SFT steps from the initialisation seed rl.seed.
if [ ! -f "$runs/sft/state.json" ]; then
  warm=$("$rlax" config show | sed -n 's/^rl.warmStartSteps = //p')
  seed=$("$rlax" config show | sed -n 's/^rl.seed = //p')
  "$rlax" sft --out "$runs/sft" --set sft.steps="$warm" --seed "$seed" >&2
fi
echo "| algorithm | pass@1 before | pass@1 after | pass@8 before | pass@8 after | RL seconds | weights sha256 (first 12) |"
echo "|---|---:|---:|---:|---:|---:|---|"
for algo in grpo dr-grpo dapo gspo cispo rloo reinforce-pp ppo mdloo; do
  "$rlax" --algo "$algo" --init "$runs/sft" --run-dir "$runs/$algo" --overwrite --quiet "$@" >&2
  python3 - "$runs/$algo/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
b, a = s["eval"]["before"], s["eval"]["after"]
print(f"| {s['algorithm']} | {b['pass@1']:.3f} | {a['pass@1']:.3f} | {b['pass@8']:.3f} | {a['pass@8']:.3f} | {s['rl_seconds']:.0f} | {s['weights_sha256'][:12]} |")
PY
done
