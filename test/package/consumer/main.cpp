// A user's program built against the installed grove package: a counter replicated through the
// codec, stored in an in-memory backend behind a storage actor, and read back.
#include <grove/actors/storage_actor.hpp>
#include <grove/actors/storage_client.hpp>
#include <grove/actors/types.hpp>
#include <grove/crdt/all.hpp>
#include <grove/storage/ets_backend.hpp>

#include <caf/all.hpp>

#include <iostream>

int main() {
  grove::crdt::gcounter a("a"), b("b");
  if (!a.increment(2) || !b.increment(3)) return 1;
  a.merge(*grove::crdt::decode<grove::crdt::gcounter>(grove::crdt::encode(b.delta())));

  caf::actor_system_config cfg;
  grove::actors::register_grove_types(cfg);
  caf::actor_system sys{cfg};
  auto store = grove::actors::spawn_storage_actor(sys, std::move(*grove::storage::open_ets()));
  {
    auto client = grove::actors::make_storage_client(sys, store);
    if (!grove::storage::save(*client, {"counter", "c"}, a)) return 1;
    auto back = grove::storage::load<grove::crdt::gcounter>(*client, {"counter", "c"});
    if (!back || !*back) return 1;
    std::cout << "consumer: value " << (*back)->value() << "\n";
    if ((*back)->value() != 5) return 1;
  }
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  return 0;
}
