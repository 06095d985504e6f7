#include "plan/llama_export.h"

#include <algorithm>
#include <set>

#include "tiers/units.h"
#include "util/error.h"

namespace strata {
namespace {

// Several NUMA nodes of one kind become one host tier: capacity adds up, but bandwidth is one node's,
// because llama.cpp's mmap'd weights sit wherever the page cache (or the DAX namespace) put them and
// its threads do not read node-local copies.
TierSpec merge_nodes(const std::vector<const TierSpec*>& parts, const std::string& name) {
  TierSpec t = *parts.front();
  t.name = name;
  t.capacity = 0;
  t.near_cache_bytes = 0;
  for (const auto* p : parts) {
    t.capacity += p->capacity;
    t.near_cache_bytes += p->near_cache_bytes;
  }
  t.numa_node = -1;
  return t;
}

std::string join_layers(const std::vector<int>& layers) {
  std::string s;
  for (int l : layers) {
    if (!s.empty()) s += '|';
    s += std::to_string(l);
  }
  return s;
}

}  // namespace

LlamaCppExport llama_cpp_equivalent(const ModelCatalogue& cat, const MachineProfile& machine,
                                    const UsageProfile* usage, const PlanOptions& opt) {
  LlamaCppExport out;
  MachineProfile m;
  m.cpu = machine.cpu;
  std::vector<const TierSpec*> dram, mm, pmem, nvme;
  double gpu_cap = 0;
  for (const auto& t : machine.tiers) {
    if (t.kind == TierKind::Gpu) {
      m.tiers.push_back(t);
      gpu_cap += static_cast<double>(t.capacity);
    } else if (t.kind == TierKind::Dram) dram.push_back(&t);
    else if (t.kind == TierKind::Pmem && t.mode == "memory-mode") mm.push_back(&t);
    else if (t.kind == TierKind::Pmem) pmem.push_back(&t);
    else nvme.push_back(&t);
  }
  auto cap = [](const std::vector<const TierSpec*>& v) {
    double c = 0;
    for (const auto* t : v) c += static_cast<double>(t->capacity);
    return c;
  };
  const double model = static_cast<double>(cat.total_bytes());
  // Headroom for the OS, KV cache and buffers when deciding whether the file stays in the page cache.
  const double need = (model - gpu_cap) * 1.05 + (4ull << 30);
  if (!mm.empty()) {
    m.tiers.push_back(merge_nodes(mm, "system-memory"));
    out.host = "Memory Mode system memory (" + mm.front()->name + ")";
  } else if (!dram.empty() && cap(dram) >= need) {
    m.tiers.push_back(merge_nodes(dram, "page-cache"));
    out.host = "DRAM page cache";
  } else if (!pmem.empty() && cap(pmem) >= model) {
    m.tiers.push_back(merge_nodes(pmem, "dax-mmap"));
    out.host = "mmap of the file on the fsdax PMem mount (" + pmem.front()->name + "), no copy in DRAM";
    if (!dram.empty()) {
      // DRAM still holds the KV cache and compute buffers, but no weights: give it just that room.
      TierSpec d = merge_nodes(dram, "dram-buffers");
      const uint64_t kv = kv_bytes_per_position(cat.hp, opt.kv_type) * opt.context * std::max(1u, opt.batch);
      const uint64_t act = static_cast<uint64_t>(opt.ubatch) * cat.hp.n_embd * 4 * 16;
      uint64_t want = kv + work_buffer_bytes(cat.hp, opt) + (256ull << 20) + act;
      TierSpec probe = d;
      probe.capacity = want;
      // Solve capacity - reserve(capacity) = want; the reserve is a step function, two rounds settle it.
      for (int i = 0; i < 2; ++i) probe.capacity = want + system_reserve_bytes(probe);
      d.capacity = std::min<uint64_t>(d.capacity, probe.capacity + (16ull << 20));
      m.tiers.push_back(d);
      out.notes.push_back("DRAM holds only the KV cache and buffers: llama.cpp reads mmap'd weights in place");
    }
  } else if (!nvme.empty() && !dram.empty()) {
    TierSpec pc = merge_nodes(dram, "page-cache");
    m.tiers.push_back(pc);
    TierSpec f = *nvme.front();
    f.name = "mmap-faults";
    f.kind = TierKind::Mmap;
    if (f.random_4k_bw <= 0) f.random_4k_bw = f.latency_s > 0 ? 4096 / f.latency_s : 50e6;
    m.tiers.push_back(f);
    out.host = "mmap from " + nvme.front()->name + ": misses of the page cache arrive as 4 KiB faults at QD1";
  } else {
    throw InputError("llama.cpp export: no host memory can hold the model (" + format_bytes(model) + ")");
  }
  if (dram.size() > 1 || mm.size() > 1 || pmem.size() > 1) {
    out.notes.push_back("llama.cpp NUMA: one node's bandwidth (weights where the page cache put them, --numa "
                        "distribute spreads threads but not the mmap'd pages)");
  }

  PlanOptions o = opt;
  o.per_expert = false;
  out.plan = make_plan(cat, m, usage, o);

  // Flags from the per-tensor placement.
  std::string flags;
  const bool has_gpu = gpu_cap > 0;
  if (!has_gpu) {
    flags = "-ngl 0";
  } else {
    flags = "-ngl 999";
    std::set<int> moe_layers, cpu_moe, cpu_dense;
    for (const auto& e : cat.entries) {
      auto it = out.plan.tensor_tier.find(e.name);
      if (it == out.plan.tensor_tier.end() || e.layer < 0) continue;
      const bool on_gpu = out.plan.tiers[it->second].site == ComputeSite::Gpu;
      if (e.is_expert_tensor()) {
        moe_layers.insert(e.layer);
        if (!on_gpu) cpu_moe.insert(e.layer);
      } else if (!on_gpu) {
        cpu_dense.insert(e.layer);
      }
    }
    if (!cpu_dense.empty()) {
      flags += " -ot \"blk\\.(" + join_layers({cpu_dense.begin(), cpu_dense.end()}) + ")\\.=CPU\"";
    }
    if (!cpu_moe.empty()) {
      if (cpu_moe == moe_layers) {
        flags += " --cpu-moe";
      } else {
        // --n-cpu-moe N keeps the experts of layers [0, N) on the CPU.
        const int n = *cpu_moe.rbegin() + 1;
        bool prefix = true;
        for (int l : moe_layers) prefix &= (l < n) == (cpu_moe.count(l) > 0);
        if (prefix) flags += " --n-cpu-moe " + std::to_string(n);
        else flags += " -ot \"blk\\.(" + join_layers({cpu_moe.begin(), cpu_moe.end()}) + ")\\.ffn_.*_exps\\.=CPU\"";
      }
    }
    for (const auto& [name, t] : out.plan.tensor_tier) {
      if (name == "output.weight" && out.plan.tiers[t].site != ComputeSite::Gpu) flags += " -ot \"^output\\.=CPU\"";
    }
  }
  if (dram.size() > 1 || pmem.size() > 1 || mm.size() > 1) flags += " --numa distribute";
  flags += " -c " + std::to_string(opt.context);
  // llama.cpp quantizes the V cache only with flash attention.
  if (opt.kv_type == TensorType::Q8_0) flags += " -ctk q8_0 -ctv q8_0 -fa on";
  else if (opt.kv_type == TensorType::F32) flags += " -ctk f32 -ctv f32";
  out.flags = flags;
  return out;
}

}  // namespace strata
