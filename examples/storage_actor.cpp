// The storage actor example of docs/storage.md as a complete program: a durable DETS-style store
// behind a storage actor, a save answered once on disk, the store served to other nodes, a clean
// stop.
// Takes a directory for the store file (default: the current directory).
#include <iostream>
#include <string>

// [storage_actor]
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <grove/actors/storage_actor.hpp>
#include <grove/actors/types.hpp>
#include <grove/crdt/all.hpp>
#include <grove/storage/dets_backend.hpp>

struct storage_config : caf::actor_system_config {
  storage_config() {
    load<caf::io::middleman>();
    grove::actors::register_grove_types(*this);
  }
};

int serve(caf::actor_system& sys, const std::string& dir) {
  grove::storage::dets_options opts;
  opts.file = dir + "/crdts.grove";
  opts.durable = true;
  auto store = grove::storage::open_dets(opts);
  if (!store) {
    std::cerr << store.error().to_string() << "\n";
    return 1;
  }
  auto storage = grove::actors::spawn_storage_actor(sys, std::move(*store));
  grove::crdt::gcounter views("node-1");
  (void)views.increment(5);
  bool saved = false;
  caf::scoped_actor self{sys};
  self
    ->request(storage, std::chrono::seconds(5), grove::actors::save_atom::value,
              grove::storage::group_key{"counter", "views"}, grove::crdt::encode(views))
    .receive(
      [&](grove::actors::done_atom) {
        saved = true; /* on disk */
      },
      [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
  auto port = sys.middleman().publish(storage, 0, "127.0.0.1");  // serve it to other nodes
  self->send_exit(storage, caf::exit_reason::user_shutdown);     // commits, closes the file
  self->wait_for(storage);
  return saved && port ? 0 : 1;
}
// [/storage_actor]

int main(int argc, char** argv) {
  storage_config cfg;
  cfg.set("scheduler.max-threads", 2);
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    rc = serve(sys, argc > 1 ? argv[1] : ".");
  }
  std::cout << (rc == 0 ? "storage actor example: ok" : "storage actor example: FAILED") << std::endl;
  return rc;
}
