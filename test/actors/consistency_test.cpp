// Consistency levels, batches and dropping groups, with real actor systems connected over the io
// middleman on loopback: a write at `all` is in every replica's memory when it is answered, a read
// at `all` or `majority` sees what a peer has not broadcast yet, replicas that are gone make a
// majority write fail with its count, a batch is applied whole or not at all, and a dropped group
// goes from every node and store and stays gone while its tombstone lives.
#define BOOST_TEST_MODULE consistency
#include <algorithm>
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "grove/actors/replication.hpp"
#include "grove/crdt/all.hpp"
#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/node.hpp"
#include "support/printing.hpp"
#include "support/replication.hpp"
#include "support/temp_dir.hpp"

using namespace grove;
using namespace grove::actors;
using namespace grove::crdt;
using namespace grove::testing;
using storage::group_key;

namespace {

expected<replica_count> write(caf::actor_system& sys, const replica_actor& r, std::vector<operation> ops,
                              consistency level = {}, std::optional<level_shortfall>* shortfall = nullptr) {
  caf::scoped_actor self{sys};
  expected<replica_count> out = error(errc::unavailable, "no answer");
  self
    ->request(r, std::chrono::milliseconds(level.timeout_ms) + 10s, mutate_atom::value,
              write_request{std::move(ops), level})
    .receive([&](replica_count& c) { out = c; },
             [&](caf::error& e) {
               out = from_caf_error(e);
               if (shortfall) *shortfall = shortfall_of(e);
             });
  return out;
}

expected<read_result> read(caf::actor_system& sys, const replica_actor& r, consistency level) {
  caf::scoped_actor self{sys};
  expected<read_result> out = error(errc::unavailable, "no answer");
  self->request(r, std::chrono::milliseconds(level.timeout_ms) + 10s, read_atom::value, level)
    .receive([&](read_result& x) { out = std::move(x); }, [&](caf::error& e) { out = from_caf_error(e); });
  return out;
}

std::uint64_t counter_in(const bytes& state) { return decode<gcounter>(state)->value(); }

consistency at(consistency_level level, std::uint32_t timeout_ms = 5000) { return consistency{level, timeout_ms}; }

// Replicas that broadcast only after 10 minutes (and exchange no digest before): whatever a peer
// holds sooner came through a consistency level.
replication_options slow_sync() {
  replication_options o;
  o.sync_interval = std::chrono::minutes(10);
  o.digest_interval = std::chrono::minutes(10);
  return o;
}

// Three nodes: a listens, b and c connect to it (and to each other, automatically).
struct three_nodes {
  std::unique_ptr<node> a = std::make_unique<node>(), b = std::make_unique<node>(), c = std::make_unique<node>();

  three_nodes() {
    auto port = listen(*a->sys, a->membership, 0);
    BOOST_REQUIRE(port);
    BOOST_REQUIRE(connect(*b->sys, b->membership, "127.0.0.1", *port));
    BOOST_REQUIRE(connect(*c->sys, c->membership, "127.0.0.1", *port));
    BOOST_REQUIRE(eventually([&] { return nodes_known(*a) == 2 && nodes_known(*b) == 2 && nodes_known(*c) == 2; }));
  }

  ~three_nodes() {
    c.reset();
    b.reset();
    a.reset();
  }

  // A replica of g on a, b and c (replica ids "a", "b", "c"), once each counts all three.
  template <class T>
  std::array<replica_actor, 3> replicas(const group_key& g, const std::function<replication_options(node&)>& options) {
    std::array<node*, 3> nodes{a.get(), b.get(), c.get()};
    std::array<replica_actor, 3> out;
    for (std::size_t i = 0; i < 3; ++i)
      out[i] = nodes[i]->template replica<T>(std::string(1, char('a' + i)), g, options(*nodes[i]));
    for (std::size_t i = 0; i < 3; ++i)
      BOOST_REQUIRE(eventually([&] { return stats_of(*nodes[i]->sys, out[i]).replicas == 3u; }));
    return out;
  }
};

replication_options slow_sync_on(node&) { return slow_sync(); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_batch_is_applied_whole_or_not_at_all) {
  node n;
  auto counter = n.replica<pncounter>("a", {"pncounter", "batch"});
  auto set = n.replica<orset<std::string>>("a", {"set", "batch"});
  auto list = n.replica<rga<std::string>>("a", {"list", "batch"});

  auto good = write(*n.sys, counter, {op("increment", {"5"}), op("decrement", {"2"}), op("increment")});
  BOOST_REQUIRE(good);
  BOOST_TEST(good->acks == 1u);
  BOOST_TEST(value_of<pncounter>(*n.sys, counter)->value() == 4);

  // The third operation is refused: the first two are not applied either, and the error names it.
  auto bad = write(*n.sys, counter, {op("increment", {"100"}), op("increment", {"100"}), op("increment", {"zero"})});
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().code() == errc::invalid_argument);
  BOOST_TEST(bad.error().message().find("operation 3 of 3") != std::string::npos, bad.error().message());
  BOOST_REQUIRE(write(*n.sys, counter, {op("increment")}));  // a change after it: its state is encoded anew
  BOOST_TEST(value_of<pncounter>(*n.sys, counter)->value() == 5);

  // A refusal that depends only on the operation (an unknown one) and one that depends on the
  // value (an index past the end of the list after the batch's own inserts).
  BOOST_TEST(!write(*n.sys, set, {op("add", {"x"}), op("add", {"y"}), op("push", {"z"})}));
  BOOST_REQUIRE(write(*n.sys, set, {op("add", {"w"})}));
  BOOST_TEST(value_of<orset<std::string>>(*n.sys, set)->value() == std::set<std::string>{"w"});
  BOOST_TEST(!write(*n.sys, list, {op("insert", {"0", "p"}), op("insert", {"1", "q"}), op("remove", {"2"})}));
  BOOST_TEST(value_of<rga<std::string>>(*n.sys, list)->value().empty());
  BOOST_REQUIRE(write(*n.sys, list, {op("insert", {"0", "p"}), op("insert", {"1", "q"}), op("remove", {"0"})}));
  BOOST_TEST(value_of<rga<std::string>>(*n.sys, list)->value() == std::vector<std::string>{"q"});
  BOOST_TEST(!write(*n.sys, set, {}));  // an empty batch is refused
}

BOOST_AUTO_TEST_CASE(a_write_at_all_is_in_every_replica_when_it_is_answered) {
  three_nodes cluster;
  group_key g{"counter", "write-all"};
  auto [ra, rb, rc] = cluster.replicas<gcounter>(g, slow_sync_on);

  auto all = write(*cluster.a->sys, ra, {op("increment", {"7"})}, at(consistency_level::all));
  BOOST_REQUIRE_MESSAGE(all, (all ? "" : all.error().to_string()));
  BOOST_TEST(all->acks == 3u);
  BOOST_TEST(all->replicas == 3u);
  // Read once, right away: no waiting (the sync interval is 10 minutes).
  BOOST_TEST(value_of<gcounter>(*cluster.b->sys, rb)->value() == 7u);
  BOOST_TEST(value_of<gcounter>(*cluster.c->sys, rc)->value() == 7u);

  // A local write is answered at once and goes nowhere before the sync interval.
  auto local = write(*cluster.a->sys, ra, {op("increment", {"1"})});
  BOOST_REQUIRE(local);
  BOOST_TEST(local->acks == 1u);
  BOOST_TEST(holds_throughout([&] { return value_of<gcounter>(*cluster.b->sys, rb)->value() == 7u; }, 300ms));
}

BOOST_AUTO_TEST_CASE(a_read_at_all_or_majority_merges_what_peers_have_not_broadcast) {
  three_nodes cluster;
  group_key g{"counter", "read-all"};
  auto [ra, rb, rc] = cluster.replicas<gcounter>(g, slow_sync_on);
  BOOST_REQUIRE(write(*cluster.a->sys, ra, {op("increment", {"5"})}));  // local: stays on a for now
  BOOST_REQUIRE(write(*cluster.c->sys, rc, {op("increment", {"20"})}));

  auto all = read(*cluster.b->sys, rb, at(consistency_level::all));
  BOOST_REQUIRE_MESSAGE(all, (all ? "" : all.error().to_string()));
  BOOST_TEST(counter_in(all->state) == 25u);
  BOOST_TEST(all->count.acks == 3u);
  BOOST_TEST(value_of<gcounter>(*cluster.b->sys, rb)->value() == 25u);  // b keeps the merge

  // With c gone, a majority is a and b: a majority read on b must include a's newest write.
  cluster.c.reset();
  BOOST_REQUIRE(write(*cluster.a->sys, ra, {op("increment", {"100"})}));
  auto majority = read(*cluster.b->sys, rb, at(consistency_level::majority));
  BOOST_REQUIRE_MESSAGE(majority, (majority ? "" : majority.error().to_string()));
  BOOST_TEST(counter_in(majority->state) == 125u);
  BOOST_TEST(majority->count.acks == 2u);
  BOOST_TEST(majority->count.replicas == 3u);  // c still counts while it is away
  auto every = read(*cluster.b->sys, rb, at(consistency_level::all, 300));
  BOOST_REQUIRE(!every);
  BOOST_TEST(every.error().message().find("2 of 3 replicas answered") != std::string::npos, every.error().message());
}

BOOST_AUTO_TEST_CASE(a_majority_write_with_two_of_three_replicas_away_fails_with_its_count_and_stays_applied) {
  three_nodes cluster;
  group_key g{"counter", "majority"};
  auto [ra, rb, rc] = cluster.replicas<gcounter>(g, [](node&) { return replication_options{}; });
  auto ok = write(*cluster.a->sys, ra, {op("increment", {"1"})}, at(consistency_level::majority));
  BOOST_REQUIRE(ok);
  BOOST_TEST(ok->acks >= 2u);

  cluster.b.reset();
  cluster.c.reset();
  auto started = std::chrono::steady_clock::now();
  std::optional<level_shortfall> shortfall;
  auto failed = write(*cluster.a->sys, ra, {op("increment", {"10"})}, at(consistency_level::majority, 400), &shortfall);
  auto waited = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(!failed);
  BOOST_TEST(failed.error().code() == errc::unavailable);
  BOOST_TEST(failed.error().message().find("1 of 3 replicas merged it") != std::string::npos, failed.error().message());
  BOOST_REQUIRE(shortfall.has_value());  // the same figures as fields, for programs
  BOOST_TEST(shortfall->acks == 1u);
  BOOST_TEST(shortfall->needed == 2u);
  BOOST_TEST(shortfall->replicas == 3u);
  BOOST_TEST((waited >= 400ms));  // it waited for its timeout (a behaviour, not a speed)
  BOOST_TEST(value_of<gcounter>(*cluster.a->sys, ra)->value() == 11u);  // still applied here
}

BOOST_AUTO_TEST_CASE(a_durable_write_at_all_is_logged_and_merged_everywhere_when_answered) {
  three_nodes cluster;
  group_key g{"set", "durable-all"};
  auto make_store = [](node& n) {
    storage::ets_options o;
    o.table = "consistency-" + caf::to_string(n.sys->node());
    auto store = spawn_storage_actor(*n.sys, std::move(*storage::open_ets(o)));
    n.owned.push_back(caf::actor_cast<caf::actor>(store));
    return store;
  };
  auto durable = [&](node& n) {
    auto o = slow_sync();
    o.storage = make_store(n);
    o.durability = durability_mode::log;
    return o;
  };
  auto [ra, rb, rc] = cluster.replicas<orset<std::string>>(g, durable);
  auto all = write(*cluster.a->sys, ra, {op("add", {"x"}), op("add", {"y"})}, at(consistency_level::all));
  BOOST_REQUIRE_MESSAGE(all, (all ? "" : all.error().to_string()));
  BOOST_TEST(all->acks == 3u);
  BOOST_TEST(stats_of(*cluster.a->sys, ra).log_appends == 1u);  // one append for the batch
  std::set<std::string> both{"x", "y"};
  BOOST_TEST(value_of<orset<std::string>>(*cluster.b->sys, rb)->value() == both);
  BOOST_TEST(value_of<orset<std::string>>(*cluster.c->sys, rc)->value() == both);
}

namespace {

// The groups a store holds, without Grove's own records (kinds "grove.*").
std::vector<group_key> stored_groups(caf::actor_system& sys, const storage_actor& store) {
  caf::scoped_actor self{sys};
  std::vector<group_key> out;
  self->request(store, 10s, list_atom::value)
    .receive([&](std::vector<group_key>& gs) { out = std::move(gs); }, [](caf::error&) {});
  out.erase(std::remove_if(out.begin(), out.end(), [](const group_key& g) { return g.is_internal(); }), out.end());
  return out;
}

bool is_dropped(node& n, const group_key& g) {
  caf::scoped_actor self{*n.sys};
  bool out = false;
  self->request(n.membership, 5s, dropped_atom::value, g.to_string())
    .receive([&](bool d) { out = d; }, [](caf::error&) {});
  return out;
}

bool gone(caf::actor_system& sys, const replica_actor& r) {
  caf::scoped_actor self{sys};
  self->monitor(r);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  return down;
}

// A node with a store in `file` (DETS-style, so it outlives the node) and a replica of g.
struct node_with_store {
  std::unique_ptr<node> n;
  storage_actor store;
  replica_actor replica;

  node_with_store(const std::string& file, const std::string& id, const group_key& g, membership_options m = {}) {
    n = std::make_unique<node>(std::move(m));
    storage::dets_options o;
    o.file = file;
    store = spawn_storage_actor(*n->sys, std::move(*storage::open_dets(o)));
    replication_options r;
    r.storage = store;
    replica = n->replica<gcounter>(id, g, r);
  }

  ~node_with_store() {
    stop_all(*n->sys, {caf::actor_cast<caf::actor>(replica), caf::actor_cast<caf::actor>(store)});
    replica = nullptr;
    store = nullptr;
    n.reset();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_dropped_group_goes_from_every_node_and_store_and_a_returning_node_does_not_bring_it_back) {
  temp_dir dir;
  group_key g{"counter", "doomed"}, kept{"counter", "kept"};
  auto a = std::make_unique<node_with_store>(dir.file("a.grove"), "a", g);
  auto b = std::make_unique<node_with_store>(dir.file("b.grove"), "b", g);
  auto c = std::make_unique<node_with_store>(dir.file("c.grove"), "c", g);
  auto port = listen(*a->n->sys, a->n->membership, 0);
  BOOST_REQUIRE(port);
  for (auto* x : {b.get(), c.get()}) BOOST_REQUIRE(connect(*x->n->sys, x->n->membership, "127.0.0.1", *port));
  auto other = a->n->replica<gcounter>("a", kept, [&] {
    replication_options o;
    o.storage = a->store;
    return o;
  }());
  BOOST_REQUIRE(mutate(*a->n->sys, a->replica, op("increment", {"3"})));
  BOOST_REQUIRE(mutate(*a->n->sys, other, op("increment", {"4"})));
  for (auto* x : {a.get(), b.get(), c.get()})
    BOOST_REQUIRE(eventually([&] { return value_of<gcounter>(*x->n->sys, x->replica)->value() == 3u; }));
  auto snapshot = [](caf::actor_system& sys, const replica_actor& r) {
    caf::scoped_actor self{sys};
    bool saved = false;
    self->request(r, 10s, snapshot_atom::value).receive([&](done_atom) { saved = true; }, [](caf::error&) {});
    return saved;
  };
  for (auto* x : {a.get(), b.get(), c.get()}) {
    BOOST_REQUIRE(mutate(*x->n->sys, x->replica, op("increment")));
    BOOST_REQUIRE(snapshot(*x->n->sys, x->replica));
  }
  BOOST_REQUIRE(snapshot(*a->n->sys, other));
  BOOST_REQUIRE(stored_groups(*b->n->sys, b->store) == std::vector<group_key>{g});
  c.reset();  // c is down while the group is dropped

  {
    caf::scoped_actor self{*a->n->sys};
    bool answered = false;
    self->request(a->n->membership, 10s, drop_group_atom::value, g.to_string())
      .receive([&](done_atom) { answered = true; }, [](caf::error&) {});
    BOOST_REQUIRE(answered);
  }
  BOOST_TEST(gone(*a->n->sys, a->replica));
  BOOST_TEST(gone(*b->n->sys, b->replica));
  BOOST_TEST(eventually([&] { return stored_groups(*a->n->sys, a->store) == std::vector<group_key>{kept}; }));
  BOOST_TEST(eventually([&] { return stored_groups(*b->n->sys, b->store).empty(); }));
  for (auto* x : {a.get(), b.get()}) BOOST_TEST(is_dropped(*x->n, g));
  BOOST_TEST(value_of<gcounter>(*a->n->sys, other)->value() == 4u);  // another group is untouched

  // c comes back with the group in its store (as a restarted grove-node restores it) and is told.
  c = std::make_unique<node_with_store>(dir.file("c.grove"), "c", g);
  BOOST_TEST(value_of<gcounter>(*c->n->sys, c->replica)->value() >= 4u);  // restored from its store
  BOOST_REQUIRE(connect(*c->n->sys, c->n->membership, "127.0.0.1", *port));
  BOOST_TEST(gone(*c->n->sys, c->replica));
  BOOST_TEST(eventually([&] { return stored_groups(*c->n->sys, c->store).empty(); }));
  BOOST_TEST(is_dropped(*c->n, g));
  // A node that joins later with no replica of it learns the tombstone too.
  node d;
  BOOST_REQUIRE(connect(*d.sys, d.membership, "127.0.0.1", *port));
  BOOST_TEST(eventually([&] { return is_dropped(d, g); }));
  // A replica of the dropped group made anew is refused while the tombstone lives.
  auto again = b->n->replica<gcounter>("b", g, [&] {
    replication_options o;
    o.storage = b->store;
    return o;
  }());
  BOOST_TEST(gone(*b->n->sys, again));
  c.reset();
  b.reset();
  a.reset();
}

BOOST_AUTO_TEST_CASE(a_tombstone_expires_after_its_lifetime_and_the_group_can_be_made_again) {
  membership_options short_lived;
  short_lived.tombstone_lifetime = 300ms;
  node n{short_lived};
  group_key g{"counter", "short"};
  auto r = n.replica<gcounter>("a", g);
  BOOST_REQUIRE(mutate(*n.sys, r, op("increment")));
  {
    caf::scoped_actor self{*n.sys};
    self->request(n.membership, 10s, drop_group_atom::value, g.to_string())
      .receive([](done_atom) {}, [](caf::error&) {});
  }
  BOOST_TEST(gone(*n.sys, r));
  BOOST_TEST(is_dropped(n, g));
  BOOST_TEST(eventually([&] { return !is_dropped(n, g); }, 5s));
  auto again = n.replica<gcounter>("a", g);
  BOOST_REQUIRE(mutate(*n.sys, again, op("increment", {"2"})));
  BOOST_TEST(holds_throughout([&] { return value_of<gcounter>(*n.sys, again).has_value(); }, 300ms));
  BOOST_TEST(value_of<gcounter>(*n.sys, again)->value() == 2u);
}
