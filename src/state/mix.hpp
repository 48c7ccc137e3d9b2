// mix64: a strong 64-bit finaliser (splitmix64's), for hash tables and hashed bitmaps.
#pragma once

#include <cstdint>

namespace picket::state {

inline uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

}  // namespace picket::state
