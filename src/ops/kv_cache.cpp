#include "ops/kv_cache.h"

#include <cctype>
#include <cstring>
#include <string>

#include "quant/legacy.h"
#include "util/error.h"
#include "util/fp16.h"

namespace strata {
namespace {

void check_type(TensorType t) {
  if (!is_kv_type(t))
    throw UnsupportedError("KV cache type " + type_name(static_cast<uint32_t>(t)) +
                           " is not supported (use f16, f32 or q8_0)");
}

void check_width(TensorType t, int64_t width, size_t layer, const char* what) {
  if (width < 0 || (t == TensorType::Q8_0 && width % 32 != 0))
    throw UnsupportedError(std::string("a Q8_0 KV cache needs rows of whole 32-value blocks; layer ") +
                           std::to_string(layer) + "'s " + what + " rows have " + std::to_string(width) +
                           " values (use f16)");
}

}  // namespace

bool is_kv_type(TensorType t) { return t == TensorType::F16 || t == TensorType::F32 || t == TensorType::Q8_0; }

TensorType parse_kv_type(const std::string& name, const char* what) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "f16") return TensorType::F16;
  if (n == "f32") return TensorType::F32;
  if (n == "q8_0") return TensorType::Q8_0;
  throw InputError(std::string(what) + " must be f16, f32 or q8_0, got '" + name + "'");
}

uint64_t KvCache::bytes_needed(TensorType type, int64_t n_ctx, const std::vector<KvLayerLayout>& layers) {
  check_type(type);
  uint64_t per_pos = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    check_width(type, layers[i].k_width, i, "K");
    check_width(type, layers[i].v_width, i, "V");
    if (type == TensorType::Q8_0 && layers[i].head_unit % 32 != 0)
      throw UnsupportedError("a Q8_0 KV cache needs attention heads of whole 32-value blocks; layer " +
                             std::to_string(i) + "'s heads are read in units of " +
                             std::to_string(layers[i].head_unit) + " values (use f16)");
    per_pos += KvSpan::kv_bytes(type, layers[i].k_width) + KvSpan::kv_bytes(type, layers[i].v_width);
  }
  return per_pos * static_cast<uint64_t>(n_ctx);
}

KvCache::KvCache(TensorType type, int64_t n_ctx, std::vector<KvLayerLayout> layers)
    : type_(type), n_ctx_(n_ctx), layers_(std::move(layers)) {
  bytes_ = bytes_needed(type, n_ctx, layers_);
  // Uninitialised on purpose: pages are committed as positions are written, so a large context that is
  // never filled costs little (about one huge page per layer's K and V region). Huge pages: decode at long
  // context streams the whole cache every token; measured 2-5% faster attention at depth 4096-16384.
  storage_ = HugeBuffer(bytes_);
  uint8_t* p = storage_.data();
  for (const auto& l : layers_) {
    k_.push_back(p);
    p += KvSpan::kv_bytes(type, l.k_width) * n_ctx;
    v_.push_back(p);
    p += KvSpan::kv_bytes(type, l.v_width) * n_ctx;
  }
}

void KvCache::store(uint8_t* base, int64_t width, int64_t pos0, const Mat& src, const char* what, int layer,
                    const cpu::KernelTable* kernels) {
  if (src.cols != width)
    throw Error(std::string("KV cache ") + what + " row of layer " + std::to_string(layer) + " has " +
                std::to_string(src.cols) + " values, layout says " + std::to_string(width));
  if (pos0 < 0 || pos0 + src.rows > n_ctx_)
    throw InputError("position " + std::to_string(pos0 + src.rows - 1) + " is beyond the context size " +
                     std::to_string(n_ctx_));
  cpu::QuantizeRowFn convert = nullptr;
  if (type_ == TensorType::F16)
    convert = kernels ? kernels->types[static_cast<size_t>(TensorType::F16)].quantize_activations : nullptr;
  else if (type_ == TensorType::Q8_0)
    convert = kernels && kernels->quantize_q8_0 ? kernels->quantize_q8_0 : quant::quantize_q8_0;
  const uint64_t rb = KvSpan::kv_bytes(type_, width);
  for (int64_t i = 0; i < src.rows; ++i) {
    uint8_t* dst = base + static_cast<uint64_t>(pos0 + i) * rb;
    const float* s = src.row(i);
    if (type_ == TensorType::F32) {
      std::memcpy(dst, s, width * sizeof(float));
    } else if (convert) {
      convert(s, dst, width);
    } else {
      uint16_t* d = reinterpret_cast<uint16_t*>(dst);
      for (int64_t j = 0; j < width; ++j) d[j] = fp32_to_fp16(s[j]);
    }
  }
}

void KvCache::store_k(int layer, int64_t pos0, const Mat& src, const cpu::KernelTable* kernels) {
  store(k_.at(layer), layers_[layer].k_width, pos0, src, "K", layer, kernels);
}

void KvCache::store_v(int layer, int64_t pos0, const Mat& src, const cpu::KernelTable* kernels) {
  store(v_.at(layer), layers_[layer].v_width, pos0, src, "V", layer, kernels);
}

void KvCache::load(const uint8_t* base, int64_t width, int64_t pos, float* dst) const {
  const uint8_t* src = base + static_cast<uint64_t>(pos) * KvSpan::kv_bytes(type_, width);
  if (type_ == TensorType::Q8_0) {
    quant::dequantize_q8_0(src, dst, width);
  } else if (type_ == TensorType::F32) {
    std::memcpy(dst, src, width * sizeof(float));
  } else {
    for (int64_t j = 0; j < width; ++j) dst[j] = fp16_to_fp32(reinterpret_cast<const uint16_t*>(src)[j]);
  }
}

void KvCache::load_k(int layer, int64_t pos, float* dst) const { load(k_.at(layer), layers_[layer].k_width, pos, dst); }

void KvCache::load_v(int layer, int64_t pos, float* dst) const { load(v_.at(layer), layers_[layer].v_width, pos, dst); }

KvSpan KvCache::k_span(int layer, int64_t offset, int64_t head_stride) const {
  return KvSpan{type_, k_.at(layer), KvSpan::kv_bytes(type_, layers_[layer].k_width), offset, head_stride};
}

KvSpan KvCache::v_span(int layer, int64_t offset, int64_t head_stride) const {
  return KvSpan{type_, v_.at(layer), KvSpan::kv_bytes(type_, layers_[layer].v_width), offset, head_stride};
}

}  // namespace strata
