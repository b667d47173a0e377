// libFuzzer target: group keys from a store file or a peer, and group names typed by a person.
#include <cstddef>
#include <cstdint>

#include "grove/storage/group_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  grove::bytes_view input(reinterpret_cast<const char*>(data), size);
  if (auto g = grove::storage::group_key::decode(input)) {
    if (g->encode() != input) __builtin_trap();  // the encoding is canonical
    (void)g->to_string();
  }
  if (auto g = grove::storage::group_key::parse(input)) (void)g->encode();
  return 0;
}
