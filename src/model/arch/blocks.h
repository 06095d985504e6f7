// Building blocks shared by the architecture files: the pieces every transformer in llama.cpp's family
// is made of, so each arch file only states how they are wired.
#pragma once

#include "model/arch/arch.h"
#include "ops/attention.h"
#include "ops/moe_routing.h"
#include "ops/rope.h"

namespace strata {

// Workspace slots used by the blocks below; arch files use slots from kArchSlots upward.
enum BlockSlot : int {
  kSlotFfnGate = 0, kSlotFfnUp, kSlotMoeX, kSlotMoeOut, kSlotMoeLogits, kSlotMoeTmp, kSlotRope,
  kSlotNorm, kSlotMoeShared, kSlotMoeSharedOut, kArchSlots = 16,
};

// RoPE settings from the hyper-parameters: linear scaling and YaRN as llama.cpp derives them.
RopeParams rope_params(const HParams& hp, RopeMode mode);
// Throws FormatError (file `source`, key `{arch}.rope.dimension_count`) unless n_rot is even and in
// 2..head_dim: RoPE rotates pairs within each head, and more rotated dims than a head holds would write
// past it.
void check_rope_dims(const RopeParams& rope, int64_t head_dim, const std::string& source, const std::string& arch);

// out = down(silu(gate x) * up x). out may not alias x. gate and up run as one pool job.
void ffn_swiglu(ForwardCtx& ctx, const WeightView& gate, const WeightView& up, const WeightView& down,
                const Mat& x, const Mat& out);

// Token embedding rows.
void embed_tokens(ForwardCtx& ctx, const WeightView& token_embd, const Batch& b, const Mat& out);

// logits = output · RMSNorm(h; norm) for the rows the batch wants (all, or the last).
void output_head(ForwardCtx& ctx, const float* norm, float eps, const WeightView& output, const Mat& h,
                 const Batch& b, const Mat& logits);

// A row range of a matrix as its own Mat (no copy).
inline Mat rows_of(const Mat& m, int64_t r0, int64_t n) { return Mat{m.row(r0), n, m.cols, m.stride}; }
// A column range of a matrix (no copy): cols [c0, c0 + n) of every row.
inline Mat cols_of(const Mat& m, int64_t c0, int64_t n) { return Mat{m.data + c0, m.rows, n, m.stride}; }

// Router-driven mixture of experts (FORMATS.md 4.2) for a batch: computes only the selected experts,
// reading only their byte ranges (Weights::expert). Tokens are grouped by expert, so each selected
// expert's weights are read once per batch; gate and up of every selected expert (and the shared
// expert) form one pool job, the down projections a second one.
struct MoeTensors {
  TensorRef router;        // ffn_gate_inp {n_embd, n_expert}, F32
  TensorRef router_bias;   // optional {n_expert}
  TensorRef sel_bias;      // optional exp_probs_b {n_expert}: selection only
  TensorRef gate_exps, up_exps, down_exps;  // {n_embd, n_ff, E}, {n_ff, n_embd, E}
  TensorRef gate_up_exps;  // optional fused {n_embd, 2*n_ff, E} instead of gate/up
  // Optional shared expert (every token, weight 1), computed in the same pool jobs as the routed ones:
  // {n_embd, n_ff_shexp}, {n_embd, n_ff_shexp}, {n_ff_shexp, n_embd}.
  TensorRef gate_shexp, up_shexp, down_shexp;
};
struct MoeConfig {
  RoutingParams routing;
  int64_t n_ff = 0;
  int64_t n_ff_shexp = 0;  // with MoeTensors::gate_shexp
};
// Resolves the routed-expert tensors of a layer (fused gate_up or separate gate/up), validating shapes.
MoeTensors require_moe(const Weights& w, int layer, int64_t n_embd, int64_t n_ff, int64_t n_expert,
                       bool with_sel_bias);
// out = sum over selected experts e of w_e * SwiGLU_e(x) (+ SwiGLU_shared(x)). out may not alias x.
// Each token's terms are summed in selection order, so a token's result does not depend on the batch.
void moe_ffn(ForwardCtx& ctx, const Weights& w, int layer, const MoeTensors& t, const MoeConfig& cfg,
             const Mat& x, const Mat& out);

// Maps the file's gating key to the router function, with the architecture's default for "none".
RouterGating router_gating(GatingFunc g, RouterGating arch_default);

}  // namespace strata
