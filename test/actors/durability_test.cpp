// Durability log in one process: acknowledgement waits for the log, snapshots compact it (also
// early, past its bound), a restart replays it, a damaged entry costs only itself, and the appends
// of many groups share commits. The kill -9 test is durability_crash_test.cpp.
#define BOOST_TEST_MODULE durability
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "grove/actors/replication.hpp"
#include "grove/actors/storage_client.hpp"
#include "grove/crdt/all.hpp"
#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/forwarding_backend.hpp"
#include "support/gated_backend.hpp"
#include "support/node.hpp"
#include "support/printing.hpp"
#include "support/temp_dir.hpp"

using namespace grove;
using namespace grove::actors;
using namespace grove::testing;
using crdt::orset;
using storage::group_key;

namespace {

replication_options logged(const storage_actor& store) {
  replication_options o;
  o.storage = store;
  o.durability = durability_mode::log;
  o.snapshot_interval = std::chrono::hours(1);  // no snapshot unless a test asks for one
  return o;
}

storage_actor ets_store(node& n, const std::string& table) {
  storage::ets_options o;
  o.table = table;
  auto store = spawn_storage_actor(*n.sys, std::move(*storage::open_ets(o)));
  n.owned.push_back(caf::actor_cast<caf::actor>(store));
  return store;
}

std::vector<storage::log_entry> log_of(node& n, const storage_actor& store, const group_key& g) {
  auto client = make_storage_client(*n.sys, store);
  auto log = client->read_log(g);
  BOOST_REQUIRE_MESSAGE(log, "read_log failed");
  return *log;
}

storage_stats storage_stats_of(node& n, const storage_actor& store) {
  caf::scoped_actor self{*n.sys};
  storage_stats out;
  self->request(store, std::chrono::seconds(10), stats_atom::value)
    .receive([&](storage_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

// Sends a mutation from an actor of its own; the flag turns true when it is acknowledged.
std::shared_ptr<std::atomic<bool>> requested_mutation(node& n, const replica_actor& r, crdt::operation mutation) {
  auto answered = std::make_shared<std::atomic<bool>>(false);
  // (Spawned with its arguments: CAF 0.17 dereferences a null tuple for a function without any.)
  n.sys->spawn(
    [answered](caf::event_based_actor* client, const replica_actor& target, const crdt::operation& m) {
      client->request(target, caf::infinite, mutate_atom::value, m).then([=](done_atom) { *answered = true; });
    },
    r, mutation);
  return answered;
}

// Stops a replica the hard way: no exit handler, so no final snapshot (what a crash leaves).
void kill_replica(node& n, const replica_actor& r) {
  caf::scoped_actor self{*n.sys};
  self->send_exit(r, caf::exit_reason::kill);
  self->wait_for(r);
}

}  // namespace

BOOST_AUTO_TEST_CASE(durability_log_needs_a_storage_actor) {
  node n;
  replication_options o;
  o.replica_id = "a";
  o.group = {"counter", "c"};
  o.durability = durability_mode::log;
  auto r = spawn_replica<crdt::gcounter>(*n.sys, o);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == errc::invalid_argument);
  BOOST_TEST(r.error().message().find("storage") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_mutation_is_acknowledged_only_once_its_delta_is_in_the_log) {
  for (auto mode : {durability_mode::log, durability_mode::none}) {
    node n;
    auto gate = std::make_shared<gated_backend::control>();
    storage::ets_options eo;
    eo.table = "gated-" + std::to_string(static_cast<int>(mode));
    auto store = spawn_storage_actor(*n.sys, std::make_unique<gated_backend>(std::move(*storage::open_ets(eo)), gate));
    n.owned.push_back(caf::actor_cast<caf::actor>(store));
    auto o = logged(store);
    o.durability = mode;
    if (mode == durability_mode::none)
      o.snapshot_interval = std::chrono::milliseconds(1);  // a snapshot reaches the gate
    group_key g{"set", "gated"};
    auto r = n.replica<orset<std::string>>("a", g, o);
    BOOST_REQUIRE(mutate(*n.sys, r, op("add", {"first"})));  // the gate is open: the load went through
    gate->close();
    auto answered = requested_mutation(n, r, op("add", {"held"}));
    gate->wait_until_inside();  // the append (or, with none, a snapshot) is at the store, held there
    if (mode == durability_mode::log) {
      // Not acknowledged while its delta is not in the log (an answer sent before the append
      // would arrive within microseconds).
      BOOST_TEST(holds_throughout([&] { return !answered->load(); }, std::chrono::milliseconds(300)));
      gate->open();
      BOOST_TEST(eventually([&] { return answered->load(); }));
      BOOST_TEST(log_of(n, store, g).size() == 2u);
    } else {
      BOOST_TEST(eventually([&] { return answered->load(); }));  // without a log it does not wait
      gate->open();
    }
  }
}

namespace {

// An in-memory backend whose log appends fail while `failing` is set (a full disk, say).
class failing_appends final : public forwarding_backend {
public:
  failing_appends(std::unique_ptr<storage::backend> inner, std::shared_ptr<std::atomic<bool>> failing)
      : forwarding_backend(std::move(inner), "failing "), failing_(std::move(failing)) {}
  status write(const std::vector<storage::write_op>& ops) override {
    for (const auto& op : ops)
      if (op.what == storage::write_op::kind::append && failing_->load())
        return error(errc::disk_full, "no space for the log");
    return forwarding_backend::write(ops);
  }

private:
  std::shared_ptr<std::atomic<bool>> failing_;
};

}  // namespace

// A failed append: the requester gets the error, the mutation stays applied here, and the next
// snapshot stores it.
BOOST_AUTO_TEST_CASE(a_failed_append_answers_its_error_and_the_next_snapshot_stores_the_mutation) {
  node n;
  auto failing = std::make_shared<std::atomic<bool>>(true);
  storage::ets_options eo;
  eo.table = "failing-appends";
  auto store =
    spawn_storage_actor(*n.sys, std::make_unique<failing_appends>(std::move(*storage::open_ets(eo)), failing));
  n.owned.push_back(caf::actor_cast<caf::actor>(store));
  group_key g{"set", "unlogged"};
  auto o = logged(store);
  o.snapshot_interval = std::chrono::milliseconds(50);
  auto r = n.replica<orset<std::string>>("a", g, o);
  auto result = mutate(*n.sys, r, op("add", {"kept anyway"}));
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == errc::disk_full);
  BOOST_TEST(value_of<orset<std::string>>(*n.sys, r)->contains("kept anyway"));
  auto client = make_storage_client(*n.sys, store);
  BOOST_TEST(eventually([&] {
    auto stored = storage::load<orset<std::string>>(*client, g);
    return stored && *stored && (*stored)->contains("kept anyway");
  }));
  failing->store(false);
  BOOST_TEST(bool(mutate(*n.sys, r, op("add", {"logged"}))));
}

BOOST_AUTO_TEST_CASE(a_replica_that_crashed_comes_back_with_every_acknowledged_mutation_from_its_log) {
  node n;
  auto store = ets_store(n, "crashed-replica");
  group_key g{"set", "replayed"};
  auto r = n.replica<orset<std::string>>("a", g, logged(store));
  std::set<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.insert("e" + std::to_string(i));
    BOOST_REQUIRE(mutate(*n.sys, r, op("add", {"e" + std::to_string(i)})));
  }
  BOOST_REQUIRE(mutate(*n.sys, r, op("remove", {"e7"})));
  expected.erase("e7");
  kill_replica(n, r);
  auto client = make_storage_client(*n.sys, store);
  BOOST_TEST(!client->load(g)->has_value());  // no snapshot: everything is in the log
  BOOST_TEST(log_of(n, store, g).size() == 51u);
  auto again = n.replica<orset<std::string>>("a", g, logged(store));
  BOOST_TEST((value_of<orset<std::string>>(*n.sys, again)->value() == expected));
  // Its new entries are numbered after the old ones, so none replaces an entry it did not make.
  BOOST_REQUIRE(mutate(*n.sys, again, op("add", {"after restart"})));
  auto log = log_of(n, store, g);
  BOOST_TEST(log.size() == 52u);
  BOOST_TEST(log.back().seq == 52u);
}

BOOST_AUTO_TEST_CASE(snapshots_truncate_the_log_and_a_log_past_its_bound_is_compacted_early) {
  node n;
  auto store = ets_store(n, "compacted");
  group_key g{"set", "compacted"}, unbounded{"set", "unbounded"};
  auto o = logged(store);
  o.max_log_bytes = 2048;
  auto r = n.replica<orset<std::string>>("a", g, o);
  auto big = logged(store);
  big.max_log_bytes = std::size_t{1} << 30;
  auto u = n.replica<orset<std::string>>("a", unbounded, big);
  for (int i = 0; i < 300; ++i) {
    BOOST_REQUIRE(mutate(*n.sys, r, op("add", {"element " + std::to_string(i)})));
    BOOST_REQUIRE(mutate(*n.sys, u, op("add", {"element " + std::to_string(i)})));
  }
  BOOST_TEST(stats_of(*n.sys, r).early_snapshots >= 1u);
  BOOST_TEST(stats_of(*n.sys, u).early_snapshots == 0u);
  BOOST_TEST(log_of(n, store, unbounded).size() == 300u);  // without a bound nothing compacts
  // The bounded log holds what came after the last snapshot: at most max(bound, snapshot) bytes
  // and the entry that crossed it.
  BOOST_REQUIRE(eventually([&] { return stats_of(*n.sys, r).snapshots == stats_of(*n.sys, r).early_snapshots; }));
  auto client = make_storage_client(*n.sys, store);
  auto snapshot_size = (*client->load(g))->size();
  std::size_t log_bytes = 0;
  auto log = log_of(n, store, g);
  for (const auto& e : log) log_bytes += e.delta.size();
  BOOST_TEST(log.size() < 300u);
  BOOST_TEST(log_bytes <= std::max<std::size_t>(2048, snapshot_size) + 200);
  // An explicit snapshot drops the whole log, and snapshot + log still hold every element.
  caf::scoped_actor self{*n.sys};
  self->request(r, std::chrono::seconds(10), snapshot_atom::value)
    .receive([](done_atom) {}, [](caf::error& e) { BOOST_FAIL(caf::to_string(e)); });
  BOOST_TEST(log_of(n, store, g).empty());
  BOOST_TEST((*storage::load<orset<std::string>>(*client, g))->size() == 300u);
}

BOOST_AUTO_TEST_CASE(a_damaged_log_entry_costs_only_itself_and_other_groups_load) {
  temp_dir dir;
  storage::dets_options d;
  d.file = dir.file("damaged.grove");
  group_key hurt{"set", "hurt"}, fine{"set", "fine"};
  {
    auto b = storage::open_dets(d);
    BOOST_REQUIRE(b);
    orset<std::string> s("old@1");
    for (const auto* e : {"one", "two", "three"}) {
      s.add(e);
      BOOST_REQUIRE((*b)->append(hurt, (*b)->read_log(hurt)->size() + 1, crdt::encode(s.delta())));
      BOOST_REQUIRE((*b)->append(fine, (*b)->read_log(fine)->size() + 1, crdt::encode(s.delta())));
      s.reset_delta();
    }
    auto good = (*b)->read_log(hurt)->at(1).delta;
    good[good.size() / 2] ^= 0x40;  // one flipped bit in entry 2: its checksum no longer matches
    BOOST_REQUIRE((*b)->append(hurt, 2, good));
  }
  node n;
  auto store = spawn_storage_actor(*n.sys, std::move(*storage::open_dets(d)));
  n.owned.push_back(caf::actor_cast<caf::actor>(store));
  auto r_hurt = n.replica<orset<std::string>>("a", hurt, logged(store));
  auto r_fine = n.replica<orset<std::string>>("a", fine, logged(store));
  BOOST_TEST((value_of<orset<std::string>>(*n.sys, r_hurt)->value() == std::set<std::string>{"one", "three"}));
  BOOST_TEST(stats_of(*n.sys, r_hurt).errors == 1u);
  BOOST_TEST((value_of<orset<std::string>>(*n.sys, r_fine)->value() == std::set<std::string>{"one", "two", "three"}));
  BOOST_TEST(stats_of(*n.sys, r_fine).errors == 0u);
  // The damaged entry's number is not reused.
  BOOST_REQUIRE(mutate(*n.sys, r_hurt, op("add", {"four"})));
  BOOST_TEST(log_of(n, store, hurt).back().seq == 4u);
}

BOOST_AUTO_TEST_CASE(appends_of_many_groups_share_commits_of_a_durable_store) {
  temp_dir dir;
  storage::dets_options d;
  d.file = dir.file("shared.grove");
  d.durable = true;
  node n;
  // A commit window, so that sharing does not hang on the order in which the scheduler runs the
  // replicas: without one, each replica's first append (all its waiting mutations) can reach the
  // store alone, and 8 appends make 8 commits (seen once on a loaded machine).
  auto store =
    spawn_storage_actor(*n.sys, std::move(*storage::open_dets(d)), with_commit_delay(std::chrono::milliseconds(500)));
  n.owned.push_back(caf::actor_cast<caf::actor>(store));
  std::vector<replica_actor> replicas;
  for (int i = 0; i < 8; ++i)
    replicas.push_back(n.replica<crdt::gcounter>("a", group_key{"counter", "c" + std::to_string(i)}, logged(store)));
  constexpr int per_group = 200;
  auto acknowledged = std::make_shared<std::atomic<int>>(0);
  n.sys->spawn(
    [=](caf::event_based_actor* client, int rounds) {
      for (int k = 0; k < rounds; ++k)
        for (auto& r : replicas)
          client->request(r, caf::infinite, mutate_atom::value, op("increment", {"1"})).then([=](done_atom) {
            ++*acknowledged;
          });
    },
    per_group);
  BOOST_REQUIRE(eventually([&] { return acknowledged->load() == per_group * 8; }));
  for (auto& r : replicas) BOOST_TEST(value_of<crdt::gcounter>(*n.sys, r)->value() == std::uint64_t{per_group});
  auto s = storage_stats_of(n, store);
  BOOST_TEST_MESSAGE(per_group * 8 << " mutations, " << s.appends << " appends, " << s.commits << " commits");
  BOOST_TEST(s.appends <= std::uint64_t{per_group * 8});  // mutations waiting together share an append
  BOOST_TEST(s.commits < s.appends);                      // and appends of several groups a commit
}

namespace {

void stop_replica(node& n, const replica_actor& r) {
  caf::scoped_actor self{*n.sys};
  self->send_exit(r, caf::exit_reason::user_shutdown);
  self->wait_for(r);
}

replication_options stored_in(const storage_actor& store) {
  replication_options o;
  o.storage = store;
  return o;
}

}  // namespace

// Every start takes a fresh incarnation, and the replica retires the ones of its replica id that
// went before it (pruning): once no element lives under an old incarnation's dots, nothing of it
// stays in the state but an expiring marker. Without pruning, each of the fifty starts that wrote
// stays an owner of the counter and an actor of the set's context.
BOOST_AUTO_TEST_CASE(fifty_restarts_leave_one_owner_once_old_incarnations_are_retired) {
  node n;
  auto store = ets_store(n, "restarts");
  group_key counter{"counter", "restarts"}, set{"set", "restarts"};
  auto owners = [&](const replica_actor& c, const replica_actor& s) {
    auto value = value_of<crdt::gcounter>(*n.sys, c);
    auto elements = value_of<orset<std::string>>(*n.sys, s);
    return std::make_pair(value->counts().size(), elements->kernel().context().actors().size());
  };
  for (int i = 0; i < 50; ++i) {
    auto c = n.replica<crdt::gcounter>("a", counter, stored_in(store));
    auto s = n.replica<orset<std::string>>("a", set, stored_in(store));
    BOOST_REQUIRE(mutate(*n.sys, c, op("increment")));
    if (i > 0) BOOST_REQUIRE(mutate(*n.sys, s, op("remove", {"e" + std::to_string(i - 1)})));
    BOOST_REQUIRE(mutate(*n.sys, s, op("add", {"e" + std::to_string(i)})));
    stop_replica(n, c);
    stop_replica(n, s);
  }
  auto c = n.replica<crdt::gcounter>("a", counter, stored_in(store));
  auto s = n.replica<orset<std::string>>("a", set, stored_in(store));
  BOOST_TEST(value_of<crdt::gcounter>(*n.sys, c)->value() == 50u);
  BOOST_TEST((value_of<orset<std::string>>(*n.sys, s)->value() == std::set<std::string>{"e49"}));
  // The counter folds every old share into the live incarnation's; the set keeps the incarnation
  // whose dot keeps e49 alive.
  BOOST_TEST(eventually([&] { return owners(c, s) == std::make_pair(std::size_t{1}, std::size_t{1}); }));
  BOOST_TEST(value_of<crdt::gcounter>(*n.sys, c)->value() == 50u);
}

// A replica never issues a dot twice: it stopped cleanly, started again, sent a peer dots and
// crashed before storing them; started once more from the same store, it must not make those dots
// again (the peer's merge would lose increments). Old incarnations are then retired at both.
BOOST_AUTO_TEST_CASE(a_replica_that_crashed_after_a_restart_issues_no_dot_twice) {
  node n;
  auto store = ets_store(n, "reused-once");
  group_key g{"counter", "reused-once"};
  auto peer = n.replica<crdt::gcounter>("b", g);
  auto a = n.replica<crdt::gcounter>("a", g, stored_in(store));
  BOOST_REQUIRE(mutate(*n.sys, a, op("increment", {"1"})));
  stop_replica(n, a);  // clean: final state stored
  a = n.replica<crdt::gcounter>("a", g, stored_in(store));
  BOOST_REQUIRE(mutate(*n.sys, a, op("increment", {"10"})));
  BOOST_REQUIRE(eventually([&] { return value_of<crdt::gcounter>(*n.sys, peer)->value() == 11u; }));
  kill_replica(n, a);  // the 10 is only at the peer now
  a = n.replica<crdt::gcounter>("a", g, stored_in(store));
  BOOST_REQUIRE(mutate(*n.sys, a, op("increment", {"100"})));
  BOOST_TEST(eventually([&] { return value_of<crdt::gcounter>(*n.sys, a)->value() == 111u; }));
  BOOST_TEST(eventually([&] { return value_of<crdt::gcounter>(*n.sys, peer)->value() == 111u; }));
  auto owners = [&](const replica_actor& r) { return value_of<crdt::gcounter>(*n.sys, r)->counts().size(); };
  BOOST_TEST(eventually([&] { return owners(a) == 1u && owners(peer) == 1u; }));
  BOOST_TEST(value_of<crdt::gcounter>(*n.sys, a)->value() == 111u);
  BOOST_TEST(value_of<crdt::gcounter>(*n.sys, peer)->value() == 111u);
}
