#include "runtime/session.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace strata {

uint64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

namespace {

std::string gib(uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(b) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

Session::Session(Model& model, ThreadPool& pool, SessionOptions opts)
    : Session(model, pool, &cpu::select_kernels(cpu::select_isa(cpu::detect_cpu_features())), std::move(opts)) {}

Session::Session(Model& model, ComputeContext& compute, SessionOptions opts)
    : Session(model, compute.pool(), &compute.kernels(), std::move(opts)) {}

Session::Session(Model& model, ThreadPool& pool, const cpu::KernelTable* kernels, SessionOptions opts)
    : model_(model), pool_(pool), kernels_(kernels), opts_(std::move(opts)) {
  const HParams& hp = model_.hparams();
  if (opts_.n_ctx < 0) throw InputError("context size must be positive, got " + std::to_string(opts_.n_ctx));
  if (opts_.n_ctx == 0) opts_.n_ctx = std::min<int64_t>(hp.n_ctx_train ? hp.n_ctx_train : 4096, 4096);
  if (opts_.n_ctx > INT32_MAX) throw InputError("context size " + std::to_string(opts_.n_ctx) + " is too large");
  if (opts_.n_batch <= 0) opts_.n_batch = 512;
  if (!is_kv_type(opts_.kv_type)) throw InputError("KV cache type must be f16, f32 or q8_0");

  const auto layout = model_.arch().kv_layout();
  const uint64_t need = KvCache::bytes_needed(opts_.kv_type, opts_.n_ctx, layout);
  const uint64_t budget = opts_.memory_budget ? opts_.memory_budget : available_memory_bytes();
  if (budget && need > budget) {
    const uint64_t per_tok = need / static_cast<uint64_t>(opts_.n_ctx);
    throw InputError("the KV cache for a context of " + std::to_string(opts_.n_ctx) + " tokens needs " +
                     gib(need) + " (" + std::to_string(per_tok) + " bytes per token, " +
                     type_name(static_cast<uint32_t>(opts_.kv_type)) + "), but only " + gib(budget) +
                     " is available; at most " + std::to_string(budget / std::max<uint64_t>(1, per_tok)) +
                     " tokens fit: lower -c");
  }
  kv_ = std::make_unique<KvCache>(opts_.kv_type, opts_.n_ctx, layout);
  if (!opts_.dump_dir.empty()) dumper_ = std::make_unique<TensorDumper>(opts_.dump_dir);
  if (opts_.record_usage && hp.n_expert > 0)
    usage_ = std::make_unique<ExpertUsage>(static_cast<int>(hp.n_layer), static_cast<int>(hp.n_expert));
}

std::span<const float> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t n_vocab = model_.hparams().n_vocab;
  if (n == 0) throw InputError("nothing to evaluate: the token list is empty");
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab)
      throw InputError("token id " + std::to_string(t) + " is out of range (the vocabulary has " +
                       std::to_string(n_vocab) + " tokens: 0.." + std::to_string(n_vocab - 1) + ")");
  if (n_past_ + n > opts_.n_ctx)
    throw InputError(std::to_string(n) + " tokens at position " + std::to_string(n_past_) +
                     " do not fit in the context of " + std::to_string(opts_.n_ctx) + " tokens");

  logits_.resize(static_cast<size_t>(all_logits ? n : 1) * n_vocab);
  ForwardCtx ctx{pool_, ws_, opts_.act_mode, dumper_.get(), usage_.get(), kernels_};
  for (int64_t i = 0; i < n; i += opts_.n_batch) {
    const int64_t m = std::min(opts_.n_batch, n - i);
    const bool last = i + m == n;
    Batch b{tokens.data() + i, m, n_past_, all_logits};
    if (!all_logits && !last) {
      // Intermediate chunks of a long prompt only fill the cache; their logits are discarded.
      b.all_logits = false;
      Mat scratch = ws_.mat(kScratchLogitsSlot, 1, n_vocab);
      model_.arch().forward(ctx, *kv_, b, scratch);
    } else {
      float* dst = all_logits ? logits_.data() + i * n_vocab : logits_.data();
      Mat out{dst, all_logits ? m : 1, n_vocab, n_vocab};
      model_.arch().forward(ctx, *kv_, b, out);
    }
    n_past_ += m;
  }
  return logits_;
}

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_past_)
    throw InputError("cannot truncate the context to " + std::to_string(n) + " tokens: it holds " +
                     std::to_string(n_past_));
  n_past_ = n;
}

std::string Session::usage_json() const {
  std::ostringstream o;
  const HParams& hp = model_.hparams();
  std::string name = model_.name();
  std::string esc;
  for (char c : name) {
    if (c == '"' || c == '\\') esc += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) esc += c;
  }
  o << "{\"model\": \"" << esc << "\", \"n_layer\": " << hp.n_layer << ", \"n_expert\": " << hp.n_expert
    << ", \"counts\": [";
  for (uint32_t l = 0; l < hp.n_layer; ++l) {
    o << (l ? ", " : "") << "[";
    for (uint32_t e = 0; e < hp.n_expert; ++e)
      o << (e ? ", " : "") << (usage_ ? usage_->count(static_cast<int>(l), static_cast<int>(e)) : 0);
    o << "]";
  }
  o << "]}\n";
  return o.str();
}

}  // namespace strata
