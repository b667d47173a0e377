// libFuzzer target: decoding any bytes as every CRDT type must give a value or a clear error,
// never a crash, a leak or undefined behaviour. The first byte picks the type and whether the rest
// is a whole encoding (envelope checks) or a payload sealed in a valid envelope (so the fuzzer
// reaches the payload parser past the checksum).
#include <cstddef>
#include <cstdint>

#include "grove/crdt/all.hpp"

namespace {

using namespace grove::crdt;

template <class T>
void try_decode(grove::bytes_view input, bool seal) {
  if (!seal) {
    auto x = decode<T>(input);
    if (x) (void)encode(*x);  // a decoded value must encode again
    return;
  }
  grove::bytes sealed;
  auto at = detail::begin_envelope(sealed, T::type_name());
  {
    byte_writer w(sealed);
    w.raw(input);
  }
  detail::finish_envelope(sealed, at, codec_options{false});
  auto x = decode<T>(sealed);
  if (x) {
    auto again = decode<T>(encode(*x));  // canonical: a decoded value round-trips
    if (!again || !(*again == *x)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  grove::bytes_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool seal = data[0] & 0x80;
  switch (data[0] % 15) {
    case 0: try_decode<gcounter>(input, seal); break;
    case 1: try_decode<pncounter>(input, seal); break;
    case 2: try_decode<lww_register<std::string>>(input, seal); break;
    case 3: try_decode<mv_register<std::string>>(input, seal); break;
    case 4: try_decode<gset<std::string>>(input, seal); break;
    case 5: try_decode<twop_set<std::string>>(input, seal); break;
    case 6: try_decode<orset<std::string>>(input, seal); break;
    case 7: try_decode<dvv_set<std::string>>(input, seal); break;
    case 8: try_decode<ormap<std::string, lww_register<std::string>>>(input, seal); break;
    case 9: try_decode<ormap<std::string, pncounter>>(input, seal); break;
    case 10: try_decode<rga<std::string>>(input, seal); break;
    case 11: try_decode<vector_clock>(input, seal); break;
    case 12: try_decode<dotted_version_vector>(input, seal); break;
    case 13: try_decode<hybrid_logical_clock>(input, seal); break;
    default: (void)read_envelope(input); break;
  }
  return 0;
}
