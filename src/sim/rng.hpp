// Rng: the simulator's own pseudo-random generator (xoshiro256** seeded through splitmix64).
// The standard library's distributions differ between libstdc++ versions, so every draw here is
// plain integer or IEEE arithmetic: the same seed gives the same capture on every build.
#pragma once

#include <cstdint>
#include <cstring>

namespace picket::sim {

// One splitmix64 step: a strong 64-bit mixer, also used to derive parameters from an index
// without keeping state ("the i-th spoofed SYN").
constexpr uint64_t splitmix64(uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr uint64_t mix(uint64_t a, uint64_t b) noexcept { return splitmix64(a ^ splitmix64(b)); }

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) noexcept { reseed(seed); }

  void reseed(uint64_t seed) noexcept {
    uint64_t x = seed;
    for (auto& w : s_) {
      x += 0x9E3779B97F4A7C15ULL;
      w = splitmix64(x);
    }
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  uint32_t u32() noexcept { return static_cast<uint32_t>(next() >> 32); }
  uint16_t u16() noexcept { return static_cast<uint16_t>(next() >> 48); }

  // Uniform in [0, n); n == 0 gives 0. Multiply-shift (Lemire) without the rejection step: the
  // bias is below 2^-32 for the small ranges used here.
  uint64_t below(uint64_t n) noexcept {
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>((static_cast<U128>(next()) * n) >> 64);
  }
  // Uniform integer in [lo, hi] (inclusive).
  int64_t range(int64_t lo, int64_t hi) noexcept {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1) with 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) noexcept { return uniform() < p; }
  // Exponentially distributed with the given mean.
  double exponential(double mean) noexcept;

 private:
  static constexpr uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
};

// Natural logarithm from basic IEEE operations only (no libm), so results cannot differ between
// C libraries. Accurate to ~1e-9 relative, plenty for timing jitter. x must be > 0.
inline double det_log(double x) noexcept {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int exponent = static_cast<int>((bits >> 52) & 0x7FF) - 1022;  // x = m * 2^exponent, m in [0.5, 1)
  bits = (bits & 0x000FFFFFFFFFFFFFULL) | 0x3FE0000000000000ULL;
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (m < 0.70710678118654752) {  // keep m near 1 for the series: m in [0.707, 1.414)
    m *= 2.0;
    exponent -= 1;
  }
  const double z = (m - 1.0) / (m + 1.0);  // |z| < 0.172
  const double z2 = z * z;
  const double series =
      z * (2.0 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11 + z2 * (2.0 / 13)))))));
  return series + exponent * 0.69314718055994531;
}

inline double Rng::exponential(double mean) noexcept {
  const double u = 1.0 - uniform();  // (0, 1]
  return -det_log(u) * mean;
}

}  // namespace picket::sim
