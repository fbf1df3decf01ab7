/*
 * tpu-sim: the cost model — constants of a TPU v5p chip and slice, and the pure functions that
 * turn an op's work into simulated seconds. No state, no I/O: unit-testable on its own.
 * docs/tpu-sim.md gives every formula and the public source of every constant.
 */
#ifndef TPU_SIM_COST_H
#define TPU_SIM_COST_H

#include <stdbool.h>
#include <stdint.h>

/* Every constant is a create option of the same name (--backend-opt name=value). */
typedef struct ts_config {
  /* one chip */
  double peak_flops_bf16; /* MXU, bf16 in / fp32 accumulate, FLOP/s per chip */
  double peak_flops_f32;  /* reported by describe only (MXU fp32 by multi-pass bf16) */
  double vpu_flops;       /* vector unit, fp32 elementwise FLOP/s per chip (an estimate) */
  double hbm_bandwidth;   /* B/s per chip */
  double op_overhead;     /* seconds added to every op (launch / pipeline fill) */
  int64_t mxu_tile;       /* MXU dimension: M, N, K are padded up to multiples of it */
  uint64_t hbm_bytes;     /* HBM capacity per chip */
  /* the slice */
  int dims[3];            /* chips along X, Y, Z */
  int64_t chips;
  double ici_link_bandwidth; /* B/s, one direction of one ICI link */
  double ici_hop_latency;    /* seconds per hop of a collective */
  /* injected preemptions */
  double preempt_every;   /* simulated seconds between preemptions; 0 = off */
  double preempt_prob;    /* probability that an op is preempted; 0 = off */
  uint64_t preempt_seed;
} ts_config;

/* TPU v5p defaults: a v5p-8 slice (2x2x1, 4 chips), 95 GiB HBM, 459 TFLOP/s, 2765 GB/s. */
void ts_config_defaults(ts_config *c);

/* n rounded up to a multiple of tile (0 stays 0). */
int64_t ts_pad(int64_t n, int64_t tile);

/* FLOPs the MXU spends on batch x [M,K]@[K,N]: 2 * batch * pad(M) * pad(N) * pad(K). */
double ts_matmul_mxu_flops(const ts_config *c, int64_t batch, int64_t m, int64_t n, int64_t k);

/* MXU efficiency of one [M,K]@[K,N]: M*N*K / (pad(M) * pad(N) * pad(K)); 1 for an empty one. */
double ts_mxu_efficiency(const ts_config *c, int64_t m, int64_t n, int64_t k);

/* MXU FLOPs of attention over B x Hq heads of T queries, S keys, head dim D: `matmuls` dense
 * [T,S,D] products per head (2 forward: q.k and p.v; 5 backward), each padded. */
double ts_attention_mxu_flops(const ts_config *c, int64_t b, int64_t hq, int64_t t, int64_t s,
                              int64_t d, int matmuls);

/* What bounded an op's time: the bucket of the counters' split that its time goes to. */
typedef enum ts_bound {
  TS_BOUND_COMPUTE = 0,   /* MXU or VPU (ties with HBM count as compute) */
  TS_BOUND_MEMORY = 1,    /* HBM bandwidth */
  TS_BOUND_COLLECTIVE = 2 /* ICI (all_reduce) */
} ts_bound;

/* One op's simulated time: `seconds` of its bounding unit plus a fixed `overhead`. */
typedef struct ts_cost {
  double seconds;  /* the bound: max(MXU, VPU, HBM) time, or the collective's time */
  double overhead; /* op_overhead, or 0 for a collective */
  ts_bound bound;
} ts_cost;

/* The roofline: seconds = max(MXU time, VPU time, HBM time), overhead = op_overhead; bound is
 * MEMORY when the HBM time exceeds both compute times, else COMPUTE. */
ts_cost ts_op_cost(const ts_config *c, double mxu_flops, double vpu_flops, double bytes);

/* ts_op_cost's seconds + overhead. */
double ts_op_seconds(const ts_config *c, double mxu_flops, double vpu_flops, double bytes);

/* True when a slice of these dims has wraparound (torus) links: every dimension a multiple of
 * 4, i.e. the slice is made of whole 4x4x4 cubes. Smaller slices are open meshes. */
bool ts_has_wraparound(const int dims[3]);

/* Data-parallel all-reduce of `bytes` (each chip holds the full array) over every chip of the
 * slice: a reduce-scatter then an all-gather, each run on the slice's axes at once (so their
 * bandwidths add), bandwidth plus latency:
 *   T = 2 * bytes / sum_axes W_axis  +  hop_latency * sum_axes hops_axis
 * over the axes of size d > 1, where W_axis = 2 * link (bidirectional ring) and hops_axis =
 * 2 * floor(d / 2) with wraparound, W_axis = link and hops_axis = 2 * (d - 1) without.
 * 0 for a single chip. */
double ts_allreduce_seconds_dims(const int dims[3], double bytes, double link_bandwidth,
                                 double hop_latency);
double ts_allreduce_seconds(const ts_config *c, double bytes);

/* A uniform number in [0, 1) from (seed, n): SplitMix64, deterministic. */
double ts_uniform(uint64_t seed, uint64_t n);

#endif /* TPU_SIM_COST_H */
