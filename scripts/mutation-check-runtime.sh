#!/usr/bin/env bash
# scripts/mutation-check-runtime.sh — shows that DynamicSamplingTests and AlignmentTests fail
# when dynamic sampling or weight transport is broken (issue 17).
#
# Each mutation is one sed edit to a source file of the working tree (RLRun.swift,
# ParameterServer.swift) or of a scratch copy of a plugin (loaded through RLAX_PLUGIN_PATH).
# The script rebuilds the tests, runs the test the mutation targets, prints its first
# failures, and restores the file (also on error or Ctrl-C, from a backup). A mutation that
# leaves the test passing is reported as SURVIVED and makes the script exit non-zero.
#
#   scripts/mutation-check-runtime.sh
#
# Needs `make` (plugins) first; each mutation costs one incremental `swift build --build-tests`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$(swift build --show-bin-path)
xctest="$bin/rlaxPackageTests.xctest"
scratch=$(mktemp -d)
backup="$scratch/backup"
mkdir -p "$backup"
restore() {
  for f in "$backup"/*; do [[ -e $f ]] && cp "$f" "$root/Sources/RlaxRuntime/$(basename "$f")"; done
  rm -rf "$scratch"
}
trap restore EXIT

# file|sed expression|test class|what the mutation means
mutations=(
  "RLRun.swift|s/while kept.count < rl.promptsPerStep \&\& refill < rl.maxRefills {/while kept.count < rl.promptsPerStep \&\& refill < 0 {/|DynamicSamplingTests|no refills"
  "RLRun.swift|s/while kept.count < rl.promptsPerStep \&\& refill < rl.maxRefills {/while kept.count <= rl.promptsPerStep \&\& refill < rl.maxRefills {/|DynamicSamplingTests|one refill round too many"
  "RLRun.swift|s/groups = Array(kept.prefix(rl.promptsPerStep))/groups = Array(kept.suffix(rl.promptsPerStep))/|DynamicSamplingTests|keeps the last kept groups, not the first"
  "RLRun.swift|s/groups = Array(kept.prefix(rl.promptsPerStep))/groups = Array(groups.prefix(rl.promptsPerStep))/|DynamicSamplingTests|trains on the first groups, unfiltered"
  "RLRun.swift|s/accounting.droppedByDynamicSampling += groups.count - min(kept.count, rl.promptsPerStep)/accounting.droppedByDynamicSampling += groups.count - kept.count/|DynamicSamplingTests|surplus kept groups not counted as dropped"
  "plugin:dapo|s/keep\[i\] = stats\[i\].size > 1 \&\& stats\[i\].spread ? 1 : 0;/keep[i] = stats[i].size > 1 ? 1 : 0;/|DynamicSamplingTests|dapo select_sequences keeps flat groups"
  "ParameterServer.swift|s/for tensor in try store.fetch(version: UInt64(version + 1)) {/for tensor in try store.fetch(version: UInt64(max(version, 1))) {/|AlignmentTests|load reads the version before the one asked for"
  "ParameterServer.swift|s/    for tensor in try store.fetch(version: UInt64(version + 1)) {/    for tensor in try store.fetch(version: UInt64(version + 1)).dropLast() {/|AlignmentTests|load skips one tensor"
  "ParameterServer.swift|s/HostTensor(name: e.name, shape: e.shape, floats: try model.backend.download(params.value(e.name)))/HostTensor(name: e.name, shape: e.shape, floats: try model.backend.download(params.value(e.name)).map { Float(bitPattern: \$0.bitPattern \& 0xFFFF_FF00) })/|AlignmentTests|publish drops the low 8 mantissa bits"
)

survivors=0
for m in "${mutations[@]}"; do
  IFS='|' read -r target expr test meaning <<<"$m"
  env=()
  if [[ $target == plugin:* ]]; then
    name=${target#plugin:}
    mkdir -p "$scratch/src" "$scratch/out"
    cp -r Plugins/algorithms/. "$scratch/src/"
    src=$(ls "$scratch/src/$name"/*.c)
    cp "$src" "$scratch/orig.c"
    sed -i "$expr" "$src"
    if cmp -s "$scratch/orig.c" "$src"; then echo "STALE MUTATION: $meaning"; survivors=$((survivors + 1)); continue; fi
    cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden -I"$root/include" -D_GNU_SOURCE -o "$scratch/out/$name.so" "$src" -lm
    env=(RLAX_PLUGIN_PATH="$scratch/out")
  else
    file="Sources/RlaxRuntime/$target"
    cp "$file" "$backup/$target"
    sed -i "$expr" "$file"
    if cmp -s "$backup/$target" "$file"; then echo "STALE MUTATION: $meaning"; survivors=$((survivors + 1)); continue; fi
  fi
  swift build --build-tests >"$scratch/build.log" 2>&1 || { echo "BUILD FAILED: $meaning"; grep error: "$scratch/build.log" | head; exit 2; }
  if env "${env[@]}" "$xctest" "RlaxRuntimeTests.$test" >"$scratch/test.log" 2>&1; then
    echo "SURVIVED $meaning ($test passes)"
    survivors=$((survivors + 1))
  else
    echo "KILLED   $meaning"
    grep -E ": error: " "$scratch/test.log" | sed -E 's/^.*\.swift:[0-9]+: error: [A-Za-z]+\.[A-Za-z]+ : //' | cut -c1-250 | head -2 | sed 's/^/    /' || true
  fi
  [[ $target == plugin:* ]] || cp "$backup/$target" "$file"
done
swift build --build-tests >/dev/null 2>&1
echo "${#mutations[@]} mutations, $survivors survived"
[[ $survivors -eq 0 ]]
