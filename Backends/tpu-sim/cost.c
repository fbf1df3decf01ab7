/* tpu-sim: the cost model (see cost.h and docs/tpu-sim.md). */
#include "cost.h"

void ts_config_defaults(ts_config *c) {
  *c = (ts_config){
      .peak_flops_bf16 = 459e12,        /* Cloud TPU v5p docs: 459 TFLOP/s bf16 per chip */
      .peak_flops_f32 = 459e12 / 3.0,   /* estimate: fp32 matmul as 3 bf16 passes */
      .vpu_flops = 7.172e12,            /* estimate: 2 TC x 8x128 lanes x 2 ALUs x 1.751 GHz */
      .hbm_bandwidth = 2765e9,          /* Cloud TPU v5p docs: 2765 GB/s per chip */
      .op_overhead = 1e-6,              /* assumption: ~1 us per op */
      .mxu_tile = 128,                  /* 128x128 MXU */
      .hbm_bytes = 95ull << 30,         /* Cloud TPU v5p docs: 95 GiB per chip */
      .dims = {2, 2, 1},                /* v5p-8 */
      .chips = 4,
      .ici_link_bandwidth = 9e10,       /* scaling book: 9e10 B/s one way per link */
      .ici_hop_latency = 1e-6,          /* scaling book: ~1 us per hop */
      .preempt_every = 0.0,
      .preempt_prob = 0.0,
      .preempt_seed = 0,
  };
}

int64_t ts_pad(int64_t n, int64_t tile) {
  if (n <= 0) return 0;
  if (tile <= 1) return n;
  return (n + tile - 1) / tile * tile;
}

double ts_matmul_mxu_flops(const ts_config *c, int64_t batch, int64_t m, int64_t n, int64_t k) {
  const int64_t t = c->mxu_tile;
  return 2.0 * (double)batch * (double)ts_pad(m, t) * (double)ts_pad(n, t) * (double)ts_pad(k, t);
}

double ts_mxu_efficiency(const ts_config *c, int64_t m, int64_t n, int64_t k) {
  const double padded = ts_matmul_mxu_flops(c, 1, m, n, k);
  if (padded <= 0.0) return 1.0;
  return 2.0 * (double)m * (double)n * (double)k / padded;
}

double ts_attention_mxu_flops(const ts_config *c, int64_t b, int64_t hq, int64_t t, int64_t s,
                              int64_t d, int matmuls) {
  return (double)matmuls * ts_matmul_mxu_flops(c, b * hq, t, s, d);
}

static double max3(double a, double b, double c) {
  double m = a > b ? a : b;
  return m > c ? m : c;
}

ts_cost ts_op_cost(const ts_config *c, double mxu_flops, double vpu_flops, double bytes) {
  const double mxu = c->peak_flops_bf16 > 0 ? mxu_flops / c->peak_flops_bf16 : 0.0;
  const double vpu = c->vpu_flops > 0 ? vpu_flops / c->vpu_flops : 0.0;
  const double hbm = c->hbm_bandwidth > 0 ? bytes / c->hbm_bandwidth : 0.0;
  const double compute = mxu > vpu ? mxu : vpu;
  return (ts_cost){.seconds = max3(mxu, vpu, hbm),
                   .overhead = c->op_overhead,
                   .bound = hbm > compute ? TS_BOUND_MEMORY : TS_BOUND_COMPUTE};
}

double ts_op_seconds(const ts_config *c, double mxu_flops, double vpu_flops, double bytes) {
  const ts_cost t = ts_op_cost(c, mxu_flops, vpu_flops, bytes);
  return t.seconds + t.overhead;
}

bool ts_has_wraparound(const int dims[3]) {
  for (int i = 0; i < 3; i++)
    if (dims[i] < 4 || dims[i] % 4 != 0) return false;
  return true;
}

double ts_allreduce_seconds_dims(const int dims[3], double bytes, double link_bandwidth,
                                 double hop_latency) {
  const bool wrap = ts_has_wraparound(dims);
  double bandwidth = 0.0, hops = 0.0;
  for (int i = 0; i < 3; i++) {
    const int d = dims[i];
    if (d <= 1) continue;
    bandwidth += wrap ? 2.0 * link_bandwidth : link_bandwidth;
    hops += wrap ? 2.0 * (double)(d / 2) : 2.0 * (double)(d - 1);
  }
  if (bandwidth <= 0.0) return 0.0; /* one chip: nothing to reduce */
  return 2.0 * bytes / bandwidth + hops * hop_latency;
}

double ts_allreduce_seconds(const ts_config *c, double bytes) {
  return ts_allreduce_seconds_dims(c->dims, bytes, c->ici_link_bandwidth, c->ici_hop_latency);
}

double ts_uniform(uint64_t seed, uint64_t n) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (n + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double)(z >> 11) * (1.0 / 9007199254740992.0); /* 2^53 */
}
