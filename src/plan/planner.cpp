#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "plan/plan.h"
#include "tiers/units.h"
#include "util/error.h"

namespace strata {
namespace {

// A GPU layer costs kernel launches and a stream synchronisation: ~10 kernels of ~4 us each without
// CUDA graphs (llama.cpp's per-layer node count for MoE decode).
constexpr double kGpuLayerOverhead = 40e-6;
// CUDA context, cuBLAS workspace and allocator slack that never hold model data.
constexpr uint64_t kGpuDriverReserve = 600ull << 20;

struct Unit {
  int entry = -1;      // catalogue index of the tensor (whole-tensor units)
  int layer = -1;      // expert units: layer and expert
  int expert = -1;
  double bytes = 0;    // storage
  double read = 0;     // bytes read per decoded token
  double flops = 0;    // per decoded token
  double p = 1;        // access probability per token
  bool replicable = false;  // always-active: copied to every node of a parallel group
  double density() const { return bytes > 0 ? read / bytes : 0; }
};

struct Group {
  std::vector<int> members;  // indices into tiers
  ComputeSite site = ComputeSite::CpuInPlace;
  TierKind kind = TierKind::Dram;
  double order_bw = 0;       // bandwidth used to order groups
};

bool counts_as_system_ram(const TierSpec& t) {
  return t.kind == TierKind::Dram || (t.kind == TierKind::Pmem && t.mode == "memory-mode");
}

std::vector<Unit> make_units(const ModelCatalogue& cat, const UsageProfile* usage, bool per_expert) {
  const HParams& hp = cat.hp;
  const int first_mtp = static_cast<int>(hp.n_layer) - static_cast<int>(hp.n_nextn_layers);
  bool has_output = false;
  for (const auto& e : cat.entries) has_output |= e.cls == TensorClass::Output;
  std::vector<Unit> units;
  // Expert units are assembled per layer: expert e's slices of every expert tensor of that layer.
  std::map<int, std::vector<int>> expert_entries;
  for (int i = 0; i < static_cast<int>(cat.entries.size()); ++i) {
    const CatalogueEntry& e = cat.entries[i];
    const bool mtp = hp.n_nextn_layers > 0 && e.layer >= first_mtp;
    const double elems = static_cast<double>(e.ne[0]) * e.ne[1] * e.ne[2] * e.ne[3];
    Unit u;
    u.entry = i;
    u.bytes = static_cast<double>(e.nbytes);
    if (e.is_expert_tensor() && e.n_expert > 1) {
      if (per_expert && !mtp) {
        expert_entries[e.layer].push_back(i);
        continue;
      }
      double p_sum = 0;
      for (uint32_t x = 0; x < e.n_expert; ++x) {
        p_sum += expert_probability(usage, e.layer, x, e.n_expert, hp.n_expert_used);
      }
      u.p = p_sum / e.n_expert;
    } else if (e.is_expert_tensor()) {
      u.p = hp.n_expert ? std::min(1.0, static_cast<double>(hp.n_expert_used) / hp.n_expert) : 1.0;  // legacy
    } else if (e.cls == TensorClass::Embedding && has_output && e.ne[1] > 0) {
      u.p = 1.0 / static_cast<double>(e.ne[1] * e.ne[2] * e.ne[3]);  // one row per token
    } else {
      u.replicable = true;
    }
    if (mtp) u.p = 0;
    u.read = u.bytes * u.p;
    u.flops = 2 * elems * u.p;
    units.push_back(u);
  }
  for (const auto& [layer, idx] : expert_entries) {
    const uint32_t n = cat.entries[idx[0]].n_expert;
    double bytes = 0, elems = 0;
    for (int i : idx) {
      const auto& e = cat.entries[i];
      bytes += static_cast<double>(e.expert_bytes);
      elems += static_cast<double>(e.ne[0]) * e.ne[1];
    }
    for (uint32_t x = 0; x < n; ++x) {
      Unit u;
      u.layer = layer;
      u.expert = static_cast<int>(x);
      u.bytes = bytes;
      u.p = expert_probability(usage, static_cast<uint32_t>(layer), x, n, hp.n_expert_used);
      u.read = bytes * u.p;
      u.flops = 2 * elems * u.p;
      units.push_back(u);
    }
  }
  return units;
}

// Groups: NUMA nodes of one kind (and PMem mode) are read in parallel by their local threads; every other
// tier stands alone and is read in series with the rest (one layer after another).
std::vector<Group> make_groups(const std::vector<std::unique_ptr<Tier>>& tiers) {
  std::vector<Group> groups;
  for (int i = 0; i < static_cast<int>(tiers.size()); ++i) {
    const TierSpec& s = tiers[i]->spec();
    if (s.capacity == 0) continue;
    bool joined = false;
    if ((s.kind == TierKind::Dram || s.kind == TierKind::Pmem) && s.numa_node >= 0) {
      for (auto& g : groups) {
        const TierSpec& h = tiers[g.members[0]]->spec();
        if (h.kind != s.kind || h.mode != s.mode || h.numa_node < 0) continue;
        bool same_node = false;
        for (int m : g.members) same_node |= tiers[m]->spec().numa_node == s.numa_node;
        if (same_node) continue;
        g.members.push_back(i);
        joined = true;
        break;
      }
    }
    if (!joined) {
      Group g;
      g.members = {i};
      g.site = tiers[i]->compute_site();
      g.kind = s.kind;
      groups.push_back(g);
    }
  }
  return groups;
}

struct Placement {
  std::vector<int> unit_tier;        // per unit: tier index
  std::vector<double> free;          // per tier
  std::vector<double> placed;        // per tier, model bytes
  std::vector<double> read;          // per tier, bytes per token
  std::vector<double> flops;         // per tier, per token
};

std::string gb(double b) { return format_bytes(b); }

}  // namespace

uint64_t work_buffer_bytes(const HParams& hp, const PlanOptions& opt) {
  const uint64_t act = static_cast<uint64_t>(opt.ubatch) * hp.n_embd * 4 * 16;
  const uint64_t logits = static_cast<uint64_t>(opt.ubatch) * hp.n_vocab * 4;
  return (256ull << 20) + act + logits;
}

uint64_t system_reserve_bytes(const TierSpec& t) {
  if (t.capacity == 0) return 0;
  if (t.kind == TierKind::Gpu) return std::min(t.capacity, kGpuDriverReserve);
  // The OS, the page cache of everything else and the runtime's own heap.
  if (counts_as_system_ram(t)) return std::min(t.capacity, std::max<uint64_t>(1ull << 30, t.capacity / 20));
  return 0;
}

uint64_t kv_bytes_per_position(const HParams& hp, TensorType kv_type) {
  const uint64_t layers = hp.n_layer > hp.n_nextn_layers ? hp.n_layer - hp.n_nextn_layers : hp.n_layer;
  const TypeTraits& t = type_traits(kv_type);
  // Bytes of one cache row of n values (whole blocks: a Q8_0 cache rounds each row up to 32 values).
  auto row = [&](uint64_t n) { return (n + t.block_elems - 1) / t.block_elems * t.block_bytes; };
  if (hp.absorbed_mla()) return row(hp.kv_lora_rank + hp.n_rot) * layers;  // one latent row per position
  const uint64_t hd = hp.n_head ? hp.n_embd / hp.n_head : 0;
  const uint64_t dk = hp.head_dim_k ? hp.head_dim_k : hd, dv = hp.head_dim_v ? hp.head_dim_v : hd;
  const uint64_t kvh = hp.n_head_kv ? hp.n_head_kv : hp.n_head;
  return layers * (row(kvh * dk) + row(kvh * dv));
}

double attention_macs_per_position(const HParams& hp) {
  const double layers = hp.n_layer > hp.n_nextn_layers ? hp.n_layer - hp.n_nextn_layers : hp.n_layer;
  if (hp.absorbed_mla())
    return layers * hp.n_head * (2.0 * hp.kv_lora_rank + hp.n_rot);
  const double hd = hp.n_head ? static_cast<double>(hp.n_embd) / hp.n_head : 0;
  const double dk = hp.head_dim_k ? hp.head_dim_k : hd, dv = hp.head_dim_v ? hp.head_dim_v : hd;
  return layers * hp.n_head * (dk + dv);
}

Plan make_plan(const ModelCatalogue& cat, const MachineProfile& machine, const UsageProfile* usage,
               const PlanOptions& opt) {
  const HParams& hp = cat.hp;
  Plan plan;
  plan.model = hp.arch + " " + std::to_string(hp.n_layer) + "L";
  plan.arch = hp.arch;
  plan.n_layer = hp.n_layer;
  plan.n_expert = hp.n_expert;
  plan.n_expert_used = hp.n_expert_used;
  plan.options = opt;
  plan.usage_profile = usage != nullptr;

  std::vector<std::unique_ptr<Tier>> tiers;
  for (const auto& s : machine.tiers) tiers.push_back(make_tier(s));
  if (tiers.empty()) throw InputError("the machine has no tiers to plan on");
  const int nt = static_cast<int>(tiers.size());
  std::vector<Unit> units = make_units(cat, usage, opt.per_expert);
  std::vector<Group> groups = make_groups(tiers);

  plan.tiers.resize(nt);
  for (int i = 0; i < nt; ++i) {
    const TierSpec& s = tiers[i]->spec();
    TierPlan& tp = plan.tiers[i];
    tp.name = s.name;
    tp.kind = s.kind;
    tp.mode = s.mode;
    tp.site = tiers[i]->compute_site();
    tp.capacity = s.capacity;
    tp.group = -1;
    tp.reserved_system = system_reserve_bytes(s);
  }
  for (int g = 0; g < static_cast<int>(groups.size()); ++g) {
    for (int m : groups[g].members) plan.tiers[m].group = g;
  }

  // ---- reservations: KV cache and work buffers first -------------------------------------------------
  const double model_bytes = std::accumulate(units.begin(), units.end(), 0.0, [](double a, const Unit& u) { return a + u.bytes; });
  auto free_of = [&](int i) {
    const TierPlan& t = plan.tiers[i];
    return static_cast<double>(t.capacity) - t.reserved_system - t.kv_bytes - t.work_bytes - t.staging_bytes;
  };
  int gpu0 = -1, cpu_fast = -1;
  for (int i = 0; i < nt; ++i) {
    if (plan.tiers[i].capacity == 0) continue;
    if (tiers[i]->kind() == TierKind::Gpu && gpu0 < 0) gpu0 = i;
    if (tiers[i]->compute_site() == ComputeSite::CpuInPlace &&
        (cpu_fast < 0 || tiers[i]->decode_bandwidth(0) > tiers[cpu_fast]->decode_bandwidth(0))) {
      cpu_fast = i;
    }
  }
  if (cpu_fast < 0) throw InputError("the machine has no CPU-addressable memory tier (dram or pmem)");
  const uint64_t kv = kv_bytes_per_position(hp, opt.kv_type) * opt.context * std::max(1u, opt.batch);
  const uint64_t act = static_cast<uint64_t>(opt.ubatch) * hp.n_embd * 4 * 16;  // activations of one ubatch
  const uint64_t work = work_buffer_bytes(hp, opt);
  int kv_home = cpu_fast;
  if (gpu0 >= 0 && free_of(gpu0) >= static_cast<double>(kv + work)) kv_home = gpu0;
  plan.tiers[kv_home].kv_bytes += kv;
  plan.tiers[kv_home].work_bytes += work;
  if (kv_home != cpu_fast) plan.tiers[cpu_fast].work_bytes += (256ull << 20) + act;
  plan.kv_tier = kv_home;

  double addressable_free = 0;
  bool has_staged = false;
  for (int i = 0; i < nt; ++i) {
    if (tiers[i]->byte_addressable()) addressable_free += std::max(0.0, free_of(i));
    else if (plan.tiers[i].capacity > 0) has_staged = true;
  }
  double max_unit = 0;
  for (const auto& u : units) max_unit = std::max(max_unit, u.bytes);
  if (has_staged && model_bytes > addressable_free) {
    // Double-buffered prefetch: `lookahead` layers of n_used experts in flight, each as large as the
    // largest placement unit.
    const double staging = opt.lookahead_layers * std::max(1u, hp.n_expert_used) * max_unit;
    plan.tiers[cpu_fast].staging_bytes += static_cast<uint64_t>(staging);
  }
  for (int i = 0; i < nt; ++i) {
    if (plan.tiers[i].capacity > 0 && free_of(i) < 0) {
      throw InputError("tier " + plan.tiers[i].name + " (" + gb(static_cast<double>(plan.tiers[i].capacity)) +
                       ") cannot hold its reservations: KV cache " + gb(static_cast<double>(plan.tiers[i].kv_bytes)) +
                       ", work buffers " + gb(static_cast<double>(plan.tiers[i].work_bytes)) + ", staging " +
                       gb(static_cast<double>(plan.tiers[i].staging_bytes)) + "; lower -c");
    }
  }

  // ---- placement --------------------------------------------------------------------------------------
  std::vector<int> order(units.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const Unit &x = units[a], &y = units[b];
    if (x.density() != y.density()) return x.density() > y.density();
    if (x.replicable != y.replicable) return x.replicable;
    return x.bytes > y.bytes;  // big first among equals leaves small ones to fill gaps
  });

  // Memory Mode bandwidth depends on how much lands there; place twice, the second time with the first
  // pass's resident bytes (a working set estimate of the whole capacity before that).
  Placement pl;
  std::vector<double> resident(nt, 0);
  for (int i = 0; i < nt; ++i) resident[i] = std::max(0.0, free_of(i));
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& g : groups) {
      g.order_bw = 0;
      for (int m : g.members) g.order_bw += tiers[m]->decode_bandwidth(resident[m]);
    }
    std::vector<int> gorder(groups.size());
    std::iota(gorder.begin(), gorder.end(), 0);
    std::stable_sort(gorder.begin(), gorder.end(), [&](int a, int b) {
      const bool sa = groups[a].site == ComputeSite::Staged, sb = groups[b].site == ComputeSite::Staged;
      if (sa != sb) return !sa;  // staged tiers are always read after a copy: never ahead of in-place ones
      return groups[a].order_bw > groups[b].order_bw;
    });

    pl = Placement{};
    pl.unit_tier.assign(units.size(), -1);
    pl.free.resize(nt);
    pl.placed.assign(nt, 0);
    pl.read.assign(nt, 0);
    pl.flops.assign(nt, 0);
    for (int i = 0; i < nt; ++i) pl.free[i] = std::max(0.0, free_of(i));
    std::vector<double> member_time(nt, 0);  // balance of read time within a parallel group

    size_t floor_pos = 0;     // position in gorder below which no unit may go (monotone in density)
    size_t level_max = 0;     // deepest position used by units of the current density
    double level_density = -1;
    for (int ui : order) {
      const Unit& u = units[ui];
      if (u.density() != level_density) {
        floor_pos = std::max(floor_pos, level_max);
        level_density = u.density();
      }
      bool done = false;
      for (size_t gp = floor_pos; gp < gorder.size() && !done; ++gp) {
        const Group& g = groups[gorder[gp]];
        const bool replicate = u.replicable && g.members.size() > 1;
        if (replicate) {
          bool fits = true;
          for (int m : g.members) fits &= pl.free[m] >= u.bytes;
          if (!fits) continue;
          double bw_sum = 0;
          for (int m : g.members) bw_sum += tiers[m]->decode_bandwidth(resident[m]);
          for (int m : g.members) {
            const double share = tiers[m]->decode_bandwidth(resident[m]) / bw_sum;
            pl.free[m] -= u.bytes;
            pl.placed[m] += u.bytes;
            pl.read[m] += u.read * share;
            pl.flops[m] += u.flops * share;
            member_time[m] += u.read * share / tiers[m]->decode_bandwidth(resident[m]);
          }
          pl.unit_tier[ui] = g.members[0];
        } else {
          int best = -1;
          for (int m : g.members) {
            if (pl.free[m] < u.bytes) continue;
            if (best < 0 || member_time[m] < member_time[best]) best = m;
          }
          if (best < 0) continue;
          pl.free[best] -= u.bytes;
          pl.placed[best] += u.bytes;
          pl.read[best] += u.read;
          pl.flops[best] += u.flops;
          member_time[best] += u.read / tiers[best]->decode_bandwidth(resident[best]);
          pl.unit_tier[ui] = best;
        }
        level_max = std::max(level_max, gp);
        done = true;
      }
      if (!done) {
        double cap = 0;
        for (int i = 0; i < nt; ++i) cap += std::max(0.0, free_of(i));
        throw InputError("the model does not fit: " + gb(model_bytes) + " of weights (plus KV cache and buffers) "
                         "against " + gb(cap) + " of free tier capacity; add a tier (e.g. an NVMe directory) or "
                         "use a smaller quantization");
      }
    }
    for (int i = 0; i < nt; ++i) resident[i] = pl.placed[i];
  }

  // ---- record placement -------------------------------------------------------------------------------
  plan.expert_tier.assign(hp.n_layer, {});
  for (size_t k = 0; k < units.size(); ++k) {
    const Unit& u = units[k];
    if (u.expert >= 0) {
      auto& row = plan.expert_tier[u.layer];
      if (row.empty()) row.assign(cat.entries.empty() ? 0 : hp.n_expert, -1);
      if (static_cast<size_t>(u.expert) >= row.size()) row.resize(u.expert + 1, -1);
      row[u.expert] = pl.unit_tier[k];
    } else {
      plan.tensor_tier[cat.entries[u.entry].name] = pl.unit_tier[k];
    }
  }

  // ---- cost -------------------------------------------------------------------------------------------
  const double kv_read = static_cast<double>(kv_bytes_per_position(hp, opt.kv_type)) * opt.context * opt.kv_fill * std::max(1u, opt.batch);
  const int n_run = static_cast<int>(hp.n_layer - std::min(hp.n_layer, hp.n_nextn_layers));
  double model_read = 0;
  for (int i = 0; i < nt; ++i) model_read += pl.read[i];
  plan.bytes_per_token = model_read;
  pl.read[kv_home] += kv_read;

  // Layers that hold something on a staged tier pay one read round trip each (reads are issued together).
  std::vector<std::vector<bool>> layer_on(nt, std::vector<bool>(std::max<uint32_t>(hp.n_layer, 1), false));
  for (size_t k = 0; k < units.size(); ++k) {
    const Unit& u = units[k];
    const int layer = u.expert >= 0 ? u.layer : cat.entries[u.entry].layer;
    if (layer >= 0 && layer < static_cast<int>(hp.n_layer) && u.read > 0) layer_on[pl.unit_tier[k]][layer] = true;
  }

  double cpu_bytes = 0, staged_bytes = 0;
  double bound_s = 0;
  std::vector<double> group_time(groups.size(), 0);
  for (int g = 0; g < static_cast<int>(groups.size()); ++g) {
    double t = 0, group_bound = 0;
    for (int m : groups[g].members) {
      TierPlan& tp = plan.tiers[m];
      tp.placed_bytes = static_cast<uint64_t>(pl.placed[m]);
      tp.read_per_token = pl.read[m];
      tp.bandwidth = tiers[m]->decode_bandwidth(pl.placed[m]);
      double s = tp.bandwidth > 0 ? pl.read[m] / tp.bandwidth : 0;
      if (tp.site == ComputeSite::Staged) {
        int layers = 0;
        for (bool b : layer_on[m]) layers += b;
        s += layers * tiers[m]->latency();
        staged_bytes += pl.read[m];
      }
      if (tp.site == ComputeSite::CpuInPlace) cpu_bytes += pl.read[m];
      tp.seconds_per_token = s;
      t = std::max(t, s);  // members of a group run in parallel
      const double peak = tiers[m]->peak_bandwidth();
      group_bound = std::max(group_bound, peak > 0 ? pl.read[m] / peak : 0);
    }
    group_time[g] = t;
    bound_s += group_bound;
  }
  // Staged bytes land in the DRAM cache and are then read by the CPU like any resident expert.
  double staged_copy_s = 0;
  if (staged_bytes > 0) staged_copy_s = staged_bytes / tiers[cpu_fast]->decode_bandwidth(pl.placed[cpu_fast]);
  double mem_s = staged_copy_s;
  for (double t : group_time) mem_s += t;
  // A measured CPU decode ceiling turns CPU-side memory time into compute time where it is slower.
  double cpu_mem_s = 0;
  for (int g = 0; g < static_cast<int>(groups.size()); ++g) {
    if (groups[g].site == ComputeSite::CpuInPlace) cpu_mem_s += group_time[g];
  }
  double cpu_compute_extra = 0;
  if (machine.cpu.decode_bytes_per_s > 0) {
    cpu_compute_extra = std::max(0.0, (cpu_bytes + staged_bytes) / machine.cpu.decode_bytes_per_s - cpu_mem_s - staged_copy_s);
  }
  // Attention on the CPU: its arithmetic grows with the context like its KV reads; the KV home's read
  // time is already counted, so only what the measured rate needs beyond it is added.
  const bool mla = hp.absorbed_mla();
  const double attention_rate = mla ? machine.cpu.mla_attention_macs_per_s : machine.cpu.attention_macs_per_s;
  const bool cpu_attention = attention_rate > 0 && plan.tiers[kv_home].site != ComputeSite::Gpu;
  double attention_extra = 0;
  if (cpu_attention) {
    const double macs = attention_macs_per_position(hp) * opt.context * opt.kv_fill * std::max(1u, opt.batch);
    const double kv_bw = plan.tiers[kv_home].bandwidth;
    attention_extra = std::max(0.0, macs / attention_rate - (kv_bw > 0 ? kv_read / kv_bw : 0));
  }

  // Fixed costs per token.
  bool any_cpu = false, any_gpu = false;
  int hybrid_layers = 0;
  double link_cost = 0;
  for (int l = 0; l < n_run; ++l) {
    bool on_cpu = false, on_gpu = false;
    for (int i = 0; i < nt; ++i) {
      if (!layer_on[i][l]) continue;
      if (plan.tiers[i].site == ComputeSite::Gpu) on_gpu = true;
      else on_cpu = true;
    }
    any_cpu |= on_cpu;
    any_gpu |= on_gpu;
    hybrid_layers += on_cpu && on_gpu;
  }
  if (gpu0 >= 0) {
    const TierSpec& g = tiers[gpu0]->spec();
    const double act_bytes = static_cast<double>(hp.n_embd) * 4;
    link_cost = 2 * (g.link_latency_s + (g.link_bw > 0 ? act_bytes / g.link_bw : 0));
  }
  double fixed = 0;
  if (any_cpu) fixed += n_run * machine.cpu.per_layer_overhead_s;
  if (any_gpu) fixed += n_run * kGpuLayerOverhead + hybrid_layers * link_cost;
  plan.fixed_seconds = fixed + cpu_compute_extra + attention_extra;
  plan.decode_seconds = mem_s + plan.fixed_seconds;
  plan.decode_tok_s = plan.decode_seconds > 0 ? 1.0 / plan.decode_seconds : 0;
  plan.bound_tok_s = bound_s > 0 ? 1.0 / bound_s : 0;
  for (auto& tp : plan.tiers) tp.time_share = plan.decode_seconds > 0 ? tp.seconds_per_token / plan.decode_seconds : 0;

  // Bottleneck: the largest single contributor.
  double worst = fixed;
  plan.bottleneck = "fixed per-layer costs (" + std::to_string(static_cast<int>(fixed * 1e6)) + " us/token)";
  for (int g = 0; g < static_cast<int>(groups.size()); ++g) {
    if (group_time[g] <= worst) continue;
    worst = group_time[g];
    std::string names;
    double rd = 0, bw = 0;
    for (int m : groups[g].members) {
      names += (names.empty() ? "" : "+") + plan.tiers[m].name;
      rd += plan.tiers[m].read_per_token;
      bw += plan.tiers[m].bandwidth;
    }
    plan.bottleneck = names + " (" + gb(rd) + "/token at " + format_bandwidth(bw) + ")";
  }
  if (cpu_compute_extra > worst) {
    worst = cpu_compute_extra;
    plan.bottleneck = "CPU decode compute (" + format_bandwidth(machine.cpu.decode_bytes_per_s) + ")";
  }
  if (attention_extra > worst) {
    char b[96];
    std::snprintf(b, sizeof b, "CPU attention compute (%.1f GMAC/s at %d%% of -c %u)",
                  attention_rate * 1e-9, static_cast<int>(opt.kv_fill * 100), opt.context);
    plan.bottleneck = b;
  }

  // ---- prefill: per micro-batch, each tier streams every touched byte once and its compute site does
  // the math; memory and compute overlap within a tier, tiers run one after another.
  const double U = std::max(1u, opt.ubatch);
  std::vector<double> touched(nt, 0), pf_flops(nt, 0);
  for (size_t k = 0; k < units.size(); ++k) {
    const Unit& u = units[k];
    const int t = pl.unit_tier[k];
    const double frac = u.p >= 1 ? 1 : 1 - std::pow(1 - u.p, U);
    touched[t] += u.bytes * frac;
    pf_flops[t] += u.flops * U;
  }
  double cpu_rate = machine.cpu.prefill_flops;
  if (cpu_rate <= 0) cpu_rate = std::max<uint32_t>(1, machine.cpu.cores) * 2.5e9 * 32 * 0.35;
  double cpu_flops = 0, cpu_mem = 0, pf_s = 0;
  for (int i = 0; i < nt; ++i) {
    const double bw = plan.tiers[i].bandwidth;
    const double mem = bw > 0 ? touched[i] / bw : 0;
    if (plan.tiers[i].site == ComputeSite::Gpu) {
      const double rate = tiers[i]->spec().compute_flops > 0 ? tiers[i]->spec().compute_flops : 10e12;
      pf_s += std::max(mem, pf_flops[i] / rate);
    } else {
      cpu_flops += pf_flops[i];
      cpu_mem += mem;
    }
  }
  pf_s += std::max(cpu_mem, cpu_flops / cpu_rate) + n_run * (any_gpu ? kGpuLayerOverhead + link_cost : 0) +
          n_run * machine.cpu.per_layer_overhead_s;
  plan.prefill_tok_s = pf_s > 0 ? U / pf_s : 0;

  // ---- assumptions stated with the plan --------------------------------------------------------------
  auto& a = plan.assumptions;
  a.push_back(usage ? "expert access probabilities from the usage profile (per layer, per expert)"
                    : "experts accessed uniformly: p = n_expert_used / n_expert per token (no usage profile)");
  a.push_back("KV cache on " + plan.tiers[kv_home].name + "; decode reads it at " +
              std::to_string(static_cast<int>(opt.kv_fill * 100)) + "% of -c " + std::to_string(opt.context));
  if (cpu_attention) {
    char b[160];
    std::snprintf(b, sizeof b, "CPU attention%s at %.1f GMAC/s: %.2f ms/token beyond its KV reads",
                  mla ? " (MLA)" : "", attention_rate * 1e-9, attention_extra * 1e3);
    a.push_back(b);
  }
  for (const auto& g : groups) {
    if (g.members.size() < 2) continue;
    std::string names;
    for (int m : g.members) names += (names.empty() ? "" : ", ") + plan.tiers[m].name;
    a.push_back("NUMA: " + names +
                " read in parallel; always-active weights replicated on every node, each node's routed experts "
                "computed by threads pinned to that node (no cross-socket weight reads), balanced by access "
                "probability");
  }
  for (int i = 0; i < nt; ++i) {
    if (plan.tiers[i].mode == "memory-mode") {
      const auto* pm = dynamic_cast<const PmemTier*>(tiers[i].get());
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s: Memory Mode DRAM cache hit rate %.0f%% (cache / resident bytes, "
                    "direct-mapped, uniform reads)", plan.tiers[i].name.c_str(),
                    100 * (pm ? pm->memory_mode_hit_rate(pl.placed[i]) : 0));
      a.push_back(buf);
    }
  }
  if (staged_bytes > 0) {
    a.push_back("staged tiers: experts homed there are read on demand with large direct reads into " +
                gb(static_cast<double>(plan.tiers[cpu_fast].staging_bytes)) + " of DRAM staging buffers on " +
                plan.tiers[cpu_fast].name + "; hotter experts are pinned in faster tiers instead of cached "
                "(equivalent under independent per-token routing)");
  }
  a.push_back("prefill: micro-batches of " + std::to_string(opt.ubatch) +
              " tokens, weights computed where they live (no transfers to the GPU), attention cost at short context");
  return plan;
}

std::vector<std::pair<std::string, double>> marginal_gains(const ModelCatalogue& cat, const MachineProfile& machine,
                                                           const UsageProfile* usage, const PlanOptions& opt) {
  const double base = make_plan(cat, machine, usage, opt).decode_tok_s;
  std::vector<std::pair<std::string, double>> out;
  for (size_t i = 0; i < machine.tiers.size(); ++i) {
    if (machine.tiers[i].capacity == 0) continue;
    MachineProfile m = machine;
    m.tiers[i].capacity += 1000000000ull;
    out.emplace_back(machine.tiers[i].name, make_plan(cat, m, usage, opt).decode_tok_s - base);
  }
  return out;
}

}  // namespace strata
