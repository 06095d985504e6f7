// llama: dense (Llama 1-3, stories) and Mixtral-style MoE (ffn_*_exps present).
//   h = embd(tokens)
//   per layer: h += Wo · Attn(RoPE_normal(Wq x), RoPE_normal(Wk x), Wv x),  x = RMSNorm(h; attn_norm)
//              h += FFN(RMSNorm(h; ffn_norm)),  FFN = SwiGLU, or softmax top-k renormalised experts
//   logits = output · RMSNorm(h; output_norm)
// Mixtral residual note: ik_llama.cpp adds the *normalised* input as the MoE residual (fixtures README,
// quirk 1); we follow the model definition (h + MoE), as mainline does.
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "model/arch/blocks.h"
#include "ops/elementwise.h"
#include "util/error.h"

namespace strata {
namespace {

class Llama final : public ArchModel {
 public:
  Llama(const HParams& hp, const Weights& w) : ArchModel(hp), w_(w) {
    if (hp.n_head == 0 || hp.n_head_kv == 0 || hp.n_embd == 0 || hp.n_layer == 0)
      throw FormatError(w.source(), 0, "llama.attention.head_count", "head/embedding/block counts must be > 0");
    if (hp.n_vocab == 0)
      throw FormatError(w.source(), 0, "llama.vocab_size", "missing, and there is no tokenizer.ggml.tokens to count");
    n_embd_ = hp.n_embd;
    dk_ = hp.head_dim_k ? hp.head_dim_k : n_embd_ / hp.n_head;
    dv_ = hp.head_dim_v ? hp.head_dim_v : dk_;
    const int64_t n_vocab = hp.n_vocab;

    token_embd_ = w.require(-1, "token_embd.weight", {n_embd_, n_vocab});
    output_norm_ = w.require(-1, "output_norm.weight", {n_embd_}, true);
    // Tied embeddings: llama.cpp reuses token_embd when output is absent.
    output_ = w.optional(-1, "output.weight", {n_embd_, n_vocab});
    if (!output_.valid()) output_ = token_embd_;

    for (int l = 0; l < static_cast<int>(hp.n_layer); ++l) {
      Layer L;
      L.attn_norm = w.require(l, "attn_norm.weight", {n_embd_}, true);
      L.wq = w.require(l, "attn_q.weight", {n_embd_, hp.n_head * dk_});
      L.wk = w.require(l, "attn_k.weight", {n_embd_, hp.n_head_kv * dk_});
      L.wv = w.require(l, "attn_v.weight", {n_embd_, hp.n_head_kv * dv_});
      L.wo = w.require(l, "attn_output.weight", {hp.n_head * dv_, n_embd_});
      L.ffn_norm = w.require(l, "ffn_norm.weight", {n_embd_}, true);
      if (hp.n_expert > 0) {
        if (hp.n_expert_used == 0 || hp.n_expert_used > hp.n_expert)
          throw FormatError(w.source(), 0, "llama.expert_used_count",
                            "must be in 1.." + std::to_string(hp.n_expert));
        // Mixtral files store the per-expert FFN width in feed_forward_length.
        const int64_t n_ff = hp.n_ff_exp ? hp.n_ff_exp : hp.n_ff;
        L.moe = require_moe(w, l, n_embd_, n_ff, hp.n_expert, false);
        moe_cfg_.n_ff = n_ff;
      } else {
        L.gate = w.require(l, "ffn_gate.weight", {n_embd_, hp.n_ff});
        L.up = w.require(l, "ffn_up.weight", {n_embd_, hp.n_ff});
        L.down = w.require(l, "ffn_down.weight", {hp.n_ff, n_embd_});
      }
      layers_.push_back(L);
    }
    rope_ = rope_params(hp, RopeMode::Normal);
    check_rope_dims(rope_, dk_, w.source(), hp.arch);
    moe_cfg_.routing.gating = router_gating(hp.gating, RouterGating::Softmax);
    moe_cfg_.routing.n_expert = hp.n_expert;
    moe_cfg_.routing.k = hp.n_expert_used;
    moe_cfg_.routing.normalize = true;  // Mixtral renormalises the top-k (llama.cpp always does for llama)
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
      if (hp_.n_expert > 0)
        moe_ffn(ctx, w_, l, L.moe, moe_cfg_, x, tmp);
      else
        ffn_swiglu(ctx, w_.view(L.gate), w_.view(L.up), w_.view(L.down), x, tmp);
      ctx.dump(l, "ffn_out", tmp);
      add_rows(h, tmp);
      ctx.dump(l, "l_out", h);
    }
    output_head(ctx, w_.f32(output_norm_), hp_.rms_eps, w_.view(output_), h, b, logits);
  }

 private:
  struct Layer {
    TensorRef attn_norm, wq, wk, wv, wo, ffn_norm;
    TensorRef gate, up, down;  // dense
    MoeTensors moe;            // Mixtral-style
  };
  const Weights& w_;
  int64_t n_embd_ = 0, dk_ = 0, dv_ = 0;
  TensorRef token_embd_, output_norm_, output_;
  std::vector<Layer> layers_;
  RopeParams rope_;
  MoeConfig moe_cfg_;
};

}  // namespace

std::unique_ptr<ArchModel> make_llama(const HParams& hp, const Weights& w) {
  return std::make_unique<Llama>(hp, w);
}

}  // namespace strata
