// `strata probe`: discover and measure this machine's tiers, write the machine profile that plan, run and
// serve reuse. Run it again to re-measure.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "runtime/attention_rate.h"
#include "tiers/machine.h"
#include "tiers/probe.h"
#include "tiers/tier_config.h"
#include "tiers/units.h"

namespace strata::cli {
namespace {

void print_machine(const MachineProfile& p) {
  std::printf("cpu: %s, %u socket(s), %u cores, %u threads\n", p.cpu.model.c_str(), p.cpu.sockets, p.cpu.cores,
              p.cpu.threads);
  std::printf("%-10s %-5s %-12s %11s %13s %13s %13s %10s  %s\n", "tier", "kind", "mode", "capacity", "stream read",
              "seq read", "4K QD1", "latency", "source");
  for (const auto& t : p.tiers) {
    auto bw = [](double v) { return v > 0 ? format_bandwidth(v) : std::string("-"); };
    char lat[32] = "-";
    if (t.latency_s > 0) std::snprintf(lat, sizeof lat, "%.0f ns", t.latency_s * 1e9);
    std::printf("%-10s %-5s %-12s %11s %13s %13s %13s %10s  %s\n", t.name.c_str(), tier_kind_name(t.kind),
                t.mode.empty() ? "-" : t.mode.c_str(), format_bytes(static_cast<double>(t.capacity)).c_str(),
                bw(t.stream_bw).c_str(), bw(t.seq_read_bw).c_str(), bw(t.random_4k_bw).c_str(), lat, t.source.c_str());
  }
  for (const auto& n : p.notes) std::printf("  note: %s\n", n.c_str());
}

}  // namespace

void add_probe_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("probe", "Discover and measure this machine's memory and storage tiers");
  struct Opts {
    std::vector<std::string> dirs;
    std::string out;
    std::string tiers;
    std::string root = "/";
    int threads = 0;
    bool quick = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--dir", o->dirs, "Directory or block device to measure as an NVMe tier (O_DIRECT, io_uring); repeatable");
  cmd->add_option("--out", o->out, "Where to write the machine profile (default: " + default_profile_path() + ")");
  cmd->add_option("--threads", o->threads, "Threads inference will use (default: every online CPU)");
  cmd->add_flag("--quick", o->quick, "Smaller buffers and shorter passes (seconds instead of tens of seconds)");
  cmd->add_option("--tiers", o->tiers, "TOML tier file applied on top of what was measured");
  cmd->add_option("--root", o->root, "sysfs/procfs root for detection (testing against recorded trees)");
  cmd->callback([o]() {
    ProbeOptions po;
    po.root = o->root;
    po.dirs = o->dirs;
    po.threads = o->threads;
    po.quick = o->quick;
    MachineProfile p = probe_machine(po);
    // Decode attention is arithmetic the tiers do not describe; the planner needs its rate for long
    // contexts.
    add_attention_rates(p, o->quick);
    if (!o->tiers.empty()) apply_tier_config(p, load_tier_config(o->tiers));
    const std::string out = o->out.empty() ? default_profile_path() : o->out;
    save_profile(p, out);
    print_machine(p);
    std::printf("machine profile written to %s\n", out.c_str());
  });
}

}  // namespace strata::cli
