// Anti-entropy of a replica: digest rounds after a change, to whom each round goes, and what a
// peer's digest says is missing on either side. Part of the replica's protocol core. CAF-free.
//
// Rounds are gossip, not all-to-all: a round goes to the peers that have not acknowledged this
// replica's last delta (they may lack it, and no one else resends it) and to `digest_fanout` more,
// which rotate round by round; the rounds stop once quiet_digest_rounds passed without change and
// every peer acknowledged this replica's deltas. A replica is thus responsible for its own deltas
// reaching every peer; the gossip partners compare whole states, which catches the rest. Only when a
// member leaves, whose last deltas may have reached some replicas and not others (no one resends
// them), do the rounds go to every peer until each confirmed the same state (docs/protocol.md).
#pragma once

#include <cstddef>
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
  /// moment and membership sends their digests for a node to it as one message.
  void arm(bool has_peers, const input_time& now, effects& out);
  /// The timer fired.
  void fired() { armed_ = false; }

  /// Something changed: rounds go on until quiet_digest_rounds pass without change.
  void changed() { changed_since_round_ = true; }
  /// A mismatch was found: keep checking until it is repaired.
  void mismatch() { quiet_rounds_ = 0; }
  /// A member left: its last deltas may have reached only some replicas, so the rounds go to every
  /// peer until every peer confirmed it holds the same state (`all_confirmed`).
  void member_left() {
    check_all_ = true;
    quiet_rounds_ = 0;
  }
  bool checks_all() const { return check_all_; }
  void all_confirmed() { check_all_ = false; }

  /// Whether this round's digest carries the checksum: only in a round after one without change,
  /// when it can decide something (while changes flow, the merged counts find what is missing, and
  /// a big state is not encoded for every round).
  bool round_carries_checksum() const { return !changed_since_round_; }
  /// A round was sent; true when another must follow: until quiet_digest_rounds passed without
  /// change, and as long as the round left something `unsettled` (a peer that has not acknowledged
  /// this replica's deltas, or a check of every peer that is not done).
  bool round_done(bool unsettled);
  /// Whether a round is armed (a replica that runs rounds need not answer digests).
  bool armed() const { return armed_; }

  /// What a peer's digest says.
  struct verdict {
    std::optional<std::uint64_t> resend_from;  // the peer lacks this replica's deltas from here on
    std::optional<std::uint64_t> ask_from;     // this replica lacks the peer's deltas from here on
    bool exchange_states = false;              // same deltas, different states
    bool in_sync = false;                      // same deltas and the same checksum
    std::uint64_t holds_own = 0;               // how far the peer merged this replica's deltas
    bool mismatch() const { return resend_from || ask_from || exchange_states; }
  };

  /// Compares a peer's digest with this replica: `self` and `own_seq` are this replica's
  /// incarnation and delta number, `members` the origins of its current members, `change_pending`
  /// whether a change of its own is on its way (then checksums cannot be compared), `checksum`
  /// this replica's state checksum (computed only if needed).
  static verdict compare(const digest_message& d, const std::string& self, std::uint64_t own_seq,
                         const delta_stream& stream, const std::vector<std::string>& members, bool change_pending,
                         const std::function<std::uint64_t()>& checksum);

  /// The gossip partners of round number `round`: `fanout` of the `peers` (sorted by a key that
  /// is the same on every node, such as their replica ids), starting after `self_rank` (where this
  /// replica sorts among them) and moving on by `fanout` each round. The replicas of one node whose
  /// groups have the same members choose the same nodes in the same round (their digests travel in
  /// one message); different nodes choose different ones (in a round, each replica is the partner
  /// of `fanout` others); over peers / fanout rounds every peer is chosen.
  static std::vector<std::size_t> partners(std::size_t peers, std::size_t self_rank, std::uint64_t round,
                                           std::size_t fanout);

private:
  timestamp interval_;
  bool armed_ = false;
  bool changed_since_round_ = false;
  int quiet_rounds_ = 0;
  bool check_all_ = false;
};

}  // namespace grove::actors::replica
