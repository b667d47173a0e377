// Benchmark sizes. Every count or size a benchmark promises goes through scaled(), so the suite
// can run each benchmark at a tiny size and check that it runs and its output parses
// (GROVE_BENCH_SCALE=0.001; bench/CMakeLists.txt), and bench/peer can give the Erlang side the
// same sizes. Figures are only meaningful at scale 1 (the default).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>

namespace grove::bench {

/// $GROVE_BENCH_SCALE: a number in (0, 1]; 1 when unset. Anything else ends the program with a
/// message (read once, before the benchmarks are registered).
inline double bench_scale() {
  static const double scale = [] {
    const char* text = std::getenv("GROVE_BENCH_SCALE");
    if (text == nullptr || *text == '\0') return 1.0;
    char* end = nullptr;
    double x = std::strtod(text, &end);
    if (*end != '\0' || !(x > 0 && x <= 1)) {
      std::cerr << "GROVE_BENCH_SCALE must be a number in (0, 1]\n";
      std::exit(2);
    }
    return x;
  }();
  return scale;
}

/// `n` times the scale, at least 1.
inline std::int64_t scaled(std::int64_t n) {
  return std::max<std::int64_t>(1, std::llround(static_cast<double>(n) * bench_scale()));
}

}  // namespace grove::bench
