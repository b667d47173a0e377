// Full states in chunks: the ones a replica sends (at most max_chunks_in_flight unacknowledged per
// peer, one more of the then-current state queued behind the running one) and the ones it
// assembles (bounded per peer and in all). Part of the replica's protocol core. CAF-free.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "effects.hpp"

namespace grove::actors::replica {

/// Who this replica is in the messages it sends.
struct identity {
  std::string group;  // the group as text
  std::string self;   // this replica's incarnation
};

/// The state as a transfer sends it: encoded once per version, with the delta number it covers
/// and how far it covers each member's deltas.
struct state_source {
  std::shared_ptr<const bytes> encoded;
  std::uint64_t seq = 0;
  std::vector<merged_through> merged;
};
using source_fn = std::function<state_source()>;

class transfers {
public:
  transfers(const identity& id, std::size_t max_message_bytes) : id_(id), max_message_bytes_(max_message_bytes) {}

  // -- sending --------------------------------------------------------------------------------

  /// Sends `peer` the full state (from `source`, taken when the transfer starts). While a transfer
  /// to it runs, another of the state as it will be then follows it (one at most). `read` is a
  /// read's number: the transfer that carries it names it. `asked`: the peer asked (it knows this
  /// replica now), so a running transfer it acknowledged nothing of was ignored (it did not know us
  /// yet) and starts over.
  void send_state(peer_id peer, std::optional<std::uint64_t> read, bool asked, const source_fn& source, effects& out,
                  replica_stats& stats);

  /// A peer acknowledged a chunk: the window moves on; a finished transfer lets the queued one
  /// start.
  void on_ack(peer_id peer, const chunk_ack& ack, const source_fn& source, effects& out, replica_stats& stats);

  /// Whether a transfer runs (then the stall check must be armed).
  bool sending() const { return !sending_.empty(); }
  /// The stall check: a transfer acknowledged nothing since the last check (a chunk or its
  /// acknowledgement was lost, or the peer stopped answering) starts over with the current state.
  void restart_stalled(const source_fn& source, effects& out, replica_stats& stats);

  // -- receiving ------------------------------------------------------------------------------

  struct received {
    enum class kind : std::uint8_t { partial, complete, refused, malformed } what = kind::partial;
    std::string why;  // refused, malformed
    bytes state;      // complete: the whole encoded state
    std::uint64_t seq = 0;
    std::vector<merged_through> merged;
    std::vector<std::uint64_t> reads;  // the reads the sender made it for
  };

  /// Takes a chunk from `peer` and acknowledges it. `refused`: a bound was hit (the chunk is
  /// dropped unacknowledged, the sender's transfer stalls and restarts later); `malformed`: the
  /// peer sent what no replica sends (drop it).
  received receive(peer_id peer, state_chunk& chunk, effects& out);

  /// The peer is gone: what was sent to it and assembled from it goes.
  void forget(peer_id peer);

private:
  struct outgoing {
    std::shared_ptr<const bytes> encoded;
    std::uint64_t transfer = 0;
    std::uint64_t seq = 0;
    std::vector<merged_through> merged;
    std::uint32_t count = 0;
    std::uint32_t next = 0;            // the next chunk to send
    std::uint32_t acked = 0;           // chunks acknowledged (each counted once)
    std::uint32_t acked_at_check = 0;  // as the last stall check saw it
    std::vector<bool> acked_chunks;    // which
    std::vector<std::uint64_t> reads;  // reads it serves (named in its first chunk)
  };
  struct to_peer {
    std::optional<outgoing> running;
    bool again = false;
    std::vector<std::uint64_t> reads_again;
  };
  struct incoming {
    std::uint64_t seq = 0;
    std::vector<bytes> parts;
    std::vector<merged_through> merged;
    std::vector<std::uint64_t> reads;
    std::uint32_t received = 0;
    std::size_t size = 0;  // bytes of the parts
  };

  void start(peer_id peer, to_peer& to, std::vector<std::uint64_t> reads, const source_fn& source, effects& out,
             replica_stats& stats);
  void send_chunks(peer_id peer, outgoing& t, effects& out, replica_stats& stats);
  std::size_t open_from(peer_id peer) const;

  const identity& id_;
  std::size_t max_message_bytes_;
  std::uint64_t next_transfer_ = 0;
  std::map<peer_id, to_peer> sending_;
  std::map<std::pair<peer_id, std::uint64_t>, incoming> incoming_;
  std::size_t incoming_bytes_ = 0;
};

}  // namespace grove::actors::replica
