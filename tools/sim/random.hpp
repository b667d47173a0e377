// The simulator's only source of randomness: xoshiro256** seeded through splitmix64, with range
// mapping written here (the standard library's distributions may draw differently between
// implementations, and a seed must replay the same run everywhere).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace grove::sim {

class random {
public:
  explicit random(std::uint64_t seed) {
    for (auto& s : state_) {
      seed += 0x9e3779b97f4a7c15ull;
      auto z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      s = z ^ (z >> 31);
    }
  }

  std::uint64_t next() {
    auto result = rotl(state_[1] * 5, 7) * 9;
    auto t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, n) (n > 0), without modulo bias.
  std::uint64_t below(std::uint64_t n) {
    auto limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    for (;;)
      if (auto x = next(); x < limit) return x % n;
  }
  /// Uniform in [low, high].
  std::uint64_t between(std::uint64_t low, std::uint64_t high) { return low + below(high - low + 1); }
  /// True with probability p.
  bool chance(double p) { return p > 0 && static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// `n` random bytes.
  std::string bytes(std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(next() & 0xff);
    return out;
  }
  /// 16 hex digits.
  std::string hex() {
    static const char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    auto x = next();
    for (int i = 15; i >= 0; --i, x >>= 4) out[static_cast<std::size_t>(i)] = digits[x & 15];
    return out;
  }

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

}  // namespace grove::sim
