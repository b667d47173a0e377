// A throwaway PKI made by tools/make_throwaway_pki.sh (see there for the files) in a fresh
// directory that goes away with the object.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "support/temp_dir.hpp"

namespace grove::testing {

class test_pki {
public:
  test_pki() {
    auto command = std::string("sh ") + GROVE_PKI_SCRIPT + " " + dir_.path();
    if (std::system(command.c_str()) != 0) throw std::runtime_error("cannot make the test PKI: " + command);
  }

  /// A file of the PKI, e.g. "node1.pem".
  std::string file(const std::string& name) const { return dir_.file(name); }

private:
  temp_dir dir_;
};

}  // namespace grove::testing
