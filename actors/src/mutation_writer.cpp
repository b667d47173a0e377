#include "grove/actors/mutation_writer.hpp"

#include <string>

#include <caf/all.hpp>

#include "pending_mutations.hpp"

namespace grove::actors {

expected<mutation_writer> mutation_writer::make(const replica_actor& replica, std::size_t max_queued) {
  auto invalid = [](const std::string& what) { return error(errc::invalid_argument, "mutation_writer: " + what); };
  if (!replica) return invalid("the replica handle is invalid");
  // A mutation_batch holds a pointer into this process: it cannot be sent to another.
  if (replica.node() != replica->home_system().node()) return invalid("the replica runs on another node");
  if (max_queued == 0) return invalid("max_queued must be positive");
  return mutation_writer{replica, std::make_shared<detail::pending_mutations>(max_queued)};
}

mutation_writer::mutation_writer(replica_actor replica, std::shared_ptr<detail::pending_mutations> pending)
    : replica_(std::move(replica)), pending_(std::move(pending)) {}

status mutation_writer::write(crdt::operation op) {
  if (pending_->push(std::move(op), [&] { caf::anon_send(replica_, mutate_atom::value, mutation_batch{pending_}); }))
    return {};
  return error(errc::unavailable, "mutation_writer: the replica has not taken the last "
                                    + std::to_string(pending_->max_queued())
                                    + " operations (it stopped, or takes them slower than they are written)");
}

std::uint64_t mutation_writer::refused() const { return pending_->refused(); }

std::optional<error> mutation_writer::last_refusal() const { return pending_->last_refusal(); }

}  // namespace grove::actors
