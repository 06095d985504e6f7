#include "runtime/model.h"

#include <cstdio>

#include "model/hparams.h"
#include "runtime/session.h"
#include "util/error.h"

namespace strata {

std::unique_ptr<Model> Model::load(const std::string& path) {
  std::unique_ptr<Model> m(new Model());
  m->gguf_ = GgufModel::open(path);
  const std::string arch = m->gguf_.architecture();
  if (arch.empty()) throw FormatError(path, 0, "general.architecture", "required key is missing");
  // Refuse unknown architectures before reading their keys, so the message names the architecture
  // rather than whichever key the generic reader happened to miss first.
  bool known = false;
  std::string names;
  for (const auto& r : arch_registry()) {
    known = known || arch == r.name;
    names += names.empty() ? "" : ", ";
    names += r.name;
  }
  if (!known) throw UnsupportedError("architecture '" + arch + "' is not supported (supported: " + names + ")");
  m->cat_ = build_catalogue(m->gguf_);
  m->weights_ = std::make_unique<MappedWeights>(m->cat_, path);
  m->arch_ = create_arch_model(m->cat_.hp, *m->weights_);
  return m;
}

InterleaveStats Model::interleave_weights(const cpu::KernelTable& kernels, ThreadPool* pool) {
  return weights_->interleave(
      [&](const TypeTraits& t) {
        const auto i = static_cast<size_t>(t.type);
        return i < cpu::kTypeSlots && kernels.types[i].mat_tile_i16 != nullptr;
      },
      pool);
}

std::string Model::repack(const cpu::KernelTable& kernels, ThreadPool& pool, bool enabled) {
  if (!enabled) return "repack: off (weights computed in place from the mapping)";
  const uint64_t need = cat_.total_bytes(), avail = available_memory_bytes();
  char buf[200];
  if (avail == 0 || need > avail / 10 * 8) {
    std::snprintf(buf, sizeof buf,
                  "repack: skipped, the model (%.2f GB) does not fit in 80%% of the available memory (%.2f GB)",
                  need / 1e9, avail / 1e9);
    return buf;
  }
  const InterleaveStats st = interleave_weights(kernels, &pool);
  if (st.tensors == 0) return "repack: nothing to interleave (no matrix type with an interleaved kernel at this level)";
  const bool gb = st.bytes >= 1000000000;
  std::snprintf(buf, sizeof buf, "repack: %d tensors (%.2f %s) interleaved in DRAM in %.2f s", st.tensors,
                st.bytes / (gb ? 1e9 : 1e6), gb ? "GB" : "MB", st.seconds);
  return buf;
}

std::string Model::name() const { return gguf_.get_string_or("general.name", gguf_.path()); }

}  // namespace strata
