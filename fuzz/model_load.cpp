// libFuzzer target for everything after the GGUF container: hyper-parameters, the architectures' checks
// of tensor shapes and types, the KV cache, a prompt batch and a decoded token. The container fuzzer
// (gguf_reader.cpp) mostly produces files that fail to parse; here the input is a list of edits to the
// numeric metadata values and tensor descriptions of a valid generated model (tiny-llama, tiny-mixtral,
// tiny-qwen3moe, tiny-deepseek2), so most inputs parse and reach the model code. Loading, a three-token
// prompt and one decoded token must either work or throw strata::Error: never crash, hang or allocate
// without bound.
//
// Input: byte 0 picks the model; then records of 7 bytes: field index (u16), how to edit (u8), value
// (u32). Fields are every scalar integer/float metadata value and every tensor's dimensions, type and
// data offset, in file order.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ops/thread_pool.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "synth/synth.h"
#include "util/error.h"

namespace {

struct Field {
  size_t offset;
  int width;   // bytes
  bool is_float;
};

struct Base {
  std::vector<uint8_t> bytes;
  std::vector<Field> fields;
};

std::vector<Base>* g_bases = nullptr;

// Walks a GGUF v3 header (a file this process just wrote, so the layout is trusted) and records where
// every editable number sits.
class HeaderWalk {
 public:
  explicit HeaderWalk(const std::vector<uint8_t>& b) : b_(b) {}

  std::vector<Field> fields() {
    std::vector<Field> out;
    p_ = 8;  // magic, version
    const uint64_t n_tensors = u64(), n_kv = u64();
    for (uint64_t i = 0; i < n_kv; ++i) {
      skip_string();
      const uint32_t type = u32();
      value(type, &out);
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      skip_string();
      const uint32_t n_dims = u32();
      for (uint32_t d = 0; d < n_dims; ++d) {
        out.push_back({p_, 8, false});
        p_ += 8;
      }
      out.push_back({p_, 4, false});  // type
      p_ += 4;
      out.push_back({p_, 8, false});  // data offset
      p_ += 8;
    }
    return out;
  }

 private:
  uint32_t u32() {
    uint32_t v;
    std::memcpy(&v, b_.data() + p_, 4);
    p_ += 4;
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    std::memcpy(&v, b_.data() + p_, 8);
    p_ += 8;
    return v;
  }
  void skip_string() { p_ += u64(); }
  void value(uint32_t type, std::vector<Field>* out) {
    static const int kWidth[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      skip_string();
    } else if (type == 9) {
      const uint32_t et = u32();
      const uint64_t n = u64();
      for (uint64_t i = 0; i < n; ++i) value(et, nullptr);  // array elements are not edited
    } else if (type < 13) {
      if (out && type != 7) out->push_back({p_, kWidth[type], type == 6 || type == 12});
      p_ += kWidth[type];
    }
  }
  const std::vector<uint8_t>& b_;
  size_t p_ = 0;
};

void set_int(uint8_t* p, int width, uint64_t v) {
  for (int i = 0; i < width; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_int(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

void edit(uint8_t* p, const Field& f, uint8_t how, uint32_t value) {
  if (f.is_float) {
    static const double kSpecial[] = {NAN, INFINITY, -INFINITY, 0.0, -1.0, 1e-30, 1e30, 0.5};
    const double v = how % 2 ? kSpecial[value % 8] : static_cast<double>(static_cast<int32_t>(value)) / 16.0;
    if (f.width == 4) {
      const float x = static_cast<float>(v);
      std::memcpy(p, &x, 4);
    } else {
      std::memcpy(p, &v, 8);
    }
    return;
  }
  const uint64_t old = get_int(p, f.width);
  uint64_t v = 0;
  switch (how % 5) {
    case 0: v = value % 8; break;                         // small counts, including 0
    case 1: v = value; break;                             // anything
    case 2: v = old + static_cast<int64_t>(value % 5) - 2; break;  // off by one or two
    case 3: v = uint64_t{1} << (value % 63); break;       // powers of two, up to huge
    case 4: v = old * (value % 4 + 2); break;             // a multiple
  }
  set_int(p, f.width, v);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  g_bases = new std::vector<Base>;
  const fs::path dir = fs::temp_directory_path() / ("strata-fuzz-model-" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (const char* preset : {"tiny-llama", "tiny-mixtral", "tiny-qwen3moe", "tiny-deepseek2"}) {
    strata::synth::SynthOptions o;
    o.preset = preset;
    const std::string path = (dir / (std::string(preset) + ".gguf")).string();
    strata::synth::synthesize(o, path);
    std::ifstream f(path, std::ios::binary);
    Base b;
    b.bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    b.fields = HeaderWalk(b.bytes).fields();
    g_bases->push_back(std::move(b));
  }
  fs::remove_all(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Base& base = (*g_bases)[data[0] % g_bases->size()];
  std::vector<uint8_t> bytes = base.bytes;
  for (size_t i = 1; i + 7 <= size; i += 7) {
    const uint16_t idx = static_cast<uint16_t>(data[i] | data[i + 1] << 8);
    uint32_t value;
    std::memcpy(&value, data + i + 3, 4);
    const Field& f = base.fields[idx % base.fields.size()];
    edit(bytes.data() + f.offset, f, data[i + 2], value);
  }
  const int fd = memfd_create("model-fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto model = strata::Model::load(path);
    strata::ThreadPool pool(1);
    strata::SessionOptions so;
    so.n_ctx = 8;
    so.memory_budget = 256ull << 20;
    so.act_mode = strata::ActivationMode::Quantized;  // what users run, and far cheaper than the reference
    strata::Session session(*model, pool, so);
    const int32_t tokens[] = {1, 2, 3, 4};
    session.eval(std::span<const int32_t>(tokens, 3));      // a prompt batch (matrix-matrix, tiled attention)
    session.eval(std::span<const int32_t>(tokens + 3, 1));  // a decoded token
  } catch (const strata::Error&) {
  }
  close(fd);
  return 0;
}
