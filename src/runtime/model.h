// A loaded model: the GGUF mapping, its tensor catalogue, weight access and the architecture's forward
// pass. Everything that can be wrong with a file is reported here, before a session exists.
#pragma once

#include <memory>
#include <string>

#include "gguf/reader.h"
#include "model/arch/arch.h"
#include "model/arch/weights.h"
#include "cpu/kernels.h"
#include "model/catalogue.h"

namespace strata {

class Model {
 public:
  // Throws FormatError (bad/missing key or tensor, wrong shape) or UnsupportedError (architecture, type).
  static std::unique_ptr<Model> load(const std::string& path);

  const GgufModel& gguf() const { return gguf_; }
  const ModelCatalogue& catalogue() const { return cat_; }
  const HParams& hparams() const { return arch_->hparams(); }
  const Weights& weights() const { return *weights_; }
  ArchModel& arch() { return *arch_; }
  std::string name() const;

  // Load-time repacking: the matrices `kernels` has an interleaved kernel for (TypeKernels::mat_tile_i16)
  // are copied into DRAM interleaved (MappedWeights::interleave). For weights that live in DRAM; a model
  // larger than the memory it may use is left as mapped (see the front ends' --no-repack).
  InterleaveStats interleave_weights(const cpu::KernelTable& kernels, ThreadPool* pool = nullptr);
  // The front ends' policy: interleave when `enabled` and the model's tensors fit in 80% of the memory
  // available now (a model that does not fit is read from the file and a copy would only evict it).
  // Returns a one-line note saying what was done and why.
  std::string repack(const cpu::KernelTable& kernels, ThreadPool& pool, bool enabled);

 private:
  Model() = default;
  GgufModel gguf_;
  ModelCatalogue cat_;
  std::unique_ptr<MappedWeights> weights_;
  std::unique_ptr<ArchModel> arch_;
};

}  // namespace strata
