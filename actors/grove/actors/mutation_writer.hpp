// mutation_writer: one-way operations for a replica of this process, from any thread, at the cost
// of a queue append rather than a CAF message each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "grove/actors/replica.hpp"

namespace grove::actors {

/// Writes operations to one replication server one way. The operations written while the replica
/// is busy wait in the writer's queue and reach it together in one message (a mutation_batch),
/// and it applies them one by one in the order they were written, as it would the same operations
/// sent one way each as (mutate_atom, operation). So, as with those:
///  - nothing is answered; an operation the replica refuses (one its type does not have) loses only
///    itself: refused() counts them and last_refusal() says why the last one was;
///  - a message that a thread sends the replica after its write() returned is handled after that
///    operation (a read sees it);
///  - with durability log the operations are logged like any mutation, but nobody hears when;
///  - operations still queued when the replica stops are lost.
/// A queue that holds max_queued operations (the replica stopped, or takes them slower than they
/// come) refuses more: write() returns errc::unavailable and the operation is not queued.
/// Copies share the queue; every member function may be called from any thread.
class mutation_writer {
public:
  /// The default bound of the queue: a million operations (tens of MiB for small ones).
  static constexpr std::size_t default_max_queued = std::size_t{1} << 20;

  /// A writer for `replica`, which must run in this process. Errors: invalid_argument for an
  /// invalid handle, a replica on another node, or a max_queued of zero.
  static expected<mutation_writer> make(const replica_actor& replica, std::size_t max_queued = default_max_queued);

  /// Queues `op` for the replica and returns at once; errc::unavailable when the queue is full.
  status write(crdt::operation op);
  /// How many written operations the replica refused so far.
  std::uint64_t refused() const;
  /// Why the last refused operation was refused; nothing while none was.
  std::optional<error> last_refusal() const;

private:
  mutation_writer(replica_actor replica, std::shared_ptr<detail::pending_mutations> pending);

  replica_actor replica_;
  std::shared_ptr<detail::pending_mutations> pending_;
};

}  // namespace grove::actors
