// `strata run`: one-shot generation. Streams text as it is generated, then prints prompt and
// generation speed. --logits-out / --dump-dir / --record-usage make any run checkable from outside.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "ops/kv_cache.h"
#include "ops/thread_pool.h"
#include "runtime/generate.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "text/tokenizer.h"
#include "util/error.h"

namespace strata::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string tokens;
  int64_t n_predict = 128;
  SamplerParams sp;
  int64_t seed = -1;
  int64_t n_ctx = 0;
  int threads = 0;
  std::string kv_type = "f16";
  std::string logits_out;
  std::string dump_dir;
  std::string record_usage;
  bool quant_act = false;
  bool f32_act = false;
  bool no_repack = false;
  std::string isa;
  bool pin = false;
  bool no_echo = false;
};

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos) continue;
    item = item.substr(a, b - a + 1);
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw InputError("--tokens: '" + item + "' is not a token id (expected e.g. --tokens 1,2,3)");
    }
  }
  return ids;
}

void write_file(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw InputError("cannot write '" + path + "'");
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!f) throw Error("writing '" + path + "' failed");
}

void run(const RunArgs& a) {
  if (a.prompt.empty() == a.tokens.empty())
    throw InputError("give exactly one of -p TEXT and --tokens IDS");
  const TensorType kv = parse_kv_type(a.kv_type, "--kv-type");
  if (a.n_predict < 0) throw InputError("-n must be >= 0, got " + std::to_string(a.n_predict));
  if (a.n_ctx < 0) throw InputError("-c must be >= 0, got " + std::to_string(a.n_ctx));

  auto model = Model::load(a.model);
  const HParams& hp = model->hparams();

  std::optional<Tokenizer> tok;
  std::vector<int32_t> prompt;
  if (!a.prompt.empty()) {
    tok.emplace(Tokenizer::from_gguf(model->gguf()));
    prompt = tok->encode(a.prompt, true, false);
  } else {
    prompt = parse_ids(a.tokens);
    try {
      tok.emplace(Tokenizer::from_gguf(model->gguf()));
    } catch (const Error&) {
      // Ids fed directly still run on a file without a usable vocabulary; output is printed as ids.
    }
  }
  for (int32_t t : prompt)
    if (t < 0 || t >= static_cast<int32_t>(hp.n_vocab))
      throw InputError("token id " + std::to_string(t) + " is out of range (the vocabulary has " +
                       std::to_string(hp.n_vocab) + " tokens)");

  const int64_t need = static_cast<int64_t>(prompt.size()) + a.n_predict;
  SessionOptions so;
  so.kv_type = kv;
  so.n_ctx = a.n_ctx;
  if (so.n_ctx == 0) {
    // Default: enough for this run, at least 4096 when the model was trained for that much.
    const int64_t train = hp.n_ctx_train ? hp.n_ctx_train : need;
    so.n_ctx = std::max<int64_t>(need, std::min<int64_t>(train, 4096));
  }
  if (need > so.n_ctx)
    throw InputError("the prompt (" + std::to_string(prompt.size()) + " tokens) plus -n " +
                     std::to_string(a.n_predict) + " needs " + std::to_string(need) +
                     " positions but the context (-c) is " + std::to_string(so.n_ctx));
  so.dump_dir = a.dump_dir;
  // The environment switch lets a dump be taken from any front end without changing its command line.
  if (so.dump_dir.empty())
    if (const char* env = std::getenv("STRATA_DUMP_DIR")) so.dump_dir = env;
  so.record_usage = !a.record_usage.empty();
  if (a.quant_act && a.f32_act) throw InputError("--quant-act and --f32-act exclude each other");
  so.act_mode = a.f32_act ? ActivationMode::F32 : ActivationMode::Quantized;

  const int threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ComputeOptions co;
  co.threads = threads;
  if (!a.isa.empty()) co.isa = cpu::parse_isa(a.isa);
  co.pool.pin = a.pin;
  ComputeContext compute(co);
  const bool quantized = so.act_mode == ActivationMode::Quantized;
  const std::string repack = model->repack(compute.kernels(), compute.pool(), !a.no_repack && quantized);
  Session session(*model, compute, so);

  SamplerParams sp = a.sp;
  sp.seed = a.seed >= 0 ? static_cast<uint64_t>(a.seed) : std::random_device{}();
  Sampler sampler(sp);

  std::optional<StreamingDetokenizer> detok;
  if (tok) detok.emplace(*tok);
  if (!a.no_echo) {
    if (!a.prompt.empty()) std::fputs(a.prompt.c_str(), stdout);
    else {
      for (size_t i = 0; i < prompt.size(); ++i) std::printf("%s%d", i ? "," : "", prompt[i]);
      std::fputs(tok ? "\n" : " ->", stdout);
    }
    std::fflush(stdout);
  }

  GenerateOptions go;
  go.n_predict = a.n_predict;
  go.collect_logits = !a.logits_out.empty();
  if (tok) go.is_end = [&](int32_t t) { return tok->is_eog(t); };
  go.on_token = [&](int32_t t) {
    if (detok) std::fputs(detok->push(t).c_str(), stdout);
    else std::printf(" %d", t);
    std::fflush(stdout);
  };
  GenerateResult r = generate(session, sampler, prompt, go);
  if (detok) std::fputs(detok->flush().c_str(), stdout);
  std::fputs("\n", stdout);
  std::fflush(stdout);

  if (!a.logits_out.empty()) write_file(a.logits_out, r.logits.data(), r.logits.size() * sizeof(float));
  if (!a.record_usage.empty()) {
    const std::string j = session.usage_json();
    write_file(a.record_usage, j.data(), j.size());
  }
  std::fprintf(stderr, "prompt: %lld tokens in %.3f s (%.2f tok/s); generation: %zu tokens in %.3f s (%.2f tok/s); seed %llu, %s; %s\n",
               static_cast<long long>(r.n_prompt), r.prompt_seconds,
               r.prompt_seconds > 0 ? r.n_prompt / r.prompt_seconds : 0.0, r.tokens.size(), r.gen_seconds,
               r.gen_seconds > 0 ? r.n_eval / r.gen_seconds : 0.0, static_cast<unsigned long long>(sp.seed), compute.describe().c_str(),
               repack.c_str());
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate text from a GGUF model");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("-m,--model", a->model, "GGUF model file (first shard of a split set)")->required();
  cmd->add_option("-p,--prompt", a->prompt, "prompt text (tokenized with the model's vocabulary, BOS added)");
  cmd->add_option("--tokens", a->tokens, "prompt as token ids, e.g. 1,2,3 (instead of -p)");
  cmd->add_option("-n,--n-predict", a->n_predict, "tokens to generate")->capture_default_str();
  cmd->add_option("--temp", a->sp.temperature, "temperature; <= 0 is greedy")->capture_default_str();
  cmd->add_option("--top-k", a->sp.top_k, "keep the k most likely tokens (<= 0: off)")->capture_default_str();
  cmd->add_option("--top-p", a->sp.top_p, "nucleus sampling threshold (1: off)")->capture_default_str();
  cmd->add_option("--min-p", a->sp.min_p, "drop tokens below min-p times the top probability (0: off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", a->sp.repeat_penalty, "penalty for recent tokens (1: off)")->capture_default_str();
  cmd->add_option("--repeat-last-n", a->sp.penalty_last_n, "how many recent tokens the penalties see")->capture_default_str();
  cmd->add_option("--presence-penalty", a->sp.presence_penalty, "subtracted once from seen tokens")->capture_default_str();
  cmd->add_option("--frequency-penalty", a->sp.frequency_penalty, "subtracted per occurrence")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (default: random; printed at the end)");
  cmd->add_option("-c,--ctx-size", a->n_ctx, "context size in tokens (default: enough for the run, >= min(4096, trained))");
  cmd->add_option("-t,--threads", a->threads, "threads (default: all hardware threads)");
  cmd->add_option("--kv-type", a->kv_type, "KV cache type: f16, f32 or q8_0 (half the bytes of f16; llama.cpp's -ctk/-ctv q8_0)")->capture_default_str();
  cmd->add_option("--logits-out", a->logits_out, "write every evaluated position's logits (raw LE float32 [positions x n_vocab])");
  cmd->add_option("--dump-dir", a->dump_dir, "dump named intermediate activations to this directory");
  cmd->add_option("--record-usage", a->record_usage, "write expert selection counts per (layer, expert) as JSON");
  cmd->add_flag("--quant-act", a->quant_act, "quantize activations to the weights' partner type, as ggml does (the default)");
  cmd->add_flag("--f32-act", a->f32_act, "F32 activations and dequantized weight rows: the bit-reproducible scalar reference path");
  cmd->add_flag("--no-repack", a->no_repack,
                "compute on the mapped weights as stored (default: matrices with an interleaved kernel are copied "
                "into DRAM interleaved when the model fits in memory)");
  cmd->add_option("--isa", a->isa, "kernel level: scalar, avx2 or avx512 (default: the best this CPU runs)");
  cmd->add_flag("--pin", a->pin, "pin thread i to the i-th allowed CPU");
  cmd->add_flag("--no-echo", a->no_echo, "do not print the prompt before the generated text");
  cmd->callback([a] { run(*a); });
}

}  // namespace strata::cli
