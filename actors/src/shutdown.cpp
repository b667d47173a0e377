#include "grove/actors/shutdown.hpp"

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"

namespace grove::actors {

namespace {

// Keeps the first error of several steps.
void keep_first(status& first, status next) {
  if (first && !next) first = std::move(next);
}

template <class Handle, class... Ts>
status request_ok(caf::scoped_actor& self, const Handle& h, std::chrono::milliseconds timeout, Ts... xs) {
  status result;
  self->request(h, timeout, xs...).receive([](done_atom) {}, [&](caf::error& e) { result = from_caf_error(e); });
  return result;
}

status stop_and_wait(caf::scoped_actor& self, const std::vector<caf::actor>& actors,
                     std::chrono::milliseconds timeout) {
  for (const auto& a : actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  status result;
  for (const auto& a : actors) {
    self->monitor(a);
    bool down = false;
    self->receive_while([&] { return !down; })(
      [&](caf::down_msg& msg) { down = msg.source == a.address() || down; },
      caf::after(timeout) >>
        [&] {
          down = true;
          keep_first(result, error(errc::unavailable,
                                   "an actor did not stop within " + std::to_string(timeout.count()) + " ms"));
        });
  }
  return result;
}

}  // namespace

status stop_node(caf::actor_system& sys, const std::vector<replica_actor>& replicas,
                 const std::optional<storage_actor>& storage, const std::optional<membership_actor>& membership,
                 std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  status result;
  std::vector<caf::actor> replica_handles;
  for (const auto& r : replicas) {
    keep_first(result, request_ok(self, r, timeout, snapshot_atom::value));
    replica_handles.push_back(caf::actor_cast<caf::actor>(r));
  }
  keep_first(result, stop_and_wait(self, replica_handles, timeout));
  std::vector<caf::actor> rest;
  if (storage) {
    keep_first(result, request_ok(self, *storage, timeout, flush_atom::value));
    rest.push_back(caf::actor_cast<caf::actor>(*storage));
  }
  if (membership) rest.push_back(caf::actor_cast<caf::actor>(*membership));
  keep_first(result, stop_and_wait(self, rest, timeout));
  return result;
}

}  // namespace grove::actors
