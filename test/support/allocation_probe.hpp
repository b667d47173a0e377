// Measures the largest single allocation made while a probe is alive (global operator new is
// replaced in allocation_probe.cpp), so a test can show that hostile lengths are never allocated.
#pragma once

#include <cstddef>

namespace grove::testing {

class allocation_probe {
public:
  allocation_probe();
  ~allocation_probe();
  allocation_probe(const allocation_probe&) = delete;
  allocation_probe& operator=(const allocation_probe&) = delete;

  /// Largest single operator-new request since construction, in bytes.
  std::size_t largest() const;
};

}  // namespace grove::testing
