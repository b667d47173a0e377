#include "incarnation.hpp"

#include <cstdio>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "grove/crdt/codec.hpp"
#include "grove/crdt/registers.hpp"

namespace grove::actors::detail {

namespace {

constexpr std::size_t random_digits = 16;

}  // namespace

std::string new_incarnation(const std::string& replica_id) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[random_digits + 1];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return replica_id + "@" + buf;
}

storage::group_key marker_key(const storage::group_key& group) {
  auto encoded = group.encode();
  auto hash = XXH3_128bits(encoded.data(), encoded.size());
  char name[33];
  std::snprintf(name, sizeof name, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return storage::group_key{"grove.incarnation", name};
}

bytes encode_marker(const std::string& incarnation, const storage::group_key& group) {
  crdt::lww_register<std::string> marker(incarnation);
  marker.set(incarnation + group.encode());
  return crdt::encode(marker);
}

std::optional<std::string> incarnation_in_marker(bytes_view stored, const storage::group_key& group,
                                                 const std::string& replica_id) {
  auto marker = crdt::decode<crdt::lww_register<std::string>>(stored);
  if (!marker || !marker->value()) return std::nullopt;
  const auto& text = *marker->value();
  auto length = replica_id.size() + 1 + random_digits;
  if (text.size() < length || text.compare(0, replica_id.size() + 1, replica_id + "@") != 0) return std::nullopt;
  if (text.compare(length, std::string::npos, group.encode()) != 0) return std::nullopt;
  return text.substr(0, length);
}

}  // namespace grove::actors::detail
