#!/usr/bin/env bash
# scripts/mutation-check.sh — shows that Tests/RlaxPluginsTests/AlgorithmFormulaTests.swift
# fails when an algorithm plugin's formula is wrong (issue 17).
#
# For each mutation below: copy the plugin's C file and the shared headers to a scratch
# directory, apply one sed edit to the copy (the tree is never touched), build the copy with
# plain `cc -shared -fPIC -Iinclude`, and run the formula tests against it
# (RLAX_FORMULA_PLUGIN_DIR makes the test load the scratch .so). A mutation is "killed" when
# the test fails; the script prints the first failing assertion. It also checks first that
# every unmutated copy passes, and exits non-zero if any mutation survives.
#
#   scripts/mutation-check.sh              every mutation
#   scripts/mutation-check.sh rloo dapo    the mutations of these algorithms
#
# Needs the test binary built (`make && swift build --build-tests`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$(swift build --show-bin-path)
xctest="$bin/rlaxPackageTests.xctest"
[[ -x $xctest ]] || { echo "missing $xctest: run make && swift build --build-tests" >&2; exit 2; }
CC=${CC:-cc}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# name|source file (under Plugins/algorithms)|file to edit (relative to the copy)|sed expression|test|what the mutation means
mutations=(
  "grpo|grpo/grpo.c|shared/groups.h|s/var \/= size;/var \/= (size - 1);/|testGRPOAgainstFloat64Reference|sample std (G - 1) instead of the population std"
  "grpo|grpo/grpo.c|shared/policy_loss.h|s/if (use_kl) g += beta \* dkl;/if (use_kl) g -= beta * dkl;/|testGRPOAgainstFloat64Reference|KL gradient with the wrong sign"
  "grpo|grpo/grpo.c|shared/policy_loss.h|s/const double w = 1.0 \/ ((double)n \* len);/const double w = 1.0 \/ ((double)n * (double)t);/|testGRPOAgainstFloat64Reference|1/T (padded length) instead of 1/|o_i|"
  "grpo|grpo/grpo.c|shared/policy_loss.h|s/if (unclipped <= clip_term) return/if (unclipped < clip_term) return/|testGRPOAgainstFloat64Reference|ties (rho inside the clip range) take the clipped branch: no gradient"
  "grpo|grpo/grpo.c|grpo/grpo.c|s/row_adv = a == 0.0 ? 0.0 : a \* scale;/row_adv = a * scale;/|testGRPOAgainstFloat64Reference|no guard for a group of equal rewards (0 / 0 with adv_eps = 0)"
  "cispo|cispo/cispo.c|shared/groups.h|s/if (s->size > 1 \&\& s->spread) {/if (s->size > 1) {/|testCISPOAgainstFloat64Reference|no guard for a group of equal rewards (0 / 0 with adv_eps = 0)"
  "rloo|rloo/rloo.c|shared/policy_loss.h|s/const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_low), 1.0 + eps_high);/const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_low), 1.0 + eps_high + 0.005);/|testRLOOAgainstFloat64Reference|upper clip edge 1 + eps_high + 0.005"
  "dapo|dapo/dapo.c|shared/policy_loss.h|s/const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_low), 1.0 + eps_high);/const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_high), 1.0 + eps_low);/|testDAPOAgainstFloat64Reference|eps_low and eps_high swapped"
  "dr-grpo|dr-grpo/dr_grpo.c|dr-grpo/dr_grpo.c|s/(double)b->num_sequences \* (double)b->max_response_tokens/alg_mask_total(b)/|testDrGRPOAgainstFloat64Reference|token mean (sum |o_i|) instead of the constant N L_max"
  "dr-grpo|dr-grpo/dr_grpo.c|dr-grpo/dr_grpo.c|s/b, false, 0.0, advantages/b, true, 0.0, advantages/|testDrGRPOAgainstFloat64Reference|advantages divided by the group std"
  "dapo|dapo/dapo.c|dapo/dapo.c|s/hp\[HP_CLIP_HIGH\], 0.0, alg_mask_total(b));/hp[HP_CLIP_HIGH], 0.0, (double)b->num_sequences);/|testDAPOAgainstFloat64Reference|sum over N instead of the token mean"
  "dapo|dapo/dapo.c|dapo/dapo.c|s/return (soft_start - length) \/ l_cache;/return (soft_start - length) \/ l_max;/|testDAPOAgainstFloat64Reference|overlong penalty over L_max instead of L_cache"
  "dapo|dapo/dapo.c|dapo/dapo.c|s/keep\[i\] = stats\[i\].size > 1 \&\& stats\[i\].spread ? 1 : 0;/keep[i] = stats[i].size > 1 ? 1 : 0;/|testDAPOAgainstFloat64Reference|dynamic sampling keeps flat groups"
  "dapo|dapo/dapo.c|dapo/dapo.c|s/0.28, 0.0, 10.0),/0.2, 0.0, 10.0),/|testDAPOAgainstFloat64Reference|clip_high default 0.2 instead of clip-higher 0.28"
  "gspo|gspo/gspo.c|gspo/gspo.c|s/    log_ratio \/= len;//|testGSPOAgainstFloat64Reference|sequence ratio without the 1/|o_i| (product of token ratios)"
  "gspo|gspo/gspo.c|gspo/gspo.c|s/const double g = -w \* c.d_surrogate \/ len;/const double g = -w * c.d_surrogate;/|testGSPOAgainstFloat64Reference|gradient without d log s / d logp = 1/|o_i|"
  "gspo|gspo/gspo.c|shared/policy_loss.h|s/const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_low), 1.0 + eps_high);/const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_high), 1.0 + eps_low);/|testGSPOAgainstFloat64Reference|sequence clip edges swapped (1 - 4e-4, 1 + 3e-4)"
  "cispo|cispo/cispo.c|cispo/cispo.c|s/hi = 1.0 + hp\[HP_CLIP_HIGH\];/hi = 1.0 + hp[HP_CLIP_HIGH] + 0.005;/|testCISPOAgainstFloat64Reference|upper weight clip 1 + eps_high + 0.005"
  "cispo|cispo/cispo.c|cispo/cispo.c|s/grad\[k\] = (float)(-w \* m \* weight \* adv);/grad[k] = (float)(-w * m * exp(x) * adv);/|testCISPOAgainstFloat64Reference|unclipped IS weight in the gradient"
  "cispo|cispo/cispo.c|cispo/cispo.c|s/return hi \* (1.0 + x - log(hi));/return hi;/|testCISPOAgainstFloat64Reference|reported loss not the surrogate with derivative clip(rho)"
  "rloo|rloo/rloo.c|shared/groups.h|s/out\[order\[k\].row\] = xi - (sum - xi) \/ (double)(size - 1);/out[order[k].row] = xi - sum \/ (double)size;/|testRLOOAgainstFloat64Reference|group mean (with itself) instead of the leave-one-out baseline"
  "reinforce-pp|reinforce-pp/reinforce_pp.c|shared/returns.h|s/x\[k\] = (x\[k\] - mean) \/ denom;/x[k] = x[k] - mean;/|testREINFORCEPPAgainstFloat64Reference|global whitening without the std division"
  "reinforce-pp|reinforce-pp/reinforce_pp.c|shared/returns.h|s/if (last >= 0) out\[last\] += reward;/if (last >= 0) out[0] += reward;/|testREINFORCEPPAgainstFloat64Reference|sequence reward on the first token instead of the last counted one"
  "reinforce-pp|reinforce-pp/reinforce_pp.c|shared/returns.h|s/next = rewards\[j\] + gamma \* next;/next = rewards[j] + next;/|testREINFORCEPPAgainstFloat64Reference|return without the discount gamma"
  "ppo|ppo/ppo.c|shared/returns.h|s/next_adv = delta + gamma \* lambda \* next_adv;/next_adv = delta + gamma * next_adv;/|testPPOAgainstFloat64Reference|GAE without lambda"
  "ppo|ppo/ppo.c|ppo/ppo.c|s/if (lu >= lc) {/if (lu <= lc) {/|testPPOAgainstFloat64Reference|value loss takes the min instead of the max"
  "ppo|ppo/ppo.c|shared/returns.h|s/if (ret) ret\[j\] = next_adv + v;/if (ret) ret[j] = next_adv;/|testPPOAgainstFloat64Reference|value target R = A instead of A + V"
  "ppo|ppo/ppo.c|ppo/ppo.c|s/const double v_clip = v_old + fmin(fmax(d, -vf_clip), vf_clip);/const double v_clip = v_old + fmin(fmax(d, -vf_clip), 1.05 * vf_clip);/|testPPOAgainstFloat64Reference|upper value clip 5% wide"
  "mdloo|mdloo/mdloo.c|mdloo/mdloo.c|s/eta \* (1.0 - 1.0 \/ rho)/eta * (1.0 - rho)/|testMDLOOAgainstFloat64Reference|mirror-descent gradient of the wrong KL direction"
  "mdloo|mdloo/mdloo.c|mdloo/mdloo.c|s/shaped\[i\] = (double)b->rewards\[i\] - beta \* kl;/shaped[i] = (double)b->rewards[i] + beta * kl;/|testMDLOOAgainstFloat64Reference|KL shaping with the wrong sign"
  "mdloo|mdloo/mdloo.c|shared/groups.h|s/out\[order\[k\].row\] = xi - (sum - xi) \/ (double)(size - 1);/out[order[k].row] = xi - sum \/ (double)size;/|testMDLOOAgainstFloat64Reference|group mean instead of leave-one-out"
)

# The hand-worked tests of each algorithm, run too for every mutation.
hand_test() {
  case $1 in
    grpo) echo testGRPOHandWorked ;; dr-grpo) echo testDrGRPOHandWorked ;; dapo) echo testDAPOHandWorked ;;
    gspo) echo testGSPOHandWorked ;; cispo) echo testCISPOHandWorked ;; rloo) echo testRLOOHandWorked ;;
    reinforce-pp) echo testREINFORCEPPHandWorked ;; ppo) echo testPPOHandWorked ;; mdloo) echo testMDLOOHandWorked ;;
  esac
}

build() { # name source-file dir -> dir/name.so from dir/src
  local name=$1 source=$2 dir=$3
  "$CC" -std=c11 -O2 -fPIC -shared -fvisibility=hidden -I"$root/include" -D_GNU_SOURCE \
    -o "$dir/out/$name.so" "$dir/src/$source" -lm 2>"$dir/cc.log" || { cat "$dir/cc.log" >&2; return 1; }
}

run_test() { # dir test -> exit status; output in dir/test.log
  RLAX_FORMULA_PLUGIN_DIR="$1/out" "$xctest" "RlaxPluginsTests.AlgorithmFormulaTests/$2" >"$1/$2.log" 2>&1
}

wanted=" $* "
survivors=0
i=0
declare -A baseline_done=()
for m in "${mutations[@]}"; do
  IFS='|' read -r name source edit expr test meaning <<<"$m"
  [[ $# -eq 0 || $wanted == *" $name "* ]] || continue
  i=$((i + 1))
  dir="$scratch/$i"
  mkdir -p "$dir/src" "$dir/out"
  cp -r Plugins/algorithms/. "$dir/src/"
  if [[ -z ${baseline_done[$name]:-} ]]; then
    build "$name" "$source" "$dir"
    for t in "$test" "$(hand_test "$name")"; do
      run_test "$dir" "$t" || { echo "BASELINE FAILS: $name $t (see below)"; tail -20 "$dir/$t.log"; exit 1; }
    done
    baseline_done[$name]=1
  fi
  cp "$dir/src/$edit" "$dir/orig"
  sed -i "$expr" "$dir/src/$edit"
  if cmp -s "$dir/orig" "$dir/src/$edit"; then
    echo "STALE MUTATION (sed matched nothing): $name: $meaning"
    survivors=$((survivors + 1))
    continue
  fi
  build "$name" "$source" "$dir"
  killed=""
  for t in "$test" "$(hand_test "$name")"; do
    if ! run_test "$dir" "$t"; then
      first=$(grep -m1 -E ": error: " "$dir/$t.log" | sed -E 's/^.*AlgorithmFormulaTests\.swift:[0-9]+: error: //' | cut -c1-300)
      killed+="    $t: $first"$'\n'
    fi
  done
  if [[ -n $killed ]]; then
    echo "KILLED   $name: $meaning"
    printf '%s' "$killed"
  else
    echo "SURVIVED $name: $meaning"
    survivors=$((survivors + 1))
  fi
done
echo "$i mutations, $survivors survived"
[[ $survivors -eq 0 ]]
