// A CAF application that adds Grove with one call (grove/actors/node.hpp): two actor systems (two
// processes in practice), each configured only through grove.* options, node a from an INI file
// (node-a.ini, as its caf-application.ini would hold them) and node b from command-line arguments.
// They save and load through the storage actor's messages, replicate a counter and an OR-set,
// stop keeping their final snapshots, and find their data again after a restart.
//
// usage: plugin_example INI_FILE (run in a scratch directory: the stores go to ./grove-data)
// Exits 0 when every step did what it should; says which one failed otherwise.
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

// [config]
#include <caf/all.hpp>
#include <grove/actors/node.hpp>
#include <grove/crdt/all.hpp>

// The application's configuration: node_config declares the grove.* options (--help,
// --grove.port=..., the [grove] section of caf-application.ini) next to the application's own.
struct config : grove::actors::node_config<> {};
// [/config]

namespace {

using namespace grove;
using namespace std::chrono_literals;

bool check(bool ok, const std::string& what) {
  if (!ok) std::cerr << "plugin example: FAILED: " << what << std::endl;
  return ok;
}

// Waits up to 20 s for `condition`.
bool eventually(const std::function<bool()>& condition) {
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// [use]
// Applies an operation by message (the replica answers once it is applied and logged).
bool apply(caf::actor_system& sys, const actors::replica_actor& r, crdt::operation op) {
  caf::scoped_actor self{sys};
  bool done = false;
  self->request(r, 5s, actors::mutate_atom::value, std::move(op))
    .receive([&](actors::done_atom) { done = true; }, [&](caf::error& e) { std::cerr << sys.render(e) << "\n"; });
  return done;
}

// The replica's value, decoded.
template <class T>
std::optional<T> value_of(caf::actor_system& sys, const actors::replica_actor& r) {
  caf::scoped_actor self{sys};
  std::optional<T> value;
  self->request(r, 5s, actors::state_atom::value)
    .receive(
      [&](bytes& state) {
        if (auto x = crdt::decode<T>(state)) value = std::move(*x);
      },
      [](caf::error&) {});
  return value;
}
// [/use]

// Applies `op` to the node's replica of `group`.
bool apply_to(caf::actor_system& sys, actors::node& n, const storage::group_key& group, crdt::operation op) {
  auto r = n.replica(group);
  return r && apply(sys, *r, std::move(op));
}

std::uint64_t views(caf::actor_system& sys, actors::node& n) {
  auto r = n.replica({"counter", "views"});
  auto c = r ? value_of<crdt::gcounter>(sys, *r) : std::nullopt;
  return c ? c->value() : 0;
}

bool has_users(caf::actor_system& sys, actors::node& n) {
  auto r = n.replica({"set", "users"});
  auto s = r ? value_of<crdt::orset<std::string>>(sys, *r) : std::nullopt;
  return s && s->contains("alice") && s->contains("bob");
}

// Saves an application's bytes through the storage actor's messages and loads them back.
bool save_and_load(caf::actor_system& sys, actors::node& n) {
  caf::scoped_actor self{sys};
  storage::group_key key{"app", "settings"};
  bool saved = false;
  self->request(n.storage(), 5s, actors::save_atom::value, key, bytes{'o', 'n'})
    .receive([&](actors::done_atom) { saved = true; }, [](caf::error&) {});
  return saved && [&] {
    bool found = false;
    self->request(n.storage(), 5s, actors::load_atom::value, key)
      .receive(
        [&](actors::load_result& r) {
          found = r.found && r.value == bytes{'o', 'n'};
        },
        [](caf::error&) {});
    return found;
  }();
}

// Node b's arguments, as its command line would give them.
std::vector<std::string> arguments_of_b(std::uint16_t port_of_a) {
  return {"--grove.name=b", "--grove.data=grove-data/b", "--grove.sync-interval=50",
          "--grove.peer=127.0.0.1:" + std::to_string(port_of_a), "--scheduler.max-threads=2"};
}

int first_run(const std::string& ini) {
  config cfg_a, cfg_b;
  // [start]
  if (auto err = cfg_a.parse(caf::actor_system_config::string_list{}, ini.c_str())) {  // grove.* checked here
    std::cerr << caf::actor_system_config::render(err) << "\n";
    return 1;
  }
  caf::actor_system sys_a{cfg_a};
  auto a = actors::node::start(sys_a);  // store, membership, listening, seeds, hosting: expected<node>
  if (!a) {
    std::cerr << a.error().to_string() << "\n";
    return 1;
  }
  auto counter = a->replica({"counter", "views"});  // of any kind the node knows; made when new
  // [/start]
  if (auto err = cfg_b.parse(arguments_of_b(a->port())))
    return check(false, "node b's arguments: " + caf::actor_system_config::render(err)), 1;
  caf::actor_system sys_b{cfg_b};
  auto b = actors::node::start(sys_b);
  if (!check(bool(b), "node b starts") || !check(bool(counter), "a's counter")) return 1;
  bool ok = check(eventually([&] { return a->stats().nodes == 1 && b->stats().nodes == 1; }), "a and b connect")
            && check(save_and_load(sys_a, *a), "a saves and loads by message")
            && check(apply(sys_a, *counter, {"increment", {"5"}}), "a increments")
            && check(eventually([&] { return views(sys_b, *b) == 5; }), "b sees a's increment")
            && check(apply_to(sys_b, *b, {"counter", "views"}, {"increment", {"2"}}), "b increments")
            && check(apply_to(sys_a, *a, {"set", "users"}, {"add", {"alice"}}), "a adds")
            && check(apply_to(sys_b, *b, {"set", "users"}, {"add", {"bob"}}), "b adds")
            && check(eventually([&] { return views(sys_a, *a) == 7 && views(sys_b, *b) == 7; }), "counters converge")
            && check(eventually([&] { return has_users(sys_a, *a) && has_users(sys_b, *b); }), "sets converge");
  // [stop]
  auto stopped = a->stop();  // final snapshots, store closed; before sys_a goes
  // [/stop]
  ok = check(bool(stopped), "a stops") && check(bool(b->stop()), "b stops") && ok;
  return ok ? 0 : 1;
}

// Both nodes again: each finds what it had in its own store.
int second_run(const std::string& ini) {
  config cfg_a, cfg_b;
  if (cfg_a.parse(caf::actor_system_config::string_list{}, ini.c_str()))
    return check(false, "a's configuration parses again"), 1;
  caf::actor_system sys_a{cfg_a};
  auto a = actors::node::start(sys_a);
  if (!check(bool(a), "a restarts") || cfg_b.parse(arguments_of_b(a->port())))
    return check(false, "b's configuration parses again"), 1;
  caf::actor_system sys_b{cfg_b};
  auto b = actors::node::start(sys_b);
  if (!check(bool(b), "b restarts")) return 1;
  bool ok = check(views(sys_a, *a) == 7 && views(sys_b, *b) == 7, "the counter is back on both")
            && check(has_users(sys_a, *a) && has_users(sys_b, *b), "the set is back on both")
            && check(a->replicas().size() == 2 && b->replicas().size() == 2, "both restored their two groups");
  bool found = false;
  if (auto store = a->storage_client())
    if (auto v = store->load({"app", "settings"})) found = v->has_value() && **v == bytes{'o', 'n'};
  ok = check(found, "a's saved bytes are back") && ok;
  ok = check(a->stop() && b->stop(), "both stop again") && ok;
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: plugin_example INI_FILE\n";
    return 2;
  }
  int rc = first_run(argv[1]);
  if (rc == 0) rc = second_run(argv[1]);
  std::cout << (rc == 0 ? "plugin example: ok" : "plugin example: FAILED") << std::endl;
  return rc;
}
