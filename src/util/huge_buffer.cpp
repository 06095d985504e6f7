#include "util/huge_buffer.h"

#include <sys/mman.h>

#include <string>
#include <utility>

#include "util/error.h"

namespace strata {

HugeBuffer::HugeBuffer(size_t bytes) {
  if (bytes == 0) return;
  size_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  // Over-map by one huge page and start at the first 2 MiB boundary: mmap only promises 4 KiB alignment.
  mapped_ = size_ + kHugePage;
  void* m = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    throw Error("cannot map " + std::to_string(bytes >> 20) + " MiB of memory (" + std::to_string(bytes) + " bytes)");
  base_ = static_cast<uint8_t*>(m);
  data_ = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(base_) + kHugePage - 1) & ~(kHugePage - 1));
  madvise(data_, size_, MADV_HUGEPAGE);  // advisory
}

HugeBuffer::~HugeBuffer() { release(); }

HugeBuffer::HugeBuffer(HugeBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), base_(std::exchange(o.base_, nullptr)),
      size_(std::exchange(o.size_, 0)), mapped_(std::exchange(o.mapped_, 0)) {}

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, 0);
  }
  return *this;
}

void HugeBuffer::release() {
  if (base_) munmap(base_, mapped_);
  base_ = data_ = nullptr;
  size_ = mapped_ = 0;
}

}  // namespace strata
