#include "model/arch/weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <utility>

#include "quant/interleave.h"
#include "util/error.h"
#include "util/huge_buffer.h"

namespace strata {
namespace {

std::string shape_str(const std::vector<int64_t>& ne) {
  std::string s = "{";
  for (size_t i = 0; i < ne.size(); ++i) {
    if (i) s += ", ";
    s += ne[i] == kAny ? std::string("*") : std::to_string(ne[i]);
  }
  return s + "}";
}

std::string full_name(int layer, std::string_view role) {
  return layer < 0 ? std::string(role) : "blk." + std::to_string(layer) + "." + std::string(role);
}

}  // namespace

TensorRef Weights::optional(int layer, std::string_view role, std::vector<int64_t> ne, bool f32_only) const {
  TensorRef ref = lookup(layer, role);
  if (!ref.valid()) return ref;
  const CatalogueEntry& e = entry(ref);
  bool ok = true;
  for (size_t i = 0; i < 4; ++i) {
    const int64_t want = i < ne.size() ? ne[i] : 1;
    if (want != kAny && e.ne[i] != want) ok = false;
  }
  if (!ok) {
    std::vector<int64_t> have(e.ne.begin(), e.ne.begin() + std::max<uint32_t>(1, e.n_dims));
    throw FormatError(source(), e.file_offset, e.name,
                      "tensor has shape " + shape_str(have) + ", expected " + shape_str(ne));
  }
  if (!e.traits)
    throw UnsupportedError("tensor '" + e.name + "' has tensor type id " + std::to_string(e.type_id) +
                           " which Strata does not know");
  if (f32_only && e.traits->type != TensorType::F32)
    throw UnsupportedError("tensor '" + e.name + "' has type " + e.traits->name + "; only F32 is supported here");
  if (e.traits->type != TensorType::F32 && !e.traits->dequantize)
    throw UnsupportedError("tensor '" + e.name + "' has type " + e.traits->name +
                           " which this build cannot compute yet");
  if (!e.data) throw Error("tensor '" + e.name + "' is not mapped in memory");
  return ref;
}

TensorRef Weights::require(int layer, std::string_view role, std::vector<int64_t> ne, bool f32_only) const {
  TensorRef ref = optional(layer, role, ne, f32_only);
  if (!ref.valid())
    throw FormatError(source(), 0, full_name(layer, role), "required tensor is missing");
  return ref;
}

MappedWeights::MappedWeights(const ModelCatalogue& cat, std::string source)
    : cat_(cat), source_(std::move(source)), interleaved_(cat.entries.size(), nullptr), copied_(cat.entries.size(), nullptr) {}

MappedWeights::~MappedWeights() = default;

namespace {

// Matrices whose every reader is matmul over the whole tensor or whole experts. MLA's k_b/v_b (and the
// attn_kv_b they may be cut from) are read per head, in row slices that need not be whole 16-row groups.
bool matmul_only(const CatalogueEntry& e) {
  switch (e.cls) {
    case TensorClass::Attention:
    case TensorClass::DenseFfn:
    case TensorClass::RoutedExperts:
    case TensorClass::SharedExpert:
    case TensorClass::Output:
      break;
    default:
      return false;
  }
  return e.role.rfind("attn_kv_b.", 0) != 0 && e.role.rfind("attn_k_b.", 0) != 0 && e.role.rfind("attn_v_b.", 0) != 0;
}

// The mapping's pages of a tensor that now lives in a copy are not read again: reclaim them first (whole
// pages inside the tensor). MADV_COLD only ages the pages, so it is safe whatever backs the mapping.
void release_mapped(const CatalogueEntry& e) {
#ifdef MADV_COLD
  const long page = sysconf(_SC_PAGESIZE);
  const auto a = (reinterpret_cast<uintptr_t>(e.data) + page - 1) / page * page;
  const auto b = (reinterpret_cast<uintptr_t>(e.data) + e.nbytes) / page * page;
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_COLD);
#else
  (void)e;
#endif
}

}  // namespace

InterleaveStats MappedWeights::interleave(const std::function<bool(const TypeTraits&)>& has_kernel, ThreadPool* pool) {
  const auto t0 = std::chrono::steady_clock::now();
  InterleaveStats st;
  for (size_t i = 0; i < cat_.entries.size(); ++i) {
    const CatalogueEntry& e = cat_.entries[i];
    if (interleaved_[i] || copied_[i] || !e.data || !e.traits || e.n_dims < 2) continue;
    // The router is a matrix every token streams whole, like the projections; it is only never
    // interleaved (F32, and its logits feed the routing, so it keeps the reference kernel's sums).
    const bool streamed = matmul_only(e) || e.cls == TensorClass::Router;
    if (!streamed) continue;
    const bool inter = matmul_only(e) && interleavable(*e.traits) && e.ne[1] % kInterleaveRows == 0 &&
                       has_kernel(*e.traits);
    // On huge pages: the copy is streamed every token, and each of the mapping's 4 KiB pages would cost a
    // TLB miss. Optional: what cannot be copied stays computed in place.
    HugeBuffer copy;
    try {
      copy = HugeBuffer(e.nbytes);
    } catch (const Error&) {
      break;
    }
    uint8_t* p = copy.data();
    owned_.push_back(std::move(copy));
    if (!inter) {
      auto part = [&](int64_t b0, int64_t b1, int) { std::memcpy(p + b0, e.data + b0, b1 - b0); };
      if (pool) pool->parallel_for(static_cast<int64_t>(e.nbytes), 1 << 20, part);
      else part(0, static_cast<int64_t>(e.nbytes), 0);
      copied_[i] = p;
      release_mapped(e);
      ++st.copied_tensors;
      st.copied_bytes += e.nbytes;
      continue;
    }
    const int64_t rows = e.ne[1] * e.ne[2] * e.ne[3];
    const uint64_t group_bytes = row_bytes(*e.traits, e.ne[0]) * kInterleaveRows;
    auto part = [&](int64_t g0, int64_t g1, int) {
      interleave_rows(*e.traits, e.data + g0 * group_bytes, p + g0 * group_bytes, (g1 - g0) * kInterleaveRows, e.ne[0]);
    };
    if (pool) pool->parallel_for(rows / kInterleaveRows, 16, part);
    else part(0, rows / kInterleaveRows, 0);
    interleaved_[i] = p;
    release_mapped(e);
    ++st.tensors;
    st.bytes += e.nbytes;
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

TensorRef MappedWeights::lookup(int layer, std::string_view role) const {
  const CatalogueEntry* e = layer < 0 ? cat_.find(role) : cat_.find(layer, role);
  if (!e) return {};
  return TensorRef{static_cast<int32_t>(e - cat_.entries.data())};
}

const CatalogueEntry& MappedWeights::entry(TensorRef ref) const { return cat_.entries.at(ref.id); }

WeightView MappedWeights::view(TensorRef ref) const {
  const CatalogueEntry& e = cat_.entries[ref.id];
  const uint8_t* inter = interleaved_[ref.id];
  const uint8_t* data = inter ? inter : copied_[ref.id] ? copied_[ref.id] : e.data;
  return WeightView{e.traits, e.ne, data, e.nbytes, e.name, inter != nullptr};
}

WeightView MappedWeights::expert(TensorRef ref, int x) const {
  const CatalogueEntry& e = cat_.entries[ref.id];
  if (x < 0 || x >= e.ne[2]) throw Error("expert " + std::to_string(x) + " out of range for '" + e.name + "'");
  const uint64_t bytes = row_bytes(*e.traits, e.ne[0]) * static_cast<uint64_t>(e.ne[1]);
  const uint8_t* inter = interleaved_[ref.id];
  const uint8_t* data = inter ? inter : copied_[ref.id] ? copied_[ref.id] : e.data;
  return WeightView{e.traits, {e.ne[0], e.ne[1], 1, 1}, data + bytes * x, bytes, e.name, inter != nullptr};
}

}  // namespace strata
