#include "model/arch/blocks.h"

#include <algorithm>
#include <string>

#include "ops/elementwise.h"
#include "util/error.h"

namespace strata {

RopeParams rope_params(const HParams& hp, RopeMode mode) {
  RopeParams rp;
  rp.n_rot = hp.n_rot;
  rp.mode = mode;
  rp.freq_base = hp.rope_freq_base;
  rp.beta_fast = hp.yarn_beta_fast;
  rp.beta_slow = hp.yarn_beta_slow;
  rp.n_ctx_orig = hp.rope_orig_ctx ? hp.rope_orig_ctx : hp.n_ctx_train;
  const bool scaled = hp.rope_scaling == "linear" || hp.rope_scaling == "yarn";
  if (scaled && hp.rope_scaling_factor > 0) rp.freq_scale = 1.0f / hp.rope_scaling_factor;
  if (hp.rope_scaling == "yarn") rp.ext_factor = 1.0f;
  return rp;
}

void check_rope_dims(const RopeParams& rope, int64_t head_dim, const std::string& source, const std::string& arch) {
  if (rope.n_rot <= 0 || rope.n_rot % 2 != 0 || rope.n_rot > head_dim)
    throw FormatError(source, 0, arch + ".rope.dimension_count",
                      std::to_string(rope.n_rot) + " must be even and in 2.." + std::to_string(head_dim) +
                          " (the key head width)");
}

namespace {

// gate[i] = silu(gate[i]) * up[i] for every row (the level's SIMD version where there is one); rows of a
// prefill batch are spread over the pool.
void swiglu_rows(ForwardCtx& ctx, const Mat& gate, const Mat& up) {
  const int64_t n = gate.cols;
  // ActivationMode::F32 is the scalar reference path throughout.
  const bool simd = ctx.act_mode == ActivationMode::Quantized && ctx.kernels && ctx.kernels->swiglu;
  const cpu::SwigluFn fn = simd ? ctx.kernels->swiglu : swiglu;
  if (gate.rows * n < (1 << 16)) {
    for (int64_t t = 0; t < gate.rows; ++t) fn(gate.row(t), up.row(t), n);
    return;
  }
  ctx.pool.parallel_for(gate.rows, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) fn(gate.row(t), up.row(t), n);
  });
}

}  // namespace

void ffn_swiglu(ForwardCtx& ctx, const WeightView& gate, const WeightView& up, const WeightView& down,
                const Mat& x, const Mat& out) {
  const int64_t n_ff = gate.rows();
  Mat g = ctx.ws.mat(kSlotFfnGate, x.rows, n_ff);
  Mat u = ctx.ws.mat(kSlotFfnUp, x.rows, n_ff);
  ctx.matmuls({{gate, x, g}, {up, x, u}});
  swiglu_rows(ctx, g, u);
  ctx.matmul(down, g, out);
}

void embed_tokens(ForwardCtx& ctx, const WeightView& token_embd, const Batch& b, const Mat& out) {
  get_rows(token_embd, b.tokens, b.n, out);
}

void output_head(ForwardCtx& ctx, const float* norm, float eps, const WeightView& output, const Mat& h,
                 const Batch& b, const Mat& logits) {
  const int64_t first = b.all_logits ? 0 : b.n - 1;
  const int64_t n = b.n - first;
  Mat xn = ctx.ws.mat(kSlotNorm, n, h.cols);
  for (int64_t i = 0; i < n; ++i) rms_norm(h.row(first + i), norm, h.cols, eps, xn.row(i));
  ctx.dump("result_norm", xn);
  ctx.matmul(output, xn, rows_of(logits, 0, n));
  ctx.dump("result_output", rows_of(logits, 0, n));
}

RouterGating router_gating(GatingFunc g, RouterGating arch_default) {
  switch (g) {
    case GatingFunc::None: return arch_default;
    case GatingFunc::Softmax: return RouterGating::Softmax;
    case GatingFunc::Sigmoid: return RouterGating::Sigmoid;
    case GatingFunc::SoftmaxWeight: return RouterGating::SoftmaxWeight;
  }
  throw UnsupportedError("expert_gating_func " + std::to_string(static_cast<uint32_t>(g)) + " is not supported");
}

MoeTensors require_moe(const Weights& w, int layer, int64_t n_embd, int64_t n_ff, int64_t n_expert,
                       bool with_sel_bias) {
  MoeTensors t;
  t.router = w.require(layer, "ffn_gate_inp.weight", {n_embd, n_expert});
  t.router_bias = w.optional(layer, "ffn_gate_inp.bias", {n_expert}, true);
  if (with_sel_bias) t.sel_bias = w.optional(layer, "exp_probs_b.bias", {n_expert}, true);
  t.gate_up_exps = w.optional(layer, "ffn_gate_up_exps.weight", {n_embd, 2 * n_ff, n_expert});
  if (!t.gate_up_exps.valid()) {
    t.gate_exps = w.require(layer, "ffn_gate_exps.weight", {n_embd, n_ff, n_expert});
    t.up_exps = w.require(layer, "ffn_up_exps.weight", {n_embd, n_ff, n_expert});
  }
  t.down_exps = w.require(layer, "ffn_down_exps.weight", {n_ff, n_embd, n_expert});
  return t;
}

void moe_ffn(ForwardCtx& ctx, const Weights& w, int layer, const MoeTensors& t, const MoeConfig& cfg,
             const Mat& x, const Mat& out) {
  const RoutingParams& rp = cfg.routing;
  const int64_t n_tok = x.rows, n_embd = x.cols, E = rp.n_expert, k = rp.k;

  // Router logits in F32 for the whole batch.
  Mat logits = ctx.ws.mat(kSlotMoeLogits, n_tok, E);
  ctx.matmul(w.view(t.router), x, logits);
  if (t.router_bias.valid()) {
    const float* rb = w.f32(t.router_bias);
    for (int64_t i = 0; i < n_tok; ++i) axpy(logits.row(i), rb, 1.0f, E);
  }
  ctx.dump(layer, "ffn_moe_logits", logits);

  std::vector<int32_t>& ids = ctx.ws.ints(0);
  ids.resize(n_tok * k);
  float* wts = ctx.ws.get(kSlotMoeTmp, n_tok * k + 2 * E);
  float* scratch = wts + n_tok * k;
  const float* sel_bias = t.sel_bias.valid() ? w.f32(t.sel_bias) : nullptr;
  for (int64_t i = 0; i < n_tok; ++i) {
    route_token(rp, logits.row(i), sel_bias, scratch, ids.data() + i * k, wts + i * k);
    if (ctx.usage)
      for (int64_t j = 0; j < k; ++j) ctx.usage->add(layer, ids[i * k + j]);
  }
  if (ctx.dumping()) {
    Mat wm{wts, n_tok, k, k};
    ctx.dump(layer, "ffn_moe_weights", wm);
    Mat idm = ctx.ws.mat(kSlotMoeOut, n_tok, k);
    for (int64_t i = 0; i < n_tok * k; ++i) idm.data[i] = static_cast<float>(ids[i]);
    ctx.dump(layer, "ffn_moe_ids", idm);
  }

  // Group (token, slot) pairs by expert so each selected expert's weights are read once per batch.
  // A counting sort (stable, no allocation once the buffers have grown): sorted position s holds pair
  // order[s]; expert e owns positions first[e] .. first[e + 1] - 1; pair p sits at position pos[p].
  const int64_t P = n_tok * k;
  std::vector<int32_t>& order = ctx.ws.ints(1);
  std::vector<int32_t>& first = ctx.ws.ints(2);
  std::vector<int32_t>& pos = ctx.ws.ints(3);
  order.resize(P);
  pos.resize(P);
  first.assign(E + 1, 0);
  for (int64_t i = 0; i < P; ++i) ++first[ids[i] + 1];
  for (int64_t e = 0; e < E; ++e) first[e + 1] += first[e];
  {
    std::vector<int32_t>& fill = ctx.ws.ints(4);
    fill.assign(first.begin(), first.end() - 1);
    for (int64_t i = 0; i < P; ++i) {
      const int32_t s = fill[ids[i]]++;
      order[s] = static_cast<int32_t>(i);
      pos[i] = s;
    }
  }

  // Decode (one token): every expert reads the same row, so it is quantized once and nothing is
  // gathered. Prefill: each expert's tokens are gathered into a contiguous block.
  const bool one_token = n_tok == 1;
  Mat X = one_token ? x : ctx.ws.mat(kSlotMoeX, P, n_embd);
  if (!one_token)
    for (int64_t s = 0; s < P; ++s) std::copy_n(x.row(order[s] / k), n_embd, X.row(s));

  const int64_t ff = cfg.n_ff, ffs = cfg.n_ff_shexp;
  const bool shared = t.gate_shexp.valid();
  Mat GU = ctx.ws.mat(kSlotFfnGate, P, 2 * ff);
  Mat YD = ctx.ws.mat(kSlotMoeOut, P, n_embd);
  Mat SH = shared ? ctx.ws.mat(kSlotMoeShared, n_tok, 2 * ffs) : Mat{};
  Mat YS = shared ? ctx.ws.mat(kSlotMoeSharedOut, n_tok, n_embd) : Mat{};

  std::vector<MatMulOp>& ops = ctx.ws.ops();
  ops.clear();
  for (int64_t e = 0; e < E; ++e) {
    const int64_t s0 = first[e], m = first[e + 1] - s0;
    if (m == 0) continue;
    const Mat xe = one_token ? x : rows_of(X, s0, m);
    const Mat gu = rows_of(GU, s0, m);
    if (t.gate_up_exps.valid()) {
      // Fused layout: per expert the first n_ff rows are the gate, the next n_ff the up projection,
      // which is exactly the [gate | up] row layout of GU.
      ops.push_back({w.expert(t.gate_up_exps, static_cast<int>(e)), xe, gu});
    } else {
      ops.push_back({w.expert(t.gate_exps, static_cast<int>(e)), xe, cols_of(gu, 0, ff)});
      ops.push_back({w.expert(t.up_exps, static_cast<int>(e)), xe, cols_of(gu, ff, ff)});
    }
  }
  if (shared) {
    ops.push_back({w.view(t.gate_shexp), x, cols_of(SH, 0, ffs)});
    ops.push_back({w.view(t.up_shexp), x, cols_of(SH, ffs, ffs)});
  }
  ctx.matmuls(ops);

  swiglu_rows(ctx, cols_of(GU, 0, ff), cols_of(GU, ff, ff));
  if (shared) swiglu_rows(ctx, cols_of(SH, 0, ffs), cols_of(SH, ffs, ffs));

  ops.clear();
  for (int64_t e = 0; e < E; ++e) {
    const int64_t s0 = first[e], m = first[e + 1] - s0;
    if (m == 0) continue;
    ops.push_back({w.expert(t.down_exps, static_cast<int>(e)), cols_of(rows_of(GU, s0, m), 0, ff),
                   rows_of(YD, s0, m)});
  }
  if (shared) ops.push_back({w.view(t.down_shexp), cols_of(SH, 0, ffs), YS});
  ctx.matmuls(ops);

  auto combine = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float* o = out.row(i);
      if (shared) std::copy_n(YS.row(i), n_embd, o);
      else std::fill_n(o, n_embd, 0.0f);
      for (int64_t j = 0; j < k; ++j) axpy(o, YD.row(pos[i * k + j]), wts[i * k + j], n_embd);
    }
  };
  if (n_tok < 4) combine(0, n_tok);
  else ctx.pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e, int) { combine(b, e); });
}

}  // namespace strata
