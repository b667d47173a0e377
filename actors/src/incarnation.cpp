#include "incarnation.hpp"

#include <cstdio>

#include <sys/random.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "grove/crdt/codec.hpp"
#include "grove/crdt/gset.hpp"

namespace grove::actors::detail {

namespace {

std::uint64_t os_random() {
  std::uint64_t x = 0;
  auto* p = reinterpret_cast<unsigned char*>(&x);
  for (std::size_t done = 0; done < sizeof x;) {
    auto n = ::getrandom(p + done, sizeof x - done, 0);
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  return x;
}

storage::group_key record_key(const char* kind, const storage::group_key& group) {
  auto encoded = group.encode();
  auto hash = XXH3_128bits(encoded.data(), encoded.size());
  char name[33];
  std::snprintf(name, sizeof name, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return storage::group_key{kind, name};
}

}  // namespace

std::string new_incarnation(const std::string& replica_id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(os_random()));
  return replica_id + "@" + buf;
}

storage::group_key replicas_key(const storage::group_key& group) { return record_key("grove.replicas", group); }

storage::group_key legacy_marker_key(const storage::group_key& group) { return record_key("grove.incarnation", group); }

bytes encode_replicas(const std::set<std::string>& ids) {
  crdt::gset<std::string> set;
  for (const auto& id : ids) set.add(id);
  return crdt::encode(set);
}

expected<std::set<std::string>> decode_replicas(bytes_view stored) {
  auto set = crdt::decode<crdt::gset<std::string>>(stored);
  if (!set) return set.error();
  return set->value();
}

}  // namespace grove::actors::detail
