#!/usr/bin/env bash
# The durability check of issue 9: SIGKILL a small RL run at random moments (some timed to
# land mid-checkpoint, in the first step and in the last step), `--resume` after each, until
# the run completes; then its final weights must equal an uninterrupted run's, and
# metrics.jsonl must hold every step exactly once. Repeats runs until --kills kills were made.
#
#   scripts/kill-loop.sh [--kills 30] [--rlax PATH] [--work DIR] [--steps 16]
#
# Prints one line per kill and a closing verdict; exits non-zero on the first failed resume,
# a weight mismatch or a duplicated/missing metrics line.
set -euo pipefail
cd "$(dirname "$0")/.."
kills_wanted=30 rlax="" work="" steps=16
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills_wanted=$2; shift 2 ;;
    --rlax) rlax=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$rlax" ]; then
  rlax=$(swift build -c release --show-bin-path)/rlax
  [ -x "$rlax" ] || make release >&2
fi
work=${work:-$(mktemp -d /tmp/rlax-kill-loop.XXXXXX)}
mkdir -p "$work"

# A small run: 1-layer model, 1-2 digit addition, a checkpoint every step (so many kills land
# in saves), k = 1 (so checkpoints carry an older weight version), 2 workers.
flags=(--set task.name=arithmetic --set 'task.options={"minDigits":"1","maxDigits":"2","ops":"+"}'
  --set model.modelDim=32 --set model.numLayers=1 --set model.maxSeqLen=24 --set model.layer.attention.numHeads=2
  --set model.layer.attention.numKVHeads=1 --set model.layer.attention.headDim=16 --set model.layer.feedForward.hiddenDim=64
  --set rl.warmStartSteps=30 --set rl.promptsPerStep=4 --set rl.groupSize=4 --set rl.sampler.maxNewTokens=4
  --set sft.batchSize=16 --set eval.problems=4 --set eval.samples=2 --set 'eval.ks=[1,2]' --set eval.sampler.maxNewTokens=4
  --set rl.learningRate=0.01 --steps "$steps" --checkpoint-every 1 --max-staleness 1 --workers 2 --quiet)

sha() { sed -n 's/.*"weights_sha256" *: *"\([0-9a-f]*\)".*/\1/p' "$1/summary.json"; }
now_ms() { date +%s%3N; }

t0=$(now_ms)
"$rlax" "${flags[@]}" --run-dir "$work/straight" >/dev/null
full_ms=$(( $(now_ms) - t0 ))
expected=$(sha "$work/straight")
echo "uninterrupted run: ${full_ms} ms, weights sha256 $expected"

kills=0 resumes=0 runs=0 mid_save=0 first_step=0 last_step=0 random_kills=0
wait_for() {  # wait_for PID TEST...: poll until TEST holds or PID exits
  local pid=$1; shift
  until "$@"; do kill -0 "$pid" 2>/dev/null || return 1; sleep 0.002; done
}
saving() { compgen -G "$dir/checkpoints/.step-*.tmp-*" >/dev/null; }
in_first_step() { [ -f "$dir/eval-before.json" ] && ! compgen -G "$dir/checkpoints/step-*" >/dev/null; }
in_last_step() { [ -f "$dir/metrics.jsonl" ] && [ "$(wc -l <"$dir/metrics.jsonl")" -ge $((steps - 1)) ]; }

while [ $kills -lt "$kills_wanted" ]; do
  runs=$((runs + 1))
  dir="$work/run-$runs"
  resume=()
  while true; do
    "$rlax" "${flags[@]}" --run-dir "$dir" "${resume[@]}" >"$work/log" 2>&1 &
    pid=$!
    hit=""
    pause="0.$(printf '%03d' $(( RANDOM % (full_ms < 999 ? full_ms : 999) )))"
    case $(( kills % 4 )) in
      0) sleep "$pause"; hit=random ;;
      1) sleep "$pause"; wait_for $pid saving && hit=mid-save ;;
      2) wait_for $pid in_first_step && hit=first-step ;;
      3) wait_for $pid in_last_step && hit=last-step ;;
    esac
    if [ -n "$hit" ] && kill -9 $pid 2>/dev/null; then
      wait $pid 2>/dev/null || true
      # A save the kill interrupted leaves its temporary directory behind.
      if saving; then hit="$hit (mid-save)"; mid_save=$((mid_save + 1)); fi
      case $hit in first-step*) first_step=$((first_step + 1)) ;; last-step*) last_step=$((last_step + 1)) ;; random*) random_kills=$((random_kills + 1)) ;; esac
      kills=$((kills + 1))
      saved=$(basename "$(readlink "$dir/checkpoint" 2>/dev/null || echo none)")
      echo "kill $kills: run $runs, $hit, newest checkpoint $saved"
      # Killed before it made its run directory: nothing to resume yet, so start again.
      if [ -d "$dir" ]; then resume=(--resume); resumes=$((resumes + 1)); fi
      continue
    fi
    # The process ended before the kill: it must have completed the run.
    if ! wait $pid; then
      echo "FAIL: run $runs exited non-zero ($([ ${#resume[@]} -gt 0 ] && echo resume || echo start)):" >&2
      cat "$work/log" >&2
      exit 1
    fi
    break
  done
  got=$(sha "$dir")
  if [ "$got" != "$expected" ]; then
    echo "FAIL: run $runs ended with weights $got, the uninterrupted run with $expected" >&2; exit 1
  fi
  lines=$(sed -n 's/.*"step":\([0-9]*\)[,}].*/\1/p' "$dir/metrics.jsonl" | tr '\n' ' ')
  want=$(seq 0 $((steps - 1)) | tr '\n' ' ')
  if [ "$lines" != "$want" ]; then
    echo "FAIL: run $runs metrics.jsonl steps are [$lines], expected [$want]" >&2; exit 1
  fi
  echo "run $runs complete: weights equal the uninterrupted run's, metrics.jsonl has steps 0..$((steps - 1)) once each"
done
echo "kill loop passed: $kills kills ($mid_save mid-save, $first_step in the first step, $last_step in the last step, $random_kills at random), $resumes resumes, $runs runs, every final weights_sha256 $expected"
