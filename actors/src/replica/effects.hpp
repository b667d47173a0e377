// What the replica's protocol core asks its shell to do. The core (replica_core.hpp) never sends,
// waits, reads a clock or touches a disk: each call takes the current time (a mutation takes the
// shell's clock, input_time, and reads it only if it needs the time), and appends to an `effects`
// what should happen next. The CAF actor (replication_server.cpp) carries the effects
// out with messages, delayed messages and storage requests; the simulator (tools/grove_sim.cpp)
// carries them out with simulated ones. CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "grove/actors/protocol.hpp"
#include "grove/actors/replica_types.hpp"
#include "grove/crdt/error.hpp"
#include "grove/storage/backend.hpp"

namespace grove::actors::replica {

/// Milliseconds since the epoch of the shell's clock (the wall clock in the actor: retired
/// incarnations expire at a time that survives restarts; the simulated clock in the simulator).
using timestamp = std::chrono::milliseconds;

/// The time of an input that rarely needs it: a mutation needs the time only to arm a digest round.
/// Either a known time or the shell's clock, read on the first value() (the actor's clock costs
/// about 30 ns a reading on a KVM guest, an eighth of a one-way increment).
class input_time {
public:
  input_time(timestamp known) : value_(known) {}  // NOLINT: a known time is an input_time
  explicit input_time(timestamp (*clock)()) : clock_(clock) {}

  timestamp value() const {
    if (!value_) value_ = clock_();
    return *value_;
  }

private:
  timestamp (*clock_)() = nullptr;
  mutable std::optional<timestamp> value_;
};

/// A peer replica as the shell names it: any number that stays the same for the same peer while
/// the core runs (the shell maps transport addresses to these).
using peer_id = std::uint64_t;

/// A client request that is answered later (client_reply), numbered by the shell.
using request_id = std::uint64_t;

using peer_message = std::variant<delta_message, state_chunk, chunk_ack, digest_message, state_request, deltas_request,
                                  delta_ack, read_request, retire_query, retire_answer>;

/// A message for a peer.
struct peer_send {
  peer_id to = 0;
  peer_message message;
};

/// A digest for peers on other nodes: membership takes it to their nodes, with the digests of the
/// node's other groups of the same round (one message per node).
struct digest_relay {
  digest_message digest;
  std::vector<peer_id> to;
};

/// Timers the core arms; each fires at most once per arming (the shell sends a delayed message to
/// the replica, the simulator schedules an event). `id` names which write, read or transfer a
/// deadline belongs to. A delay of zero means "after the messages already waiting" (the shell
/// sends the message to itself at once).
enum class timer_kind : std::uint8_t {
  sync,
  snapshot,
  digest,
  log_flush,
  write_deadline,
  read_deadline,
  transfer_check,
  prune_check
};

struct timer_request {
  timer_kind kind = timer_kind::sync;
  timestamp delay{0};
  std::uint64_t id = 0;
};

/// A request to the storage actor. Its outcome comes back through replica_core::on_storage_done
/// with the same `id`. While a `blocking` request is outstanding the replica takes no other input
/// (the shell awaits it; the simulator holds the replica's inbox).
struct storage_request {
  enum class kind : std::uint8_t { load, write, flush };
  std::uint64_t id = 0;
  kind what = kind::load;
  storage::group_key key;              // for load
  std::vector<storage::write_op> ops;  // for write
  bool blocking = false;
  bool expects_answer = true;  // false: fire and forget (the final snapshot at stop)
};

/// What the storage actor answered: an error, or for a load the group's snapshot and log.
struct storage_result {
  status outcome;
  bool found = false;
  bytes value;
  std::vector<storage::log_entry> log;
};

/// The answer to a client request that was not answered at once.
struct client_reply {
  request_id id = 0;
  status outcome;                      // an error, or success with:
  replica_count count;                 // for writes with a level and reads (also when the level failed)
  std::shared_ptr<const bytes> state;  // for reads
  std::uint32_t needed = 0;            // when a level failed: the replicas it needed
};

/// Everything one call of the core asks for, in the order it should happen within each list.
struct effects {
  std::vector<peer_send> sends;
  std::vector<digest_relay> relays;
  std::vector<timer_request> timers;
  std::vector<storage_request> storage;
  std::vector<client_reply> replies;
  std::vector<std::string> log_lines;   // for the node's log (rate-limited by the shell)
  std::shared_ptr<const bytes> notify;  // the new state for subscribers, when they are due one
  bool join = false;                    // join the group in membership (startup finished)
  bool stop = false;                    // the replica is done: the shell stops the actor

  bool empty() const {
    return sends.empty() && relays.empty() && timers.empty() && storage.empty() && replies.empty() && log_lines.empty()
           && !notify && !join && !stop;
  }
  void clear() {
    sends.clear();
    relays.clear();
    timers.clear();
    storage.clear();
    replies.clear();
    log_lines.clear();
    notify.reset();
    join = false;
    stop = false;
  }
};

}  // namespace grove::actors::replica
