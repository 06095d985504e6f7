#include "ops/matmul.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "quant/interleave.h"
#include "util/error.h"

namespace strata {
namespace {

void check_computable(const WeightView& w) {
  if (!w.type || (!w.type->dequantize && w.type->type != TensorType::F32))
    throw UnsupportedError("tensor '" + std::string(w.name) + "': type " +
                           (w.type ? std::string(w.type->name) : std::string("unknown")) +
                           " has no kernels in this build");
}

void check_shapes(const MatMulOp& op) {
  const int64_t n_in = op.w.cols(), n_out = op.w.rows();
  if (op.x.cols != n_in || op.y.cols != n_out || op.y.rows != op.x.rows)
    throw Error("matmul '" + std::string(op.w.name) + "': weight " + std::to_string(n_in) + "x" +
                std::to_string(n_out) + " does not fit activations " + std::to_string(op.x.rows) + "x" +
                std::to_string(op.x.cols) + " -> " + std::to_string(op.y.rows) + "x" + std::to_string(op.y.cols));
}

bool is_float_type(TensorType t) {
  return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16;
}

// Per-op bookkeeping for one matmul_ops call, kept in the pool's shared scratch (no allocation per token).
struct OpPlan {
  const cpu::TypeKernels* kern;  // null: the F32 reference path
  const uint8_t* act;            // activations in the kernel's partner type (or the float rows)
  size_t act_stride;
  int64_t q_first, q_rows;       // quantization tasks owned by this op (q_rows 0: shares or needs none)
  const float* q_src;
  int64_t chunk;                 // weight rows per task (prefill)
  int64_t first_task;            // prefix over ops (prefill)
  uint64_t bytes_before;         // weight bytes of the ops before this one (decode)
};

// Prefill: rows per task, ~96 KiB of weights, a block that stays in L2 while every token passes over it.
// Whole multiples of 32 (or 16) rows: the K-quant tile (src/cpu/x86_gemm.inl) computes 16 or 32 rows per
// pass, so 85-row blocks (96 KiB of a 2048-column Q4_K matrix) plus a 3-row last block cost 96 + 16 rows of
// work for 88 (a 768 x 2048 expert matrix at 32 tokens: 16% slower than 96-row blocks).
int64_t prefill_chunk_rows(uint64_t row_bytes, int64_t n_rows) {
  int64_t r = static_cast<int64_t>(std::max<uint64_t>(1, (96 << 10) / std::max<uint64_t>(1, row_bytes)));
  if (r >= 32) r = (r + 16) / 32 * 32;
  else if (r >= 16) r = 16;
  return std::min(n_rows, std::max<int64_t>(r, 4));
}

// Decode (one or two tokens): threads claim row ranges from one cursor, in job order, each claim a share
// of what is left: remaining / 16 bytes of weights, between 64 KiB and 2 MiB, in whole 16-row groups where
// rows are interleaved, never across two ops. Each thread so streams long contiguous runs while much is
// left, and the job ends on small pieces, so the threads finish within a few microseconds of each other:
// fixed tasks (1/16 of a thread's share) left one thread idle for 15 us on average at the end of every
// matmul job of the qwen3 slice, claims 6-10 us. Below 64 KiB a run is too short for the prefetchers (a
// 1 MB router read at 20.4-20.9 GB/s in 32 KiB tasks, 22.8-23.0 in 64 KiB claims, 23.3-23.7 in 128 KiB
// tasks, two threads; the floor trades that against the end of every job). The
// claim boundaries depend only on the job, not on the thread count or on which thread takes a claim, so
// neither changes a result (some kernels pair rows, so a boundary could).
template <class F>
void guided_rows(ThreadPool& pool, const MatMulOp* ops, const OpPlan* plans, size_t n_ops, uint64_t total_bytes,
                 F&& run_rows) {
  constexpr int kRowBits = 40;
  constexpr uint64_t kRowMask = (uint64_t{1} << kRowBits) - 1;
  std::atomic<uint64_t> cursor{0};  // op << kRowBits | next row
  auto claim = [&](size_t& i, int64_t& r0, int64_t& r1) {
    uint64_t cur = cursor.load(std::memory_order_relaxed);
    for (;;) {
      size_t op = static_cast<size_t>(cur >> kRowBits);
      int64_t row = static_cast<int64_t>(cur & kRowMask);
      while (op < n_ops && (ops[op].x.rows == 0 || row >= ops[op].w.rows())) {
        ++op;
        row = 0;
      }
      if (op >= n_ops) return false;
      const uint64_t stride = ops[op].w.row_stride();
      const uint64_t left = total_bytes - plans[op].bytes_before - static_cast<uint64_t>(row) * stride;
      const uint64_t want = std::clamp<uint64_t>(left / 16, 64 << 10, 2 << 20);
      int64_t n = static_cast<int64_t>(std::max<uint64_t>(1, want / stride));
      if (ops[op].w.interleaved) n = (n + kInterleaveRows - 1) / kInterleaveRows * kInterleaveRows;
      n = std::min(n, ops[op].w.rows() - row);
      const uint64_t next = row + n == ops[op].w.rows() ? static_cast<uint64_t>(op + 1) << kRowBits
                                                         : static_cast<uint64_t>(op) << kRowBits | (row + n);
      if (cursor.compare_exchange_weak(cur, next, std::memory_order_relaxed)) {
        i = op;
        r0 = row;
        r1 = row + n;
        return true;
      }
    }
  };
  pool.run(pool.size(), [&](int64_t, int thread) {
    size_t i;
    int64_t r0, r1;
    while (claim(i, r0, r1)) run_rows(i, r0, r1, thread);
  });
}

// The F32 reference: dequantize one weight row, dot it with every token (ActivationMode::F32).
void reference_rows(ThreadPool& pool, const MatMulOp& op, int64_t r0, int64_t r1, int thread) {
  const TypeTraits& t = *op.w.type;
  const int64_t n_in = op.w.cols();
  const uint64_t stride = op.w.row_stride();
  const bool direct = t.type == TensorType::F32;
  float* buf = direct ? nullptr : pool.scratch(thread, 0, n_in);
  auto* plain = op.w.interleaved ? reinterpret_cast<uint8_t*>(pool.scratch(thread, 1, (stride + 3) / 4)) : nullptr;
  for (int64_t r = r0; r < r1; ++r) {
    const float* wr;
    if (direct) {
      wr = reinterpret_cast<const float*>(op.w.data + r * stride);
    } else {
      const uint8_t* src = op.w.data + r * stride;
      if (plain) {
        interleaved_row(t, op.w.data + (r / kInterleaveRows) * kInterleaveRows * stride, r % kInterleaveRows, n_in,
                        plain);
        src = plain;
      }
      t.dequantize(src, buf, n_in);
      wr = buf;
    }
    for (int64_t i = 0; i < op.x.rows; ++i) op.y.row(i)[r] = dot_f32(wr, op.x.row(i), n_in);
  }
}

template <class F>
size_t find_op(const OpPlan* plans, size_t n_ops, int64_t task, F key) {
  size_t lo = 0, hi = n_ops;  // last op with key(plan) <= task
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    if (key(plans[mid]) <= task) lo = mid;
    else hi = mid;
  }
  return lo;
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

void matmul_ops(ThreadPool& pool, const cpu::KernelTable* kernels, ActivationMode mode, const MatMulOp* ops,
                size_t n_ops) {
  if (n_ops == 0) return;
  const cpu::KernelTable& table = kernels ? *kernels : cpu::select_kernels(cpu::IsaLevel::Scalar);
  auto* plans = reinterpret_cast<OpPlan*>(pool.shared_scratch(n_ops * sizeof(OpPlan), 1));

  // Pass 1: kernels, activation buffers (shared between ops reading the same x), and sizes.
  uint64_t act_bytes = 0, total_bytes = 0;
  int64_t n_qrows = 0, q_elems = 0;
  for (size_t i = 0; i < n_ops; ++i) {
    const MatMulOp& op = ops[i];
    check_computable(op.w);
    check_shapes(op);
    if (op.w.interleaved && op.w.rows() % kInterleaveRows != 0)
      throw Error("matmul '" + std::string(op.w.name) + "': interleaved weight has " + std::to_string(op.w.rows()) +
                  " rows, not whole groups of 16");
    OpPlan& p = plans[i];
    p = OpPlan{nullptr, nullptr, 0, n_qrows, 0, nullptr, 0, 0, 0};
    p.bytes_before = total_bytes;
    if (op.x.rows > 0) total_bytes += op.w.row_stride() * static_cast<uint64_t>(op.w.rows());
    const TensorType wt = op.w.type->type;
    if (mode != ActivationMode::Quantized || !table.has(wt) || (is_float_type(wt) && wt != TensorType::F32))
      continue;
    const cpu::TypeKernels& k = table[wt];
    if (wt == TensorType::F32) {
      p.kern = &k;
      p.act = reinterpret_cast<const uint8_t*>(op.x.data);
      p.act_stride = static_cast<size_t>(op.x.stride) * sizeof(float);
      continue;
    }
    const TypeTraits* partner = find_type(static_cast<uint32_t>(k.act_type));
    if (!partner || op.w.cols() % partner->block_elems != 0 || !k.quantize_activations) continue;
    p.kern = &k;
    p.act_stride = row_bytes(*partner, op.w.cols());
    bool shared = false;
    for (size_t j = 0; j < i && !shared; ++j) {
      const MatMulOp& o = ops[j];
      if (plans[j].kern && plans[j].q_rows && o.x.data == op.x.data && o.x.rows == op.x.rows &&
          o.x.cols == op.x.cols && o.x.stride == op.x.stride && plans[j].kern->act_type == k.act_type) {
        p.act = plans[j].act;  // an offset until the buffer exists; rebased below
        shared = true;
      }
    }
    if (shared) continue;
    p.act = reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(act_bytes));
    act_bytes += (p.act_stride * op.x.rows + 63) / 64 * 64;
    p.q_rows = op.x.rows;
    p.q_src = op.x.data;
    n_qrows += op.x.rows;
    q_elems += op.x.rows * op.x.cols;
  }

  // Pass 2: quantize every distinct activation matrix once.
  if (act_bytes) {
    uint8_t* base = pool.shared_scratch(act_bytes, 0);
    for (size_t i = 0; i < n_ops; ++i)
      if (plans[i].kern && ops[i].w.type->type != TensorType::F32)
        plans[i].act = base + reinterpret_cast<uintptr_t>(plans[i].act);
    auto quantize_row = [&](int64_t task) {
      // The last op whose q_first <= task owns the row: ops owning none sit before an owner with the
      // same q_first or after it with a larger one.
      const size_t j = find_op(plans, n_ops, task, [](const OpPlan& p) { return p.q_first; });
      const int64_t r = task - plans[j].q_first;
      const Mat& x = ops[j].x;
      plans[j].kern->quantize_activations(x.row(r), const_cast<uint8_t*>(plans[j].act) + r * plans[j].act_stride,
                                          x.cols);
    };
    // A decoded token's rows (8 experts' 768-wide down-projection inputs: ~2 us here) cost less than
    // handing a job to the pool and waiting for it.
    if (n_qrows <= 2 || q_elems < (1 << 15) || pool.size() == 1) {
      for (int64_t t = 0; t < n_qrows; ++t) quantize_row(t);
    } else {
      pool.run(n_qrows, [&](int64_t t, int) { quantize_row(t); });
    }
  }

  // Rows r0 .. r1 - 1 of op i.
  auto run_rows = [&](size_t i, int64_t r0, int64_t r1, int thread) {
    const OpPlan& p = plans[i];
    const MatMulOp& op = ops[i];
    if (!p.kern) {
      reference_rows(pool, op, r0, r1, thread);
      return;
    }
    const uint64_t stride = op.w.row_stride();
    const size_t ldy = static_cast<size_t>(op.y.stride);
    if (!op.w.interleaved || p.kern->mat_tile_i16) {
      const cpu::MatTileFn tile = op.w.interleaved ? p.kern->mat_tile_i16 : p.kern->mat_tile;
      tile(op.w.data + r0 * stride, stride, r1 - r0, p.act, p.act_stride, op.x.rows, op.w.cols(), op.y.data + r0, ldy);
      return;
    }
    // Interleaved for another level's kernels: each group's rows put back in order, then the plain kernel.
    auto* rows = reinterpret_cast<uint8_t*>(pool.scratch(thread, 1, (kInterleaveRows * stride + 3) / 4));
    for (int64_t g = r0; g < r1; g += kInterleaveRows) {
      deinterleave_rows(*op.w.type, op.w.data + g * stride, rows, kInterleaveRows, op.w.cols());
      p.kern->mat_tile(rows, stride, kInterleaveRows, p.act, p.act_stride, op.x.rows, op.w.cols(), op.y.data + g, ldy);
    }
  };

  int64_t max_tok = 0;
  for (size_t i = 0; i < n_ops; ++i) max_tok = std::max(max_tok, ops[i].x.rows);
  if (max_tok <= 2) {
    guided_rows(pool, ops, plans, n_ops, total_bytes, run_rows);
    return;
  }

  // Prefill: fixed row blocks of every weight.
  int64_t n_tasks = 0;
  for (size_t i = 0; i < n_ops; ++i) {
    const MatMulOp& op = ops[i];
    plans[i].chunk = prefill_chunk_rows(op.w.row_stride(), op.w.rows());
    // Interleaved rows split at group boundaries (rows % 16 == 0 was checked above).
    if (op.w.interleaved)
      plans[i].chunk = (plans[i].chunk + kInterleaveRows - 1) / kInterleaveRows * kInterleaveRows;
    plans[i].first_task = n_tasks;
    if (op.x.rows > 0) n_tasks += (op.w.rows() + plans[i].chunk - 1) / plans[i].chunk;
  }
  pool.run(n_tasks, [&](int64_t task, int thread) {
    const size_t i = find_op(plans, n_ops, task, [](const OpPlan& p) { return p.first_task; });
    const int64_t r0 = (task - plans[i].first_task) * plans[i].chunk;
    run_rows(i, r0, std::min(ops[i].w.rows(), r0 + plans[i].chunk), thread);
  });
}

void matmul(ThreadPool& pool, const WeightView& w, const Mat& x, const Mat& y, ActivationMode mode,
            const cpu::KernelTable* kernels) {
  const MatMulOp op{w, x, y};
  matmul_ops(pool, kernels, mode, &op, 1);
}

void get_rows(const WeightView& w, const int32_t* ids, int64_t n, const Mat& out) {
  check_computable(w);
  if (out.cols != w.cols() || out.rows < n)
    throw Error("get_rows '" + std::string(w.name) + "': output shape mismatch");
  std::vector<uint8_t> plain(w.interleaved ? w.row_stride() : 0);
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= w.rows())
      throw InputError("token id " + std::to_string(ids[i]) + " is out of range (vocabulary has " +
                       std::to_string(w.rows()) + " tokens)");
    if (w.type->type == TensorType::F32) {
      std::copy_n(reinterpret_cast<const float*>(w.row(ids[i])), w.cols(), out.row(i));
    } else if (w.interleaved) {
      interleaved_row(*w.type, w.row(ids[i] / kInterleaveRows * kInterleaveRows), ids[i] % kInterleaveRows, w.cols(),
                      plain.data());
      w.type->dequantize(plain.data(), out.row(i), w.cols());
    } else {
      w.type->dequantize(w.row(ids[i]), out.row(i), w.cols());
    }
  }
}

}  // namespace strata
