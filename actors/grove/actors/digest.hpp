// The anti-entropy digest of a replica (see replica.hpp, "Convergence"): what membership actors
// relay between nodes (membership.hpp) and replicas compare.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace grove::actors {

/// How far a replica has merged the deltas of one origin (a replica_id@incarnation).
struct merged_through {
  std::string origin;
  std::uint64_t seq = 0;
};

/// A replica's anti-entropy summary: the deltas it has merged from itself and each current member
/// (without gaps), and the digest of its encoded state (the codec's checksum: equal states, equal
/// digests), or 0 when the replica changed since its previous round (encoding a big state for
/// every round while changes flow would cost what the change does not).
struct digest_message {
  std::string group;
  std::string from;
  std::uint64_t digest = 0;
  std::vector<merged_through> merged;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, merged_through& x) {
  return f(caf::meta::type_name("grove.merged_through"), x.origin, x.seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, digest_message& x) {
  return f(caf::meta::type_name("grove.digest"), x.group, x.from, x.digest, x.merged);
}

}  // namespace grove::actors
