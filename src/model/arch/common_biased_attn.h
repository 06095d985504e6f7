// Grouped-query self-attention with biased q/k/v projections, optional per-head q/k RMSNorm and NEOX RoPE
// over the first n_rot dims of each head: the attention of qwen2moe and glm4moe (FORMATS.md 4.5, 4.7).
// Kept here rather than in blocks.* so those two architectures can add it without touching the shared
// blocks; it only composes the shared ops.
//
//   q = Wq x + bq,  k = Wk x + bk,  v = Wv x + bv
//   q, k = per-head RMSNorm(q; attn_q_norm), (k; attn_k_norm)     when the file has the norms
//   q, k = RoPE_neox(q), RoPE_neox(k)                             first n_rot dims per head; the rest pass
//   out  = Wo · Attn(q, k, v)                                     scale 1/sqrt(head_dim), no output bias
#pragma once

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "model/arch/blocks.h"
#include "ops/elementwise.h"
#include "util/error.h"

namespace strata {

// Workspace slots of this block; architecture files using it keep to kArchSlots .. kAttnSlots - 1.
inline constexpr int kAttnSlots = kArchSlots + 8;
inline constexpr int kAttnQ = kAttnSlots, kAttnK = kAttnSlots + 1, kAttnV = kAttnSlots + 2, kAttnOut = kAttnSlots + 3,
                     kAttnRope = kAttnSlots + 4;

enum class QkNorm { Absent, Optional };

class BiasedAttention {
 public:
  // Resolves the attention tensors of layers 0 .. n_layer - 1 and checks the head geometry.
  BiasedAttention(const HParams& hp, const Weights& w, int n_layer, QkNorm qk_norm)
      : w_(w), H_(hp.n_head), Hkv_(hp.n_head_kv), eps_(hp.rms_eps) {
    const std::string a = hp.arch + ".";
    if (hp.n_head == 0 || hp.n_head_kv == 0 || hp.n_embd == 0)
      throw FormatError(w.source(), 0, a + "attention.head_count", "head and embedding counts must be > 0");
    if (hp.n_head % hp.n_head_kv != 0)
      throw FormatError(w.source(), 0, a + "attention.head_count_kv",
                        std::to_string(hp.n_head_kv) + " KV heads do not divide " + std::to_string(hp.n_head) +
                            " query heads");
    E_ = hp.n_embd;
    dk_ = hp.head_dim_k ? hp.head_dim_k : E_ / hp.n_head;
    dv_ = hp.head_dim_v ? hp.head_dim_v : dk_;
    if (dk_ == 0 || dv_ == 0)
      throw FormatError(w.source(), 0, a + "attention.key_length", "head width must be > 0");
    rope_ = rope_params(hp, RopeMode::Neox);
    // Partial rotary (GLM: half of each head) is fine; more rotated dims than the head holds is not.
    check_rope_dims(rope_, dk_, w.source(), hp.arch);

    const int64_t H = hp.n_head, Hkv = hp.n_head_kv;
    for (int l = 0; l < n_layer; ++l) {
      Layer L;
      L.wq = w.require(l, "attn_q.weight", {E_, H * dk_});
      L.bq = w.require(l, "attn_q.bias", {H * dk_}, true);
      L.wk = w.require(l, "attn_k.weight", {E_, Hkv * dk_});
      L.bk = w.require(l, "attn_k.bias", {Hkv * dk_}, true);
      L.wv = w.require(l, "attn_v.weight", {E_, Hkv * dv_});
      L.bv = w.require(l, "attn_v.bias", {Hkv * dv_}, true);
      L.wo = w.require(l, "attn_output.weight", {H * dv_, E_});
      if (qk_norm == QkNorm::Optional) {
        L.q_norm = w.optional(l, "attn_q_norm.weight", {dk_}, true);
        L.k_norm = w.optional(l, "attn_k_norm.weight", {dk_}, true);
        // One without the other is a broken file, not a model variant.
        if (L.q_norm.valid() != L.k_norm.valid())
          throw FormatError(w.source(), 0,
                            "blk." + std::to_string(l) + (L.q_norm.valid() ? ".attn_k_norm.weight" : ".attn_q_norm.weight"),
                            "required tensor is missing (attn_q_norm and attn_k_norm come as a pair)");
      }
      layers_.push_back(L);
    }
  }

  int64_t dk() const { return dk_; }
  int64_t dv() const { return dv_; }
  std::vector<KvLayerLayout> kv_layout() const {
    return std::vector<KvLayerLayout>(layers_.size(), KvLayerLayout{Hkv_ * dk_, Hkv_ * dv_, std::gcd(dk_, dv_)});
  }

  // Per-batch state: positions and the RoPE table, computed once and shared by every layer.
  struct Prepared {
    const int32_t* pos;
    const float* rope_cs;
  };
  Prepared prepare(ForwardCtx& ctx, const Batch& b) const {
    const int32_t* pos = ctx.ws.positions(b.pos0, b.n);
    float* cs = ctx.ws.get(kAttnRope, b.n * rope_.n_rot);
    rope_table(rope_, pos, b.n, cs);
    return {pos, cs};
  }

  // out = attention output of layer l for the normalised input x (out may not alias x); stores the
  // batch's K/V rows in the cache.
  void run(ForwardCtx& ctx, KvCache& kv, int l, const Batch& b, const Prepared& p, const Mat& x,
           const Mat& out) const {
    const Layer& L = layers_[l];
    const int64_t n = b.n, H = H_, Hkv = Hkv_;
    Mat q = ctx.ws.mat(kAttnQ, n, H * dk_);
    Mat k = ctx.ws.mat(kAttnK, n, Hkv * dk_);
    Mat v = ctx.ws.mat(kAttnV, n, Hkv * dv_);
    Mat att = ctx.ws.mat(kAttnOut, n, H * dv_);
    project(ctx, L.wq, L.bq, x, q);
    project(ctx, L.wk, L.bk, x, k);
    project(ctx, L.wv, L.bv, x, v);
    if (L.q_norm.valid()) {
      rms_norm_heads(q, H, dk_, w_.f32(L.q_norm), eps_);
      rms_norm_heads(k, Hkv, dk_, w_.f32(L.k_norm), eps_);
      ctx.dump(l, "q_normed", q);
      ctx.dump(l, "k_normed", k);
    }
    rope_apply(rope_, p.rope_cs, q, H, dk_);
    rope_apply(rope_, p.rope_cs, k, Hkv, dk_);
    ctx.dump(l, "q", q);
    ctx.dump(l, "k", k);
    ctx.dump(l, "v", v);

    kv.store_k(l, b.pos0, k, ctx.kernels);
    kv.store_v(l, b.pos0, v, ctx.kernels);
    const AttentionParams ap{H, Hkv, dk_, dv_, 1.0f / std::sqrt(static_cast<float>(dk_))};
    attention(ctx.pool, ap, q, p.pos, kv.k_span(l, 0, dk_), kv.v_span(l, 0, dv_), att, ctx.kernels);
    ctx.dump(l, "kqv_out", att);
    ctx.matmul(w_.view(L.wo), att, out);
  }

 private:
  struct Layer {
    TensorRef wq, bq, wk, bk, wv, bv, wo, q_norm, k_norm;
  };

  void project(ForwardCtx& ctx, TensorRef wt, TensorRef bias, const Mat& x, const Mat& y) const {
    ctx.matmul(w_.view(wt), x, y);
    const float* bv = w_.f32(bias);
    for (int64_t t = 0; t < y.rows; ++t) axpy(y.row(t), bv, 1.0f, y.cols);
  }

  const Weights& w_;
  int64_t H_ = 0, Hkv_ = 0, E_ = 0, dk_ = 0, dv_ = 0;
  float eps_ = 0;
  RopeParams rope_;
  std::vector<Layer> layers_;
};

}  // namespace strata
