// The wiring-by-hand example of docs/embedding.md as a complete program: two nodes (two actor
// systems here, two processes in practice), each with a storage actor, membership and a replica of
// one counter; their transport is secured by a cluster secret; they connect, mutate, converge, and
// shut down without losing their final snapshots.
// Takes a directory for the store files (default: the current directory). Exits 0 when both
// replicas read 1014 and the stores hold it.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

// [config]
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <grove/actors/replication.hpp>
#include <grove/actors/shutdown.hpp>
#include <grove/actors/tls.hpp>
#include <grove/actors/types.hpp>
#include <grove/storage/dets_backend.hpp>

struct config : caf::actor_system_config {
  config() {
    load<caf::io::middleman>();
    grove::actors::register_grove_types(*this);  // message types + the "grove" error category
    grove::actors::configure_node(*this);        // heartbeats, direct connections between nodes
  }
};
// [/config]

namespace {

using namespace grove;

struct node {
  actors::storage_actor store;
  actors::membership_actor membership;
  actors::replica_actor views;
};

// [start]
std::optional<node> start(caf::actor_system& sys, const std::string& replica_id, const std::string& file) {
  storage::dets_options store_opts;
  store_opts.file = file;
  store_opts.durable = true;                      // acknowledged = on disk
  auto backend = storage::open_dets(store_opts);  // expected<unique_ptr<backend>>
  if (!backend) {
    std::cerr << backend.error().to_string() << "\n";
    return std::nullopt;
  }
  auto store = actors::spawn_storage_actor(sys, std::move(*backend));
  auto membership = actors::spawn_membership(sys);

  actors::replication_options opts;
  opts.replica_id = replica_id;
  opts.group = {"counter", "views"};
  opts.sync_interval = std::chrono::milliseconds(200);
  opts.storage = store;  // loads at start, snapshots, final snapshot on stop
  opts.membership = membership;
  auto views = actors::spawn_replica<crdt::gcounter>(sys, opts);  // expected<replica_actor>
  if (!views) {
    std::cerr << views.error().to_string() << "\n";
    return std::nullopt;
  }
  return node{store, membership, *views};
}
// [/start]

// [use]
std::uint64_t increment_and_read(caf::actor_system& sys, const actors::replica_actor& views) {
  caf::scoped_actor self{sys};
  self
    ->request(views, std::chrono::seconds(5), actors::mutate_atom::value,
              crdt::operation{"increment", {"5"}})  // typed operation: works remotely
    .receive([](actors::done_atom) {}, [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
  self
    ->request(views, std::chrono::seconds(5), actors::mutate_atom::value,
              actors::make_local_mutation<crdt::gcounter>([](crdt::gcounter& c) { return c.increment(2); }))
    .receive([](actors::done_atom) {}, [](caf::error&) {});  // local function form
  std::uint64_t value = 0;
  self->request(views, std::chrono::seconds(5), actors::state_atom::value)
    .receive([&](bytes& s) { value = crdt::decode<crdt::gcounter>(s)->value(); }, [](caf::error&) {});
  return value;
}
// [/use]

// [one_way]
// Many one-way increments from a thread of the application: appended to a writer's queue, which
// reaches the replica in one message however many wait (a message each would cost more).
bool count_events(const actors::replica_actor& views, int events) {
  auto writer = actors::mutation_writer::make(views);  // the replica must run in this process
  if (!writer) return false;
  for (int i = 0; i < events; ++i)
    if (!writer->write(crdt::operation{"increment", {}})) return false;  // unavailable: its queue is full
  return true;
}
// [/one_way]

std::uint64_t read(caf::actor_system& sys, const actors::replica_actor& views) {
  caf::scoped_actor self{sys};
  std::uint64_t value = 0;
  self->request(views, std::chrono::seconds(5), actors::state_atom::value)
    .receive([&](bytes& s) { value = crdt::decode<crdt::gcounter>(s)->value(); }, [](caf::error&) {});
  return value;
}

bool converged(caf::actor_system& sys_a, const node& a, caf::actor_system& sys_b, const node& b, std::uint64_t want) {
  for (int i = 0; i < 500; ++i) {
    if (read(sys_a, a.views) == want && read(sys_b, b.views) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int run(caf::actor_system& sys_a, caf::actor_system& sys_b, const std::string& dir) {
  auto a = start(sys_a, "node-a", dir + "/a.grove");
  auto b = start(sys_b, "node-b", dir + "/b.grove");
  if (!a || !b) return 1;
  auto& membership_a = a->membership;
  auto& membership_b = b->membership;
  // [two_nodes]
  // node A
  auto port = actors::listen(sys_a, membership_a, 0);  // 127.0.0.1, any free port
  // node B (another process, or as here another actor_system)
  auto connected = actors::connect(sys_b, membership_b, "127.0.0.1", *port);
  // Replicas of the same group on A and B now find each other and converge; a third node that
  // connects to A learns B too.
  // [/two_nodes]
  if (!connected) std::cerr << connected.error().to_string() << "\n";
  increment_and_read(sys_a, a->views);
  increment_and_read(sys_b, b->views);
  bool counted = count_events(a->views, 1000);
  bool ok = connected && counted && converged(sys_a, *a, sys_b, *b, 1014);
  // [stop]
  auto stopped_a = actors::stop_node(sys_a, {a->views}, a->store, a->membership);
  // [/stop]
  auto stopped_b = actors::stop_node(sys_b, {b->views}, b->store, b->membership);
  return ok && stopped_a && stopped_b ? 0 : 1;  // a and b (every handle) go before the systems
}

// What the stores hold after the shutdown: the final snapshots.
// 32 random bytes as 64 hex digits: a cluster secret (every node of a cluster shares one; a real
// cluster keeps it in a file, as grove-node's --secret-file does).
std::string random_secret() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  std::string secret;
  for (int i = 0; i < 32 && urandom; ++i) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(urandom.get()));
    secret += hex;
  }
  return secret;
}

bool stored_value_is(const std::string& file, std::uint64_t want) {
  storage::dets_options o;
  o.file = file;
  o.read_only = true;
  auto b = storage::open_dets(o);
  if (!b) return false;
  auto v = storage::load<crdt::gcounter>(**b, {"counter", "views"});
  return v && *v && (*v)->value() == want;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : ".";
  config cfg_a, cfg_b;
  for (auto* cfg : {&cfg_a, &cfg_b}) cfg->set("scheduler.max-threads", 2);
  auto secret = random_secret();
  for (auto* cfg : {&cfg_a, &cfg_b}) {
    // [secure]
    // Before the actor system is built: TLS whose authority is derived from the secret, so only
    // nodes that hold it can connect (or certificates: security_options{secret, {cert, key, "", ca}}).
    auto secured = actors::secure_transport(*cfg, actors::security_options{secret, {}, false});
    if (!secured) {
      std::cerr << secured.error().to_string() << "\n";  // e.g. a secret shorter than 32 bytes
      return 2;
    }
    std::cerr << "cluster CA " << secured->ca_fingerprint << "\n";  // the same on every node; never the secret
    // [/secure]
  }
  int rc = 0;
  {
    caf::actor_system sys_a{cfg_a};
    caf::actor_system sys_b{cfg_b};
    rc = run(sys_a, sys_b, dir);
  }
  if (rc == 0 && !(stored_value_is(dir + "/a.grove", 1014) && stored_value_is(dir + "/b.grove", 1014))) rc = 1;
  std::cout << (rc == 0 ? "embedding example: ok" : "embedding example: FAILED") << std::endl;
  return rc;
}
