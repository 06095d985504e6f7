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
  // Every block of every architecture holds tensors: a larger count is a corrupt key, and the builders
  // and the KV cache would otherwise size per-block arrays by it.
  if (m->cat_.hp.n_layer > m->gguf_.tensors().size())
    throw FormatError(path, 0, arch + ".block_count",
                      std::to_string(m->cat_.hp.n_layer) + " blocks, but the file holds only " +
                          std::to_string(m->gguf_.tensors().size()) + " tensors");
  // The kernels read F32 norms and F16 block scales in place: a file whose general.alignment lets data
  // start at an odd address is valid GGUF but cannot be computed on as mapped.
  for (const GgufTensorInfo& t : m->gguf_.tensors())
    if (t.file_offset % 4 != 0)
      throw FormatError(path, t.file_offset, t.name,
                        "tensor data at file offset " + std::to_string(t.file_offset) +
                            " is not 4-byte aligned (general.alignment is below 4)");
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
  auto size = [](uint64_t b) {
    char s[32];
    std::snprintf(s, sizeof s, b >= 1000000000 ? "%.2f GB" : "%.2f MB", b / (b >= 1000000000 ? 1e9 : 1e6));
    return std::string(s);
  };
  std::string out = st.tensors == 0
                        ? "repack: nothing to interleave (no matrix type with an interleaved kernel at this level)"
                        : "repack: " + std::to_string(st.tensors) + " tensors (" + size(st.bytes) + ") interleaved";
  if (st.copied_tensors > 0)
    out += (st.tensors == 0 ? "; " : ", ") + std::to_string(st.copied_tensors) + " (" + size(st.copied_bytes) +
           ") copied as they are";
  std::snprintf(buf, sizeof buf, " to DRAM huge pages in %.2f s", st.seconds);
  return out + (st.tensors + st.copied_tensors > 0 ? buf : "");
}

std::string Model::name() const { return gguf_.get_string_or("general.name", gguf_.path()); }

}  // namespace strata
