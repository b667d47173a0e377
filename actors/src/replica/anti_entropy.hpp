// Anti-entropy of a replica: digest rounds after a change, and what a peer's digest says is
// missing on either side. Part of the replica's protocol core. CAF-free.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "delta_stream.hpp"
#include "effects.hpp"

namespace grove::actors::replica {

/// A digest sent by a replica that changed since its last round carries no checksum.
constexpr std::uint64_t no_checksum = 0;

class anti_entropy {
public:
  explicit anti_entropy(timestamp interval) : interval_(interval) {}

  /// Arms the digest timer unless it is armed or there is no peer. Rounds fall on multiples of the
  /// interval of the clock, so the replicas of a node that have rounds to run run them at the same
  /// moment and membership sends their digests to each other node as one message.
  void arm(bool has_peers, const input_time& now, effects& out);
  /// The timer fired.
  void fired() { armed_ = false; }

  /// Something changed: rounds go on until quiet_digest_rounds pass without change.
  void changed() { changed_since_round_ = true; }
  /// A mismatch was found: keep checking until it is repaired.
  void mismatch() { quiet_rounds_ = 0; }

  /// Whether this round's digest carries the checksum: only in a round after one without change,
  /// when it can decide something (while changes flow, the merged counts find what is missing, and
  /// a big state is not encoded for every round).
  bool round_carries_checksum() const { return !changed_since_round_; }
  /// A round was sent; true when another must follow: until quiet_digest_rounds passed without
  /// change and every peer confirmed it holds the same (`peers_in_sync`).
  bool round_done(bool peers_in_sync);
  /// Whether a round is armed (a replica that runs rounds need not answer digests).
  bool armed() const { return armed_; }

  /// What a peer's digest says.
  struct verdict {
    std::optional<std::uint64_t> resend_from;  // the peer lacks this replica's deltas from here on
    std::optional<std::uint64_t> ask_from;     // this replica lacks the peer's deltas from here on
    bool exchange_states = false;              // same deltas, different states
    bool in_sync = false;                      // same deltas and the same checksum
    bool mismatch() const { return resend_from || ask_from || exchange_states; }
  };

  /// Compares a peer's digest with this replica: `self` and `own_seq` are this replica's
  /// incarnation and delta number, `members` the origins of its current members, `change_pending`
  /// whether a change of its own is on its way (then checksums cannot be compared), `checksum`
  /// this replica's state checksum (computed only if needed).
  static verdict compare(const digest_message& d, const std::string& self, std::uint64_t own_seq,
                         const delta_stream& stream, const std::vector<std::string>& members, bool change_pending,
                         const std::function<std::uint64_t()>& checksum);

private:
  timestamp interval_;
  bool armed_ = false;
  bool changed_since_round_ = false;
  int quiet_rounds_ = 0;
};

}  // namespace grove::actors::replica
