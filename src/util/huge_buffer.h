// Anonymous memory for data that is streamed end to end every token (the repacked weights, the KV
// cache): mapped in whole 2 MiB units and advised onto transparent huge pages, so streaming it takes a
// TLB miss per 2 MiB instead of per 4 KiB. The advice is ignored where THP is off; pages are committed
// on first write, as with any anonymous mapping.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata {

class HugeBuffer {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugeBuffer() = default;
  // Throws Error naming the size if the mapping fails.
  explicit HugeBuffer(size_t bytes);
  ~HugeBuffer();
  HugeBuffer(HugeBuffer&& o) noexcept;
  HugeBuffer& operator=(HugeBuffer&& o) noexcept;
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }  // the request rounded up to whole huge pages

 private:
  void release();
  uint8_t* data_ = nullptr;  // the mapping's start, 2 MiB-aligned
  uint8_t* base_ = nullptr;  // what to unmap
  size_t size_ = 0, mapped_ = 0;
};

}  // namespace strata
