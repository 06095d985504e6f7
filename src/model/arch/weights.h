// The weight-access interface: model code asks for (tensor, expert) and gets a WeightView; it never
// learns where the bytes live. Today MappedWeights hands out pointers into the GGUF mapping; memory
// tiers, an expert cache or a GPU mirror implement the same interface later.
//
// Tensors are resolved once at load (require/optional validate name, shape and type, so a bad file fails
// before the first token with a message naming the tensor); the forward pass then uses cheap handles.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/catalogue.h"
#include "ops/tensor.h"
#include "ops/thread_pool.h"
#include "util/huge_buffer.h"

namespace strata {

struct TensorRef {
  int32_t id = -1;
  bool valid() const { return id >= 0; }
};

// Expected extent of one dimension; kAny accepts anything (validated elsewhere or irrelevant).
inline constexpr int64_t kAny = -1;

class Weights {
 public:
  virtual ~Weights() = default;

  // The whole tensor (for routed-expert tensors: all experts, 3-D).
  virtual WeightView view(TensorRef ref) const = 0;
  // Expert e of a 3-D routed-expert tensor, as a 2-D matrix; only its byte range is touched.
  virtual WeightView expert(TensorRef ref, int e) const = 0;

  virtual const ModelCatalogue& catalogue() const = 0;
  virtual const std::string& source() const = 0;  // file name for error messages

  // Resolves "blk.<layer>.<role>" (layer < 0: a global tensor named role). Throws FormatError when it is
  // missing, its shape differs from `ne` (trailing dims beyond ne.size() must be 1), or
  // UnsupportedError when its type cannot be computed. f32_only: vectors the ops read as float.
  TensorRef require(int layer, std::string_view role, std::vector<int64_t> ne, bool f32_only = false) const;
  // As require, but an absent tensor gives an invalid ref (a present one is still validated).
  TensorRef optional(int layer, std::string_view role, std::vector<int64_t> ne, bool f32_only = false) const;

  const float* f32(TensorRef ref) const { return reinterpret_cast<const float*>(view(ref).data); }

 protected:
  virtual TensorRef lookup(int layer, std::string_view role) const = 0;
  virtual const CatalogueEntry& entry(TensorRef ref) const = 0;
};

// What MappedWeights::interleave did.
struct InterleaveStats {
  int tensors = 0;  // interleaved
  uint64_t bytes = 0;
  int copied_tensors = 0;  // copied as they are (no interleaved layout or kernel for them)
  uint64_t copied_bytes = 0;
  double seconds = 0;
};

// Weights that are all mapped in memory (the GGUF mmap). Holds a reference to the catalogue, which
// must outlive it.
class MappedWeights final : public Weights {
 public:
  MappedWeights(const ModelCatalogue& cat, std::string source);
  ~MappedWeights() override;

  // Copies every matrix that only matmul reads (attention, FFN, expert and output projections; not the
  // embedding, router or MLA's per-head k_b/v_b slices), whose rows come in whole groups of 16 and whose
  // type `has_kernel` accepts, into DRAM in the row-interleaved layout (quant/interleave.h). Views of those
  // tensors then point at the copy with interleaved = true. The other matrices matmul streams whole (the
  // router; projections of a type or shape without an interleaved kernel) are copied as they are, so that
  // they too are read from huge pages. Call before the first forward pass; the mapping's pages of the
  // copied tensors are released to the page cache.
  // `pool` (optional) splits each tensor's groups over its threads.
  InterleaveStats interleave(const std::function<bool(const TypeTraits&)>& has_kernel, ThreadPool* pool = nullptr);

  WeightView view(TensorRef ref) const override;
  WeightView expert(TensorRef ref, int e) const override;
  const ModelCatalogue& catalogue() const override { return cat_; }
  const std::string& source() const override { return source_; }

 protected:
  TensorRef lookup(int layer, std::string_view role) const override;
  const CatalogueEntry& entry(TensorRef ref) const override;

 private:
  const ModelCatalogue& cat_;
  std::string source_;
  std::vector<const uint8_t*> interleaved_;  // per catalogue entry: the interleaved copy, or nullptr
  std::vector<const uint8_t*> copied_;  // per catalogue entry: a plain copy on huge pages, or nullptr
  std::vector<HugeBuffer> owned_;  // the copies
};

}  // namespace strata
