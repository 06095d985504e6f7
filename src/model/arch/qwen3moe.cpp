// qwen3moe (Qwen3-30B-A3B, Qwen3-235B-A22B):
//   per layer: x = RMSNorm(h; attn_norm)
//              q, k = per-head RMSNorm(Wq x; attn_q_norm), (Wk x; attn_k_norm), *then* NEOX RoPE
//              h += Wo · Attn(q, k, Wv x)            (GQA, head_dim from key_length, may != n_embd/n_head)
//              h += MoE(RMSNorm(h; ffn_norm))         softmax, top-k, always renormalised (norm_topk_prob)
//   logits = output · RMSNorm(h; output_norm)
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "model/arch/blocks.h"
#include "ops/elementwise.h"
#include "util/error.h"

namespace strata {
namespace {

class Qwen3Moe final : public ArchModel {
 public:
  Qwen3Moe(const HParams& hp, const Weights& w) : ArchModel(hp), w_(w) {
    if (hp.n_head == 0 || hp.n_head_kv == 0 || hp.n_embd == 0 || hp.n_layer == 0)
      throw FormatError(w.source(), 0, "qwen3moe.attention.head_count", "head/embedding/block counts must be > 0");
    if (hp.n_expert == 0 || hp.n_expert_used == 0 || hp.n_expert_used > hp.n_expert)
      throw FormatError(w.source(), 0, "qwen3moe.expert_used_count",
                        "expert_count and expert_used_count must be set (1 <= used <= count)");
    if (hp.n_ff_exp == 0)
      throw FormatError(w.source(), 0, "qwen3moe.expert_feed_forward_length", "required key is missing or 0");
    if (hp.n_vocab == 0)
      throw FormatError(w.source(), 0, "qwen3moe.vocab_size", "missing, and there is no tokenizer.ggml.tokens to count");
    n_embd_ = hp.n_embd;
    dk_ = hp.head_dim_k ? hp.head_dim_k : n_embd_ / hp.n_head;
    dv_ = hp.head_dim_v ? hp.head_dim_v : dk_;
    const int64_t n_vocab = hp.n_vocab;

    token_embd_ = w.require(-1, "token_embd.weight", {n_embd_, n_vocab});
    output_norm_ = w.require(-1, "output_norm.weight", {n_embd_}, true);
    output_ = w.optional(-1, "output.weight", {n_embd_, n_vocab});
    if (!output_.valid()) output_ = token_embd_;

    for (int l = 0; l < static_cast<int>(hp.n_layer); ++l) {
      Layer L;
      L.attn_norm = w.require(l, "attn_norm.weight", {n_embd_}, true);
      L.wq = w.require(l, "attn_q.weight", {n_embd_, hp.n_head * dk_});
      L.wk = w.require(l, "attn_k.weight", {n_embd_, hp.n_head_kv * dk_});
      L.wv = w.require(l, "attn_v.weight", {n_embd_, hp.n_head_kv * dv_});
      L.q_norm = w.require(l, "attn_q_norm.weight", {dk_}, true);
      L.k_norm = w.require(l, "attn_k_norm.weight", {dk_}, true);
      L.wo = w.require(l, "attn_output.weight", {hp.n_head * dv_, n_embd_});
      L.ffn_norm = w.require(l, "ffn_norm.weight", {n_embd_}, true);
      L.moe = require_moe(w, l, n_embd_, hp.n_ff_exp, hp.n_expert, false);
      layers_.push_back(L);
    }
    rope_ = rope_params(hp, RopeMode::Neox);
    check_rope_dims(rope_, dk_, w.source(), hp.arch);
    moe_cfg_.n_ff = hp.n_ff_exp;
    moe_cfg_.routing.gating = router_gating(hp.gating, RouterGating::Softmax);
    moe_cfg_.routing.n_expert = hp.n_expert;
    moe_cfg_.routing.k = hp.n_expert_used;
    moe_cfg_.routing.normalize = true;
  }

  std::vector<KvLayerLayout> kv_layout() const override {
    return std::vector<KvLayerLayout>(hp_.n_layer, KvLayerLayout{hp_.n_head_kv * dk_, hp_.n_head_kv * dv_, std::gcd(dk_, dv_)});
  }

  void forward(ForwardCtx& ctx, KvCache& kv, const Batch& b, const Mat& logits) override {
    const int64_t n = b.n, H = hp_.n_head, Hkv = hp_.n_head_kv;
    Mat h = ctx.ws.mat(kArchSlots + 0, n, n_embd_);
    Mat x = ctx.ws.mat(kArchSlots + 1, n, n_embd_);
    Mat q = ctx.ws.mat(kArchSlots + 2, n, H * dk_);
    Mat k = ctx.ws.mat(kArchSlots + 3, n, Hkv * dk_);
    Mat v = ctx.ws.mat(kArchSlots + 4, n, Hkv * dv_);
    Mat att = ctx.ws.mat(kArchSlots + 5, n, H * dv_);
    Mat tmp = ctx.ws.mat(kArchSlots + 6, n, n_embd_);
    float* rope_cs = ctx.ws.get(kArchSlots + 7, n * rope_.n_rot);
    const int32_t* pos = ctx.ws.positions(b.pos0, n);
    rope_table(rope_, pos, n, rope_cs);

    embed_tokens(ctx, w_.view(token_embd_), b, h);
    ctx.dump("inp_embd", h);

    const AttentionParams ap{H, Hkv, dk_, dv_, 1.0f / std::sqrt(static_cast<float>(dk_))};
    for (int l = 0; l < static_cast<int>(layers_.size()); ++l) {
      const Layer& L = layers_[l];
      for (int64_t t = 0; t < n; ++t) rms_norm(h.row(t), w_.f32(L.attn_norm), n_embd_, hp_.rms_eps, x.row(t));
      ctx.dump(l, "attn_norm", x);

      ctx.matmuls({{w_.view(L.wq), x, q}, {w_.view(L.wk), x, k}, {w_.view(L.wv), x, v}});
      rms_norm_heads(q, H, dk_, w_.f32(L.q_norm), hp_.rms_eps);
      rms_norm_heads(k, Hkv, dk_, w_.f32(L.k_norm), hp_.rms_eps);
      ctx.dump(l, "q_normed", q);
      ctx.dump(l, "k_normed", k);
      rope_apply(rope_, rope_cs, q, H, dk_);
      rope_apply(rope_, rope_cs, k, Hkv, dk_);
      ctx.dump(l, "q", q);
      ctx.dump(l, "k", k);
      ctx.dump(l, "v", v);

      kv.store_k(l, b.pos0, k, ctx.kernels);
      kv.store_v(l, b.pos0, v, ctx.kernels);
      attention(ctx.pool, ap, q, pos, kv.k_span(l, 0, dk_), kv.v_span(l, 0, dv_), att, ctx.kernels);
      ctx.dump(l, "kqv_out", att);
      ctx.matmul(w_.view(L.wo), att, tmp);
      add_rows(h, tmp);
      ctx.dump(l, "ffn_inp", h);

      for (int64_t t = 0; t < n; ++t) rms_norm(h.row(t), w_.f32(L.ffn_norm), n_embd_, hp_.rms_eps, x.row(t));
      ctx.dump(l, "ffn_norm", x);
      moe_ffn(ctx, w_, l, L.moe, moe_cfg_, x, tmp);
      ctx.dump(l, "ffn_out", tmp);
      add_rows(h, tmp);
      ctx.dump(l, "l_out", h);
    }
    output_head(ctx, w_.f32(output_norm_), hp_.rms_eps, w_.view(output_), h, b, logits);
  }

 private:
  struct Layer {
    TensorRef attn_norm, wq, wk, wv, q_norm, k_norm, wo, ffn_norm;
    MoeTensors moe;
  };
  const Weights& w_;
  int64_t n_embd_ = 0, dk_ = 0, dv_ = 0;
  TensorRef token_embd_, output_norm_, output_;
  std::vector<Layer> layers_;
  RopeParams rope_;
  MoeConfig moe_cfg_;
};

}  // namespace

std::unique_ptr<ArchModel> make_qwen3moe(const HParams& hp, const Weights& w) {
  return std::make_unique<Qwen3Moe>(hp, w);
}

}  // namespace strata
