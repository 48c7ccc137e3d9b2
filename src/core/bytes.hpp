// Bounds-checked big-endian reads from packet bytes. Callers check `fits` (or the length) first;
// the loaders themselves never read past the span they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace picket::core {

using Bytes = std::span<const uint8_t>;

constexpr bool fits(Bytes b, size_t offset, size_t len) noexcept {
  return offset <= b.size() && len <= b.size() - offset;
}
inline uint8_t load_u8(Bytes b, size_t off) noexcept { return fits(b, off, 1) ? b[off] : 0; }
inline uint16_t load_be16(Bytes b, size_t off) noexcept {
  if (!fits(b, off, 2)) return 0;
  return static_cast<uint16_t>((uint16_t{b[off]} << 8) | b[off + 1]);
}
inline uint32_t load_be32(Bytes b, size_t off) noexcept {
  if (!fits(b, off, 4)) return 0;
  return (uint32_t{b[off]} << 24) | (uint32_t{b[off + 1]} << 16) | (uint32_t{b[off + 2]} << 8) |
         uint32_t{b[off + 3]};
}
inline uint16_t load_le16(Bytes b, size_t off) noexcept {
  if (!fits(b, off, 2)) return 0;
  return static_cast<uint16_t>(b[off] | (uint16_t{b[off + 1]} << 8));
}
inline uint32_t load_le32(Bytes b, size_t off) noexcept {
  if (!fits(b, off, 4)) return 0;
  return uint32_t{b[off]} | (uint32_t{b[off + 1]} << 8) | (uint32_t{b[off + 2]} << 16) |
         (uint32_t{b[off + 3]} << 24);
}

}  // namespace picket::core
