#include "plan/presets.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <vector>

#include "tiers/units.h"
#include "util/error.h"

namespace strata {
namespace {

// ---- datasheet numbers -------------------------------------------------------------------------------
// CPUs: cores, base clock and memory/PCIe support from Intel ARK / AMD product pages. FP32 FLOP per cycle
// per core: two 512-bit FMA units = 2 x 16 lanes x 2 = 64 (Cascade Lake / Ice Lake Gold+, Sapphire
// Rapids); two 256-bit FMA units = 32 (Zen 3; Zen 4 runs AVX-512 on 256-bit units, so also 32).
struct CpuPreset {
  const char* name;
  const char* model;
  uint32_t cores;        // per socket
  double ghz;            // base clock: what all-core AVX work sustains
  double flops_cycle;
  uint32_t channels;     // memory channels per socket
  const char* ddr;       // native memory
  uint32_t mts;
  int pcie_gen;
};
constexpr CpuPreset kCpus[] = {
    {"xeon-6338", "Intel Xeon Gold 6338", 32, 2.0, 64, 8, "ddr4", 3200, 4},       // ARK 212285
    {"xeon-6246", "Intel Xeon Gold 6246", 12, 3.3, 64, 6, "ddr4", 2933, 3},       // ARK 192446
    {"xeon-8380", "Intel Xeon Platinum 8380", 40, 2.3, 64, 8, "ddr4", 3200, 4},   // ARK 212287
    {"xeon-8480", "Intel Xeon Platinum 8480+", 56, 2.0, 64, 8, "ddr5", 4800, 5},  // ARK 231746
    {"epyc-7763", "AMD EPYC 7763", 64, 2.45, 32, 8, "ddr4", 3200, 4},             // amd.com EPYC 7763
    {"epyc-9654", "AMD EPYC 9654", 96, 2.4, 32, 12, "ddr5", 4800, 5},             // amd.com EPYC 9654
};
// Quantized matmul in llama.cpp-style CPU kernels reaches roughly a third of FP32 FMA peak (prefill
// rates published for 7B-70B models on these parts); an estimate until `strata bench` measures it.
constexpr double kCpuPrefillEfficiency = 0.35;
// Per layer per token: ~25 graph ops each ending in a thread barrier of ~1 us on one socket; barriers
// across sockets cost about twice that (cache-line round trips over UPI / Infinity Fabric).
constexpr double kCpuLayerOverhead1S = 25e-6;
constexpr double kCpuLayerOverhead2S = 50e-6;

// DDR: peak per channel = MT/s x 8 bytes (JEDEC). Sustained read efficiency 0.85: MISSION.md quotes
// ~22 GB/s per DDR4-3200 channel (25.6 peak) and ~38 GB/s per DDR5-5600 channel (44.8 peak).
constexpr double kDdrEfficiency = 0.85;
constexpr double kDdr4Latency = 90e-9;  // MISSION.md table
constexpr double kDdr5Latency = 80e-9;

// Optane PMem: MISSION.md gives ~6.8 GB/s read per DIMM (Intel product briefs: 6.8 GB/s for the 128 GB
// 100-series module at 256 B granularity; the 200 series is quoted at about the same per 128 GB module),
// and ~30-39 GB/s for six interleaved DIMMs. The issue's ~30 GB/s effective for six DIMMs is the
// sustained figure inference sees: 30 / (6 x 6.8) = 0.735.
constexpr double kOptaneDimmBw = 6.8e9;
constexpr double kOptaneEfficiency = 0.735;
constexpr double kOptaneLatency = 300e-9;  // MISSION.md table

// NVMe sequential read (vendor datasheets of typical drives): Gen3 3.5 GB/s (Samsung 970 PRO),
// Gen4 7.0 GB/s (Samsung 990 PRO 7.45), Gen5 14 GB/s (Crucial T705 14.5). Large reads at QD32 sustain
// ~90% of the rating. 4 KiB QD1 latency ~80 us (MISSION.md), a little lower on newer controllers.
struct NvmePreset {
  const char* name;
  double seq;
  double latency;
};
constexpr NvmePreset kNvme[] = {{"nvme-gen3", 3.5e9, 90e-6}, {"nvme-gen4", 7.0e9, 80e-6}, {"nvme-gen5", 14.0e9, 65e-6}};
constexpr double kNvmeEfficiency = 0.9;

// GPUs: VRAM size and bandwidth and dense FP16 tensor throughput from NVIDIA datasheets / product pages
// (RTX 3060 12 GB: 360 GB/s, ~51 TFLOPS FP16 tensor with FP16 accumulate; RTX 4090: 1008 GB/s,
// 165 TFLOPS; RTX A6000: 768 GB/s, 155 TFLOPS; H100 SXM: 3350 GB/s, 989 TFLOPS; H200: 141 GB at
// 4800 GB/s, 989 TFLOPS). Streaming kernels sustain ~85% of VRAM peak; quantized matmul (dequantize
// + MMA) ~30% of tensor peak.
struct GpuPreset {
  const char* name;
  uint64_t vram;
  double bw;
  double tflops;
  int pcie_gen;
};
constexpr GpuPreset kGpus[] = {
    {"rtx3060", 12ull << 30, 360e9, 51e12, 4},   {"rtx4090", 24ull << 30, 1008e9, 165e12, 4},
    {"a6000", 48ull << 30, 768e9, 155e12, 4},    {"h100", 80ull << 30, 3350e9, 989e12, 5},
    {"h200", 141000000000ull, 4800e9, 989e12, 5},
};
constexpr double kVramEfficiency = 0.85;
constexpr double kGpuMatmulEfficiency = 0.3;

// PCIe x16 per direction: Gen3 15.75 GB/s, Gen4 31.5, Gen5 63 (PCI-SIG, after 128b/130b encoding).
// Pinned host-to-device copies reach ~80% (CUDA bandwidthTest: ~12.5 GB/s on Gen3, ~25 on Gen4).
// One small transfer plus its synchronisation costs ~10 us.
double pcie_bw(int gen) { return gen <= 3 ? 15.75e9 : gen == 4 ? 31.5e9 : 63.0e9; }
constexpr double kPcieEfficiency = 0.8;
constexpr double kPcieLatency = 10e-6;

// ---- parsing -------------------------------------------------------------------------------------------

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(trim(std::string_view(s).substr(start, p == std::string::npos ? std::string::npos : p - start)));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

[[noreturn]] void bad(const std::string& comp, const std::string& why) {
  throw InputError("--hardware component '" + comp + "': " + why + " (see `strata plan --help`)");
}

// A size that must not be zero: 0 would otherwise read as "not given" and fall back to the default.
uint64_t positive_bytes(const std::string& comp, const std::string& text, const char* what) {
  const uint64_t v = parse_bytes(text, what);
  if (v == 0) bad(comp, std::string(what) + " '" + text + "' is zero");
  return v;
}

// "2x xeon-6338" -> (2, "xeon-6338"); "6x128G" is not a count prefix (no space / name after the x).
std::pair<uint32_t, std::string> count_prefix(const std::string& comp) {
  size_t i = 0;
  while (i < comp.size() && std::isdigit(static_cast<unsigned char>(comp[i]))) ++i;
  if (i > 0 && i < comp.size() && comp[i] == 'x') {
    std::string rest = trim(std::string_view(comp).substr(i + 1));
    if (!rest.empty() && std::isalpha(static_cast<unsigned char>(rest[0]))) {
      // At most two digits: a longer count is out of range anyway, and would overflow stoul.
      const uint32_t n = i <= 2 ? static_cast<uint32_t>(std::stoul(comp.substr(0, i))) : 0;
      if (n == 0 || n > 16) bad(comp, "count must be 1..16");
      return {n, rest};
    }
  }
  return {1, comp};
}

struct DdrSpec {
  uint32_t channels = 0;
  std::string type;
  uint32_t mts = 0;
};
// "6ch-ddr4-3200"
std::optional<DdrSpec> parse_ddr(const std::string& s) {
  unsigned ch = 0, gen = 0, mts = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%uch-ddr%u-%u%c", &ch, &gen, &mts, &tail) != 3) return std::nullopt;
  if (ch == 0 || ch > 24 || (gen != 4 && gen != 5) || mts < 1600 || mts > 9600) return std::nullopt;
  return DdrSpec{ch, "ddr" + std::to_string(gen), mts};
}

bool looks_like_size(const std::string& s) {
  return !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) && s.find("ch-") == std::string::npos &&
         s.find('x') == std::string::npos;
}

struct Builder {
  MachineProfile p;
  const CpuPreset* cpu = nullptr;
  uint32_t sockets = 1;
  DdrSpec ddr;
  uint64_t dram_bytes = 0;
  int platform_pcie = 0;
  struct Optane { uint32_t dimms; uint64_t dimm_bytes; bool memory_mode; std::string series; };
  std::vector<Optane> optane;
  struct Gpu { const GpuPreset* g; uint32_t count; int gen_override; };
  std::vector<Gpu> gpus;
  struct Nvme { const NvmePreset* n; uint32_t count; uint64_t bytes; };
  std::vector<Nvme> nvmes;
};

void parse_component(Builder& b, const std::string& raw) {
  auto [count, comp] = count_prefix(lower(raw));
  auto parts = split(comp, ':');
  const std::string& name = parts[0];

  for (const auto& c : kCpus) {
    if (name != c.name) continue;
    if (b.cpu) bad(raw, "only one CPU component is allowed (use '2x " + name + "' for two sockets)");
    b.cpu = &c;
    b.sockets = count;
    b.ddr = {c.channels, c.ddr, c.mts};
    for (size_t i = 1; i < parts.size(); ++i) {
      if (auto d = parse_ddr(parts[i])) b.ddr = *d;
      else if (looks_like_size(parts[i])) b.dram_bytes = positive_bytes(raw, parts[i], "DRAM capacity");
      else bad(raw, "expected '<N>ch-ddr4|ddr5-<MT/s>' or a capacity like '64G', got '" + parts[i] + "'");
    }
    return;
  }
  if (name == "optane-100" || name == "optane-200") {
    Builder::Optane o{6, 128ull << 30, false, name};
    if (count != 1) bad(raw, "write the DIMM count as optane-200:6x128G");
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string& s = parts[i];
      if (s == "memory-mode") o.memory_mode = true;
      else if (s == "app-direct") o.memory_mode = false;
      else if (auto x = s.find('x'); x != std::string::npos && x > 0) {
        try {
          o.dimms = static_cast<uint32_t>(std::stoul(s.substr(0, x)));
        } catch (const std::exception&) {
          bad(raw, "bad DIMM count in '" + s + "'");
        }
        o.dimm_bytes = positive_bytes(raw, s.substr(x + 1), "Optane DIMM size");
        if (o.dimms == 0 || o.dimms > 32) bad(raw, "DIMM count must be 1..32");
      } else bad(raw, "expected '<N>x<size>', 'memory-mode' or 'app-direct', got '" + s + "'");
    }
    b.optane.push_back(o);
    return;
  }
  for (const auto& g : kGpus) {
    if (name != g.name) continue;
    Builder::Gpu gpu{&g, count, 0};
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i] == "pcie3" || parts[i] == "pcie4" || parts[i] == "pcie5") gpu.gen_override = parts[i][4] - '0';
      else bad(raw, "expected 'pcie3|pcie4|pcie5', got '" + parts[i] + "'");
    }
    b.gpus.push_back(gpu);
    return;
  }
  for (const auto& n : kNvme) {
    if (name != n.name) continue;
    Builder::Nvme nv{&n, count, 2ull << 40};
    for (size_t i = 1; i < parts.size(); ++i) {
      if (looks_like_size(parts[i])) nv.bytes = positive_bytes(raw, parts[i], "NVMe capacity");
      else bad(raw, "expected a capacity like '4T', got '" + parts[i] + "'");
    }
    b.nvmes.push_back(nv);
    return;
  }
  if (name == "pcie3" || name == "pcie4" || name == "pcie5") {
    b.platform_pcie = name[4] - '0';
    return;
  }
  std::string known;
  for (const auto& c : kCpus) known += std::string(" ") + c.name;
  for (const auto& g : kGpus) known += std::string(" ") + g.name;
  for (const auto& n : kNvme) known += std::string(" ") + n.name;
  bad(raw, "unknown component '" + name + "'; known:" + known + " optane-100 optane-200 pcie3 pcie4 pcie5");
}

MachineProfile build(Builder& b, const std::string& text) {
  if (!b.cpu) throw InputError("--hardware '" + text + "' names no CPU (start with e.g. 'xeon-6338:8ch-ddr4-3200:256G')");
  MachineProfile& p = b.p;
  const CpuPreset& c = *b.cpu;
  p.cpu.model = c.model;
  p.cpu.sockets = b.sockets;
  p.cpu.cores = c.cores * b.sockets;
  p.cpu.threads = p.cpu.cores;
  p.cpu.prefill_flops = p.cpu.cores * c.ghz * 1e9 * c.flops_cycle * kCpuPrefillEfficiency;
  p.cpu.per_layer_overhead_s = b.sockets > 1 ? kCpuLayerOverhead2S : kCpuLayerOverhead1S;
  if (b.dram_bytes == 0) b.dram_bytes = (256ull << 30) * b.sockets;

  const double chan_peak = b.ddr.mts * 1e6 * 8;
  const double dram_peak = chan_peak * b.ddr.channels;  // per socket
  const double dram_lat = b.ddr.type == "ddr5" ? kDdr5Latency : kDdr4Latency;
  bool memory_mode = false;
  for (const auto& o : b.optane) memory_mode |= o.memory_mode;

  for (uint32_t s = 0; s < b.sockets; ++s) {
    if (memory_mode) break;  // the DRAM is the Memory Mode cache, not a tier of its own
    TierSpec t;
    t.name = "dram" + std::to_string(s);
    t.kind = TierKind::Dram;
    t.capacity = b.dram_bytes / b.sockets;
    t.stream_bw = dram_peak * kDdrEfficiency;
    t.peak_bw = dram_peak;
    t.latency_s = dram_lat;
    t.numa_node = static_cast<int>(s);
    t.source = "preset: " + std::to_string(b.ddr.channels) + "ch " + b.ddr.type + "-" + std::to_string(b.ddr.mts);
    p.tiers.push_back(t);
  }
  int pmem_index = 0;
  for (const auto& o : b.optane) {
    // DIMMs are spread evenly over the sockets; each socket's share is one interleave set (region).
    for (uint32_t s = 0; s < b.sockets; ++s) {
      const uint32_t dimms = o.dimms / b.sockets + (s < o.dimms % b.sockets ? 1 : 0);
      if (dimms == 0) continue;
      TierSpec t;
      t.kind = TierKind::Pmem;
      t.capacity = static_cast<uint64_t>(dimms) * o.dimm_bytes;
      t.peak_bw = dimms * kOptaneDimmBw;
      t.stream_bw = t.peak_bw * kOptaneEfficiency;
      t.latency_s = kOptaneLatency;
      t.numa_node = static_cast<int>(s);
      if (o.memory_mode) {
        t.name = "pmem-mm" + std::to_string(pmem_index++);
        t.mode = "memory-mode";
        t.near_cache_bytes = b.dram_bytes / b.sockets;
        t.near_cache_bw = dram_peak * kDdrEfficiency;
      } else {
        t.name = "pmem" + std::to_string(pmem_index++);
        t.mode = "fsdax";
      }
      t.source = "preset: " + o.series + " " + std::to_string(dimms) + " DIMMs" + (o.memory_mode ? " memory-mode" : "");
      p.tiers.push_back(t);
    }
  }
  int gpu_index = 0;
  for (const auto& g : b.gpus) {
    for (uint32_t i = 0; i < g.count; ++i) {
      TierSpec t;
      t.name = "gpu" + std::to_string(gpu_index++);
      t.kind = TierKind::Gpu;
      t.capacity = g.g->vram;
      t.peak_bw = g.g->bw;
      t.stream_bw = g.g->bw * kVramEfficiency;
      t.compute_flops = g.g->tflops * kGpuMatmulEfficiency;
      int gen = std::min(g.g->pcie_gen, b.platform_pcie ? b.platform_pcie : c.pcie_gen);
      if (g.gen_override) gen = g.gen_override;
      t.link_bw = pcie_bw(gen) * kPcieEfficiency;
      t.link_latency_s = kPcieLatency;
      t.source = std::string("preset: ") + g.g->name + ", PCIe " + std::to_string(gen) + " x16";
      p.tiers.push_back(t);
    }
  }
  int nvme_index = 0;
  for (const auto& n : b.nvmes) {
    TierSpec t;
    t.name = "nvme" + std::to_string(nvme_index++);
    t.kind = TierKind::Nvme;
    t.capacity = n.bytes * n.count;
    t.peak_bw = n.n->seq * n.count;  // striped (RAID 0) drives add up for large reads
    t.seq_read_bw = t.peak_bw * kNvmeEfficiency;
    t.latency_s = n.n->latency;
    t.random_4k_bw = 4096.0 / n.n->latency;  // QD1: one 4 KiB page per round trip
    t.source = std::string("preset: ") + (n.count > 1 ? std::to_string(n.count) + "x " : "") + n.n->name;
    p.tiers.push_back(t);
  }
  p.notes.push_back("hardware preset: " + text);
  return p;
}

}  // namespace

MachineProfile parse_hardware(std::string_view text) {
  const std::string s = trim(text);
  if (s.empty()) throw InputError("--hardware is empty (see `strata plan --help`)");
  Builder b;
  for (const auto& comp : split(s, '+')) {
    if (comp.empty()) throw InputError("--hardware '" + s + "' has an empty component around a '+'");
    parse_component(b, comp);
  }
  return build(b, s);
}

std::string hardware_help() {
  std::string h =
      "Hardware strings (--hardware): components joined by '+', each '[N x] NAME[:OPTION]...'\n"
      "  CPU (exactly one; 'N x' = sockets):  NAME[:<C>ch-ddr4|ddr5-<MT/s>][:<total DRAM>]\n"
      "      channels are per socket; DRAM capacity is the machine total (default 256G per socket)\n"
      "  Optane PMem:  optane-100|optane-200[:<N>x<DIMM size>][:app-direct|memory-mode]\n"
      "      DIMMs spread over the sockets; memory-mode turns the DRAM into its cache\n"
      "  GPU ('N x' = count):  rtx3060|rtx4090|a6000|h100|h200[:pcie3|pcie4|pcie5]\n"
      "  NVMe ('N x' = striped drives):  nvme-gen3|nvme-gen4|nvme-gen5[:<capacity>] (default 2T)\n"
      "  Platform PCIe generation:  pcie3|pcie4|pcie5 (default: the CPU's)\n"
      "  Sizes: K/M/G/T are powers of 1024 (KB/MB/GB/TB powers of 1000).\n"
      "  CPUs:";
  for (const auto& c : kCpus) h += std::string(" ") + c.name;
  h += "\n  Examples:\n"
       "    \"xeon-6338:6ch-ddr4-3200:64G + optane-200:6x128G\"\n"
       "    \"2x xeon-6338:8ch-ddr4-3200:768G\"\n"
       "    \"xeon-6246:6ch-ddr4-2933:192G + optane-100:6x128G:memory-mode + rtx3060\"\n"
       "    \"epyc-9654:12ch-ddr5-4800:384G + rtx4090 + 2x nvme-gen5:4T\"\n"
       "  Bandwidths are datasheet peaks times a sustained-efficiency factor (src/plan/presets.cpp cites each).\n";
  return h;
}

}  // namespace strata
