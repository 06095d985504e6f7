// deepseek2: DeepSeek-V2/V2.5/V3/R1/V3.1, Kimi K2/K2.5 (FORMATS.md 4.3).
//   per layer: x = RMSNorm(h; attn_norm)
//              q = attn_q_b · RMSNorm(attn_q_a x; attn_q_a_norm)   (lite: attn_q x); per head q_nope ‖ q_pe
//              [c ‖ k_pe] = attn_kv_a_mqa x;  c = RMSNorm(c; attn_kv_a_norm)
//              q_pe, k_pe = RoPE_normal with YaRN, unit magnitude (k_pe shared by all heads)
//              h += attn_output · concat_h W_UV[h] · Σ_t softmax_t(s·(W_UK[h]ᵀq_nope[h]·c_t + q_pe[h]·k_pe_t)) c_t
//              h += FFN(RMSNorm(h; ffn_norm)): dense SwiGLU for the leading layers, else routed experts
//                   (sigmoid or softmax, exp_probs_b for selection only, optional group limit, norm, scale)
//                   plus the shared expert
//   logits = output · RMSNorm(h; output_norm)
//
// Attention always runs in the absorbed (MQA) form: the cache holds one row of kv_lora + n_rot values per
// token and layer (the normalised latent and the roped k_pe; 576 for V3/K2) and V is read from the
// latent part of that same row, so no per-head K/V is ever materialised. W_UK[h]ᵀ (k_b) and W_UV[h] (v_b)
// come from whichever the file has:
//   A  attn_kv_b only: v_b[h] is a row range of attn_kv_b used in place; k_b[h] needs a transpose, made
//      once at load into an owned buffer. Float files (F32/F16/BF16) keep their type (the transpose is
//      exact); quantized kv_b is dequantized to F32, so the model computes exactly what the file holds
//      (ik_llama.cpp re-quantizes to Q8_0 here; we do not). Cost: n_head·kv_lora·d_nope·4 bytes per
//      layer, 32 MiB for DeepSeek-V3 (2 GiB over 61 layers), only for layout-A quantized files.
//   B  attn_kv_b + 2-D attn_k_b/attn_v_b and C  3-D attn_k_b/attn_v_b: used in place, any type.
// Group-limited routing (n_group > 1) follows HF (noaux_tc / group_limited_greedy); ik_llama.cpp and
// mainline ignore the group keys, which only matters for files that carry them with n_group > 1.
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>

#include "model/arch/blocks.h"
#include "ops/elementwise.h"
#include "util/error.h"

namespace strata {
namespace {

// Per-head row ranges of a weight: head h is rows [row0 + h*stride, row0 + h*stride + rows).
struct HeadRows {
  TensorRef ref;  // file tensor; invalid when Layer::k_b_owned holds the (derived) bytes
  int64_t row0 = 0, stride = 0, rows = 0;
};

class DeepSeek2 final : public ArchModel {
 public:
  DeepSeek2(const HParams& hp, const Weights& w) : ArchModel(hp), w_(w) { load(hp, w); }

  std::vector<KvLayerLayout> kv_layout() const override {
    return std::vector<KvLayerLayout>(hp_.n_layer, KvLayerLayout{R_ + dr_, 0, std::gcd(R_, dr_)});
  }

  void forward(ForwardCtx& ctx, KvCache& kv, const Batch& b, const Mat& logits) override;

 private:
  struct Layer {
    TensorRef attn_norm, q_a, q_a_norm, q_b, q, kv_a, kv_a_norm, wo, ffn_norm;
    HeadRows k_b, v_b;
    std::vector<uint8_t> k_b_owned;  // layout A: [head][kv_lora][d_nope] in k_b_type
    const TypeTraits* k_b_type = nullptr;
    std::string k_b_name;
    TensorRef gate, up, down;                    // dense layers
    MoeTensors moe;                              // MoE layers
    TensorRef gate_sh, up_sh, down_sh;           // shared experts (optional)
  };

  void load(const HParams& hp, const Weights& w);
  void resolve_mla(int l, Layer& L, const Weights& w);
  void derive_k_b(int l, Layer& L, const Weights& w);
  WeightView k_b_head(const Layer& L, int64_t h) const;
  WeightView v_b_head(const Layer& L, int64_t h) const;
  [[noreturn]] void bad_key(const std::string& key, const std::string& msg) const {
    throw FormatError(w_.source(), 0, "deepseek2." + key, msg);
  }

  const Weights& w_;
  int64_t E_ = 0, H_ = 0, R_ = 0, dr_ = 0, dn_ = 0, dv_ = 0, q_lora_ = 0;
  float kq_scale_ = 1.0f;
  TensorRef token_embd_, output_norm_, output_;
  std::vector<Layer> layers_;
  // The per-head k_b / v_b products of a layer, run as one matmul group (one pool job instead of one per
  // head: 64 heads x 2 hand-offs per layer otherwise). Reused, so the token loop does not allocate.
  std::vector<MatMulOp> head_ops_;
  RopeParams rope_;
  MoeConfig moe_cfg_;
};

void DeepSeek2::load(const HParams& hp, const Weights& w) {
  if (hp.n_head == 0 || hp.n_embd == 0 || hp.n_layer == 0)
    bad_key("attention.head_count", "head/embedding/block counts must be > 0");
  if (hp.kv_lora_rank == 0) bad_key("attention.kv_lora_rank", "must be > 0");
  if (hp.n_rot == 0 || hp.n_rot % 2 != 0) bad_key("rope.dimension_count", "must be even and > 0");
  E_ = hp.n_embd;
  H_ = hp.n_head;
  R_ = hp.kv_lora_rank;
  dr_ = hp.n_rot;
  q_lora_ = hp.q_lora_rank;

  // Per-head q/k width (nope + rope) and value width. Split-layout files (C) describe the cache row in
  // key_length/value_length (kv_lora + rope / kv_lora) and the real head in the *_mla keys.
  int64_t dq = 0;
  if (hp.head_dim_k_mla != 0) {
    dq = hp.head_dim_k_mla;
    dv_ = hp.head_dim_v_mla;
    if (dv_ == 0) bad_key("attention.value_length_mla", "required with key_length_mla, missing or 0");
    if (hp.head_dim_k != R_ + dr_)
      bad_key("attention.key_length", std::to_string(hp.head_dim_k) + " but the split MLA layout needs kv_lora_rank + "
                                          "rope dims = " + std::to_string(R_ + dr_));
    if (hp.head_dim_v != R_)
      bad_key("attention.value_length",
              std::to_string(hp.head_dim_v) + " but the split MLA layout needs kv_lora_rank = " + std::to_string(R_));
  } else {
    dq = hp.head_dim_k;
    dv_ = hp.head_dim_v;
    if (dq == R_ + dr_ && dv_ == R_ && !w.optional(0, "attn_kv_b.weight", {R_, kAny}).valid())
      bad_key("attention.key_length_mla", "missing: key_length " + std::to_string(dq) +
                                              " is the split MLA layout's cache row, the head width is unknown");
  }
  dn_ = dq - dr_;
  if (dn_ <= 0) bad_key("attention.key_length", "head width " + std::to_string(dq) + " leaves no non-rope part");
  if (dv_ <= 0) bad_key("attention.value_length", "must be > 0");

  rope_ = rope_params(hp, RopeMode::Normal);
  // YaRN's built-in cos/sin magnitude 1 + 0.1·ln(factor) must cancel (FORMATS 4.3.4: unit magnitude);
  // the attention-scale correction goes into kq_scale instead, squared because it applies to q and k.
  const double ln_factor = std::log(1.0 / rope_.freq_scale);
  if (rope_.ext_factor != 0.0f) rope_.attn_factor = static_cast<float>(1.0 / (1.0 + 0.1 * ln_factor));
  const double m = 1.0 + hp.yarn_log_multiplier * ln_factor;
  kq_scale_ = static_cast<float>(m * m / std::sqrt(static_cast<double>(dq)));

  const int64_t n_vocab = hp.n_vocab;
  token_embd_ = w.require(-1, "token_embd.weight", {E_, n_vocab});
  output_norm_ = w.require(-1, "output_norm.weight", {E_}, true);
  output_ = w.optional(-1, "output.weight", {E_, n_vocab});
  if (!output_.valid()) output_ = token_embd_;

  const bool any_moe = hp.n_leading_dense < hp.n_layer;
  if (any_moe) {
    if (hp.n_expert == 0) bad_key("expert_count", "required for MoE layers (block_count > leading_dense_block_count)");
    if (hp.n_expert_used == 0 || hp.n_expert_used > hp.n_expert)
      bad_key("expert_used_count", "must be in 1.." + std::to_string(hp.n_expert));
    if (hp.n_ff_exp == 0) bad_key("expert_feed_forward_length", "required key is missing or 0");
    RoutingParams& rp = moe_cfg_.routing;
    rp.gating = router_gating(hp.gating, RouterGating::Softmax);
    rp.n_expert = static_cast<int>(hp.n_expert);
    rp.k = static_cast<int>(hp.n_expert_used);
    rp.normalize = hp.expert_weights_norm;
    rp.scale = hp.expert_weights_scale;
    if (hp.n_expert_groups > 1) {
      const uint32_t G = hp.n_expert_groups, used = hp.n_group_used;
      if (hp.n_expert % G != 0)
        bad_key("expert_group_count", std::to_string(G) + " groups do not divide " + std::to_string(hp.n_expert) +
                                          " experts");
      if (used == 0 || used > G) bad_key("expert_group_used_count", "must be in 1.." + std::to_string(G));
      if (static_cast<uint64_t>(used) * (hp.n_expert / G) < hp.n_expert_used)
        bad_key("expert_group_used_count", "the kept groups hold fewer experts than expert_used_count");
      rp.n_group = static_cast<int>(G);
      rp.n_group_used = static_cast<int>(used);
    }
    moe_cfg_.n_ff = hp.n_ff_exp;
  }
  if (hp.n_leading_dense > 0 && hp.n_ff == 0) bad_key("feed_forward_length", "required for the dense layers");

  for (int l = 0; l < static_cast<int>(hp.n_layer); ++l) {
    Layer& L = layers_.emplace_back();
    L.attn_norm = w.require(l, "attn_norm.weight", {E_}, true);
    if (q_lora_ > 0) {
      L.q_a = w.require(l, "attn_q_a.weight", {E_, q_lora_});
      L.q_a_norm = w.require(l, "attn_q_a_norm.weight", {q_lora_}, true);
      L.q_b = w.require(l, "attn_q_b.weight", {q_lora_, H_ * dq});
    } else {
      L.q = w.require(l, "attn_q.weight", {E_, H_ * dq});
    }
    L.kv_a = w.require(l, "attn_kv_a_mqa.weight", {E_, R_ + dr_});
    L.kv_a_norm = w.require(l, "attn_kv_a_norm.weight", {R_}, true);
    resolve_mla(l, L, w);
    L.wo = w.require(l, "attn_output.weight", {H_ * dv_, E_});
    L.ffn_norm = w.require(l, "ffn_norm.weight", {E_}, true);
    if (l < static_cast<int>(hp.n_leading_dense)) {
      L.gate = w.require(l, "ffn_gate.weight", {E_, hp.n_ff});
      L.up = w.require(l, "ffn_up.weight", {E_, hp.n_ff});
      L.down = w.require(l, "ffn_down.weight", {hp.n_ff, E_});
    } else {
      L.moe = require_moe(w, l, E_, hp.n_ff_exp, hp.n_expert, true);
      if (hp.n_expert_shared > 0) {
        const int64_t n_sh = static_cast<int64_t>(hp.n_ff_exp) * hp.n_expert_shared;
        L.gate_sh = w.require(l, "ffn_gate_shexp.weight", {E_, n_sh});
        L.up_sh = w.require(l, "ffn_up_shexp.weight", {E_, n_sh});
        L.down_sh = w.require(l, "ffn_down_shexp.weight", {n_sh, E_});
      }
    }
  }
}

void DeepSeek2::resolve_mla(int l, Layer& L, const Weights& w) {
  const std::string pre = "blk." + std::to_string(l) + ".";
  const TensorRef kv_b = w.optional(l, "attn_kv_b.weight", {R_, H_ * (dn_ + dv_)});
  // 2-D (layout B) and 3-D (layout C) k_b/v_b hold the same rows; accept either and check the total.
  const TensorRef k_b = w.optional(l, "attn_k_b.weight", {dn_, kAny, kAny});
  const TensorRef v_b = w.optional(l, "attn_v_b.weight", {R_, kAny, kAny});
  auto check_split = [&](TensorRef ref, const char* name, int64_t per_head) {
    const WeightView v = w.view(ref);
    const bool ok = (v.ne[1] == per_head && v.ne[2] == H_) || (v.ne[1] == per_head * H_ && v.ne[2] == 1);
    if (!ok)
      throw FormatError(w.source(), 0, pre + name,
                        "tensor has shape {" + std::to_string(v.ne[0]) + ", " + std::to_string(v.ne[1]) + ", " +
                            std::to_string(v.ne[2]) + "}, expected {" + std::to_string(v.ne[0]) + ", " +
                            std::to_string(per_head) + ", " + std::to_string(H_) + "} or the 2-D {" +
                            std::to_string(v.ne[0]) + ", " + std::to_string(per_head * H_) + "}");
  };
  if (k_b.valid() != v_b.valid())
    throw FormatError(w.source(), 0, pre + (k_b.valid() ? "attn_v_b.weight" : "attn_k_b.weight"),
                      "required tensor is missing (attn_k_b and attn_v_b come as a pair)");
  if (k_b.valid()) {
    check_split(k_b, "attn_k_b.weight", R_);
    check_split(v_b, "attn_v_b.weight", dv_);
    L.k_b = HeadRows{k_b, 0, R_, R_};
    L.v_b = HeadRows{v_b, 0, dv_, dv_};
    return;
  }
  if (!kv_b.valid())
    throw FormatError(w.source(), 0, pre + "attn_kv_b.weight",
                      "required tensor is missing (the file has neither attn_kv_b nor attn_k_b/attn_v_b)");
  // attn_kv_b rows per head: d_nope rows of W_UK, then d_v rows of W_UV.
  L.v_b = HeadRows{kv_b, dn_, dn_ + dv_, dv_};
  L.k_b = HeadRows{kv_b, 0, dn_ + dv_, dn_};
  derive_k_b(l, L, w);
}

void DeepSeek2::derive_k_b(int l, Layer& L, const Weights& w) {
  const WeightView kvb = w.view(L.k_b.ref);
  const TensorType src = kvb.type->type;
  const bool keep = src == TensorType::F32 || src == TensorType::F16 || src == TensorType::BF16;
  L.k_b_type = keep ? kvb.type : &type_traits(TensorType::F32);
  const size_t el = keep ? (src == TensorType::F32 ? 4 : 2) : 4;
  L.k_b_owned.resize(static_cast<size_t>(H_) * R_ * dn_ * el);
  L.k_b_name = "blk." + std::to_string(l) + ".attn_k_b (transposed from attn_kv_b)";
  std::vector<float> row(keep ? 0 : R_);
  for (int64_t h = 0; h < H_; ++h) {
    uint8_t* dst = L.k_b_owned.data() + static_cast<size_t>(h) * R_ * dn_ * el;
    for (int64_t j = 0; j < dn_; ++j) {
      const uint8_t* src_row = kvb.row(h * (dn_ + dv_) + j);
      if (keep) {
        for (int64_t c = 0; c < R_; ++c) std::memcpy(dst + (c * dn_ + j) * el, src_row + c * el, el);
      } else {
        kvb.type->dequantize(src_row, row.data(), R_);
        for (int64_t c = 0; c < R_; ++c) std::memcpy(dst + (c * dn_ + j) * el, &row[c], el);
      }
    }
  }
  L.k_b.ref = TensorRef{};
}

WeightView DeepSeek2::k_b_head(const Layer& L, int64_t h) const {
  if (!L.k_b.ref.valid()) {
    const uint64_t bytes = row_bytes(*L.k_b_type, dn_) * R_;
    return WeightView{L.k_b_type, {dn_, R_, 1, 1}, L.k_b_owned.data() + bytes * h, bytes, L.k_b_name};
  }
  WeightView v = w_.view(L.k_b.ref);
  const uint64_t stride = v.row_stride();
  v.data += stride * (L.k_b.row0 + h * L.k_b.stride);
  v.ne = {v.ne[0], L.k_b.rows, 1, 1};
  v.nbytes = stride * L.k_b.rows;
  return v;
}

WeightView DeepSeek2::v_b_head(const Layer& L, int64_t h) const {
  WeightView v = w_.view(L.v_b.ref);
  const uint64_t stride = v.row_stride();
  v.data += stride * (L.v_b.row0 + h * L.v_b.stride);
  v.ne = {v.ne[0], L.v_b.rows, 1, 1};
  v.nbytes = stride * L.v_b.rows;
  return v;
}

// Workspace slots of this file (after the shared blocks' slots).
enum : int {
  kH = kArchSlots, kX, kCq, kQ, kKv, kQcat, kOlat, kAtt, kTmp, kTmp2, kRope, kDumpTmp,
};

void DeepSeek2::forward(ForwardCtx& ctx, KvCache& kv, const Batch& b, const Mat& logits) {
  const int64_t n = b.n, dq = dn_ + dr_, row = R_ + dr_;
  const float eps = hp_.rms_eps;
  Mat h = ctx.ws.mat(kH, n, E_);
  Mat x = ctx.ws.mat(kX, n, E_);
  Mat q = ctx.ws.mat(kQ, n, H_ * dq);
  Mat kvr = ctx.ws.mat(kKv, n, row);
  Mat qcat = ctx.ws.mat(kQcat, n, H_ * row);
  Mat olat = ctx.ws.mat(kOlat, n, H_ * R_);
  Mat att = ctx.ws.mat(kAtt, n, H_ * dv_);
  Mat tmp = ctx.ws.mat(kTmp, n, E_);
  float* rope_cs = ctx.ws.get(kRope, n * dr_);
  const int32_t* pos = ctx.ws.positions(b.pos0, n);
  rope_table(rope_, pos, n, rope_cs);

  embed_tokens(ctx, w_.view(token_embd_), b, h);
  ctx.dump("inp_embd", h);

  // Per-head slices of q gathered into one matrix, only when dumping.
  auto dump_heads = [&](int l, const char* name, int64_t off, int64_t width) {
    if (!ctx.dumping()) return;
    Mat d = ctx.ws.mat(kDumpTmp, n, H_ * width);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t hh = 0; hh < H_; ++hh) std::memcpy(d.row(t) + hh * width, q.row(t) + hh * dq + off, width * 4);
    ctx.dump(l, name, d);
  };

  const AttentionParams ap{H_, 1, row, R_, kq_scale_};
  for (int l = 0; l < static_cast<int>(layers_.size()); ++l) {
    const Layer& L = layers_[l];
    for (int64_t t = 0; t < n; ++t) rms_norm(h.row(t), w_.f32(L.attn_norm), E_, eps, x.row(t));
    ctx.dump(l, "attn_norm", x);

    if (q_lora_ > 0) {
      Mat cq = ctx.ws.mat(kCq, n, q_lora_);
      ctx.matmul(w_.view(L.q_a), x, cq);
      rms_norm_rows(cq, w_.f32(L.q_a_norm), eps);
      ctx.dump(l, "q_a_norm", cq);
      ctx.matmul(w_.view(L.q_b), cq, q);
    } else {
      ctx.matmul(w_.view(L.q), x, q);
    }
    rope_apply(rope_, rope_cs, cols_of(q, dn_, H_ * dq - dn_), H_, dq);
    dump_heads(l, "q_nope", 0, dn_);
    dump_heads(l, "q_pe", dn_, dr_);

    // The cache row: normalised latent ‖ roped k_pe, written in place.
    ctx.matmul(w_.view(L.kv_a), x, kvr);
    for (int64_t t = 0; t < n; ++t) rms_norm(kvr.row(t), w_.f32(L.kv_a_norm), R_, eps, kvr.row(t));
    rope_apply(rope_, rope_cs, cols_of(kvr, R_, dr_), 1, dr_);
    ctx.dump(l, "kv_compressed", cols_of(kvr, 0, R_));
    ctx.dump(l, "k_pe", cols_of(kvr, R_, dr_));
    kv.store_k(l, b.pos0, kvr, ctx.kernels);

    // Absorbed queries: per head [W_UK[h]ᵀ q_nope[h] ‖ q_pe[h]], one 576-wide "MQA" query per head.
    head_ops_.clear();
    for (int64_t hh = 0; hh < H_; ++hh) {
      head_ops_.push_back({k_b_head(L, hh), cols_of(q, hh * dq, dn_), cols_of(qcat, hh * row, R_)});
      for (int64_t t = 0; t < n; ++t) std::memcpy(qcat.row(t) + hh * row + R_, q.row(t) + hh * dq + dn_, dr_ * 4);
    }
    ctx.matmuls(head_ops_);
    ctx.dump(l, "q_absorbed", qcat);

    // V is the latent part of the same cache row.
    attention(ctx.pool, ap, qcat, pos, kv.k_span(l, 0, 0), kv.k_span(l, 0, 0), olat, ctx.kernels);
    ctx.dump(l, "kqv_latent", olat);
    head_ops_.clear();
    for (int64_t hh = 0; hh < H_; ++hh)
      head_ops_.push_back({v_b_head(L, hh), cols_of(olat, hh * R_, R_), cols_of(att, hh * dv_, dv_)});
    ctx.matmuls(head_ops_);
    ctx.dump(l, "kqv_out", att);
    ctx.matmul(w_.view(L.wo), att, tmp);
    ctx.dump(l, "attn_out", tmp);
    add_rows(h, tmp);
    ctx.dump(l, "ffn_inp", h);

    for (int64_t t = 0; t < n; ++t) rms_norm(h.row(t), w_.f32(L.ffn_norm), E_, eps, x.row(t));
    ctx.dump(l, "ffn_norm", x);
    if (L.gate.valid()) {
      ffn_swiglu(ctx, w_.view(L.gate), w_.view(L.up), w_.view(L.down), x, tmp);
    } else {
      moe_ffn(ctx, w_, l, L.moe, moe_cfg_, x, tmp);
      ctx.dump(l, "ffn_moe_out", tmp);
      if (L.gate_sh.valid()) {
        Mat sh = ctx.ws.mat(kTmp2, n, E_);
        ffn_swiglu(ctx, w_.view(L.gate_sh), w_.view(L.up_sh), w_.view(L.down_sh), x, sh);
        ctx.dump(l, "ffn_shexp", sh);
        add_rows(tmp, sh);
      }
    }
    ctx.dump(l, "ffn_out", tmp);
    add_rows(h, tmp);
    ctx.dump(l, "l_out", h);
  }
  output_head(ctx, w_.f32(output_norm_), hp_.rms_eps, w_.view(output_), h, b, logits);
}

}  // namespace

std::unique_ptr<ArchModel> make_deepseek2(const HParams& hp, const Weights& w) {
  return std::make_unique<DeepSeek2>(hp, w);
}

}  // namespace strata
