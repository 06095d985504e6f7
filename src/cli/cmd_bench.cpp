// `strata bench`: prefill and decode speed against the machine's measured limits (src/runtime/bench.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "cli/commands.h"
#include "ops/compute.h"
#include "ops/kv_cache.h"
#include "runtime/bench.h"
#include "runtime/model.h"
#include "synth/synth.h"
#include "util/error.h"

namespace strata::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::string synth;
  uint32_t layers = 0;
  std::string type;
  std::string synth_dir;
  bool keep = false;
  BenchOptions opt;
  int threads = 0;
  std::string isa;
  bool pin = false;
  bool f32_act = false;
  bool no_repack = false;
  bool json = false;
  uint64_t stream_mib = 0;
  std::string kv_type = "f16";
};

// A generated model lives in a private temporary directory, removed when the bench ends (also on error).
class TempModel {
 public:
  TempModel(const BenchArgs& a) {
    namespace fs = std::filesystem;
    fs::path base = a.synth_dir.empty() ? fs::temp_directory_path() : fs::path(a.synth_dir);
    std::string tmpl = (base / "strata-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw InputError("cannot create a temporary directory under " + base.string());
    dir_ = tmpl;
    path_ = dir_ + "/" + a.synth + ".gguf";
    keep_ = a.keep;
    synth::SynthOptions so;
    so.preset = a.synth;
    so.layers = a.layers;
    so.type = a.type;
    const synth::SynthResult sr = synth::synthesize(so, path_);
    std::fprintf(stderr, "synth: %s, %.2f GB in %.1f s -> %s\n", a.synth.c_str(), sr.bytes * 1e-9, sr.seconds,
                 path_.c_str());
  }
  ~TempModel() {
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
  bool keep_ = false;
};

void bench(BenchArgs& a) {
  if (a.model.empty() == a.synth.empty()) throw InputError("give exactly one of -m MODEL and --synth PRESET");
  // Checked before a model is generated or loaded, which can take minutes (run_bench checks again).
  for (int64_t d : a.opt.depths)
    if (d < 0) throw InputError("--depth must be >= 0, got " + std::to_string(d));
  a.opt.kv_type = parse_kv_type(a.kv_type, "--kv-type");
  if (!a.synth.empty() || a.layers || !a.type.empty()) {
    if (a.synth.empty()) throw InputError("--layers and --type apply to --synth only");
  }
  ComputeOptions co;
  co.threads = a.threads > 0 ? a.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!a.isa.empty()) co.isa = cpu::parse_isa(a.isa);
  co.pool.pin = a.pin;
  a.opt.stream_bytes = a.stream_mib << 20;
  a.opt.act_mode = a.f32_act ? ActivationMode::F32 : ActivationMode::Quantized;

  std::unique_ptr<TempModel> tmp;
  std::string path = a.model;
  if (!a.synth.empty()) {
    tmp = std::make_unique<TempModel>(a);
    path = tmp->path();
  }
  auto model = Model::load(path);
  ComputeContext compute(co);
  std::fprintf(stderr, "bench: %s, %s\n", compute.describe().c_str(), cpu::describe(compute.features()).c_str());
  const bool quantized = a.opt.act_mode == ActivationMode::Quantized;
  const std::string repack = model->repack(compute.kernels(), compute.pool(), !a.no_repack && quantized);
  BenchResult r = run_bench(*model, compute, a.opt);
  r.repack = repack;
  const std::string out = a.json ? bench_to_json(r) : bench_to_text(r);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prefill and decode speed against this machine's bandwidth and int8 peak");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("-m,--model", a->model, "GGUF model file");
  cmd->add_option("--synth", a->synth, "benchmark a generated model of this preset (see strata synth)");
  cmd->add_option("--layers", a->layers, "--synth: number of blocks");
  cmd->add_option("--type", a->type, "--synth: quant mix or one type for every matrix");
  cmd->add_option("--synth-dir", a->synth_dir, "--synth: directory for the temporary file (default: $TMPDIR or /tmp)");
  cmd->add_flag("--keep", a->keep, "--synth: keep the generated file");
  cmd->add_option("-p,--n-prompt", a->opt.n_prompt, "prompt tokens for prefill (0: skip)")->capture_default_str();
  cmd->add_option("-n,--n-gen", a->opt.n_gen, "tokens to decode (0: skip)")->capture_default_str();
  cmd->add_option("-d,--depth", a->opt.depths,
                  "context already filled before decoding; several (-d 0,4096) decode at each within every rep, "
                  "and compare each with the first")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-r,--reps", a->opt.reps, "repetitions (median, min, max reported)")->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "threads (default: all hardware threads)");
  cmd->add_option("--isa", a->isa, "kernel level: scalar, avx2 or avx512 (default: the best this CPU runs)");
  cmd->add_flag("--pin", a->pin, "pin thread i to the i-th allowed CPU");
  cmd->add_flag("--f32-act", a->f32_act, "the F32 reference path instead of quantized activations");
  cmd->add_flag("--no-repack", a->no_repack, "compute on the mapped weights as stored (no interleaved DRAM copy)");
  cmd->add_option("--kv-type", a->kv_type, "KV cache type: f16, f32 or q8_0")->capture_default_str();
  cmd->add_option("--stream-seconds", a->opt.stream_seconds, "time per STREAM-like bandwidth measurement")
      ->capture_default_str();
  cmd->add_option("--stream-mib", a->stream_mib, "bandwidth buffer in MiB (default: max(1 GiB, 4 x LLC); smaller measures caches)");
  cmd->add_flag("--json", a->json, "print the result as JSON");
  cmd->callback([a] { bench(*a); });
}

}  // namespace strata::cli
