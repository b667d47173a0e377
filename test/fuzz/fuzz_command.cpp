// libFuzzer target: grove-node's command parser on any line.
#include <cstddef>
#include <cstdint>

#include "node_commands.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)grove::tools::parse_command(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
