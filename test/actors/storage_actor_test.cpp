// The storage actor: the storage contract suite through it, group commit, flush on exit, and a
// client on another actor system reaching it over the io middleman.
#define BOOST_TEST_MODULE storage_actor
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/storage_actor.hpp"
#include "grove/actors/storage_client.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/actor_system.hpp"
#include "support/forwarding_backend.hpp"
#include "support/gated_backend.hpp"
#include "support/storage_flavors.hpp"

namespace {

// One actor system for the whole test module, created and destroyed by a global fixture (an actor
// system must not be a static: CAF's own statics may be gone when it is destroyed at exit).
caf::actor_system* the_system = nullptr;

struct system_fixture {
  grove::testing::test_config cfg;
  caf::actor_system sys{cfg};
  system_fixture() { the_system = &sys; }
  ~system_fixture() { the_system = nullptr; }
};

caf::actor_system& shared_system() { return *the_system; }

// A client that stops its storage actor when it goes away.
class owning_client final : public grove::testing::forwarding_backend {
public:
  owning_client(caf::actor_system& sys, grove::actors::storage_actor actor)
      : forwarding_backend(grove::actors::make_storage_client(sys, actor), ""), actor_(actor) {}
  ~owning_client() override { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }

private:
  grove::actors::storage_actor actor_;
};

template <class Inner>
struct through_actor {
  static std::unique_ptr<grove::storage::backend> open(const grove::testing::temp_dir& dir) {
    auto& sys = shared_system();
    return std::make_unique<owning_client>(sys, grove::actors::spawn_storage_actor(sys, Inner::open(dir)));
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(system_fixture);

using contract_flavors =
  boost::mpl::list<through_actor<grove::testing::ets_flavor>, through_actor<grove::testing::dets_flavor<true>>>;

#include "storage/contract_cases.hpp"

using namespace grove::actors;
using grove::storage::dets_options;
using grove::storage::open_dets;
using grove::testing::gated_backend;
using grove::testing::temp_dir;

BOOST_AUTO_TEST_CASE(group_commit_joins_concurrent_durable_saves_and_answers_everyone) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("commit.grove");
  opts.durable = true;
  auto& sys = shared_system();
  auto actor = spawn_storage_actor(sys, std::move(*open_dets(opts)));
  constexpr int requesters = 8, saves_each = 50;
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < requesters; ++t) {
    threads.emplace_back([&, t] {
      auto client = make_storage_client(sys, actor);
      for (int i = 0; i < saves_each; ++i) {
        auto ok = client->save(group_key{"counter", "r" + std::to_string(t)}, std::to_string(i));
        ++(ok ? answered : failed);
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(answered.load() == requesters * saves_each);
  BOOST_TEST(failed.load() == 0);
  caf::scoped_actor self{sys};
  storage_stats stats;
  self->request(actor, std::chrono::seconds(10), stats_atom::value)
    .receive([&](storage_stats& s) { stats = s; }, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
  BOOST_TEST_MESSAGE("saves " << stats.saves << ", commits " << stats.commits);
  BOOST_TEST(stats.saves == std::uint64_t{requesters * saves_each});
  BOOST_TEST(stats.commits < stats.saves);
  BOOST_TEST(stats.errors == 0u);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

// Without a window, a save's commit is queued behind the messages already in the mailbox: a save
// sent after the answer to a request sent after the first save lands in a second commit. With a
// window both wait for it (here: until a flush ends it) and share one commit.
BOOST_AUTO_TEST_CASE(a_commit_window_puts_writes_that_arrive_within_it_into_one_commit) {
  auto& sys = shared_system();
  for (auto window : {std::chrono::milliseconds(0), std::chrono::milliseconds(60'000)}) {
    BOOST_TEST_CONTEXT("commit_delay " << window.count() << " ms") {
      temp_dir dir;
      dets_options opts;
      opts.file = dir.file("window.grove");
      opts.durable = true;
      auto actor = spawn_storage_actor(sys, std::move(*open_dets(opts)), with_commit_delay(window));
      caf::scoped_actor self{sys};
      auto stats = [&] {
        storage_stats out;
        self->request(actor, std::chrono::seconds(10), stats_atom::value)
          .receive([&](storage_stats& s) { out = s; }, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
        return out;
      };
      self->send(actor, save_atom::value, group_key{"k", "first"}, grove::bytes("1"));
      BOOST_TEST(stats().saves == 1u);
      self->send(actor, save_atom::value, group_key{"k", "second"}, grove::bytes("2"));
      self->request(actor, std::chrono::seconds(10), flush_atom::value)
        .receive([](done_atom) {}, [&](caf::error& e) { BOOST_FAIL(sys.render(e)); });
      int answered = 0;
      self->receive_for(answered, 2)([](done_atom) {});
      BOOST_TEST(stats().commits == (window.count() == 0 ? 2u : 1u));
      auto client = make_storage_client(sys, actor);
      BOOST_TEST((*client->load(group_key{"k", "second"}) == std::optional<grove::bytes>("2")));
      self->send_exit(actor, caf::exit_reason::user_shutdown);
    }
  }
}

BOOST_AUTO_TEST_CASE(errors_go_back_to_the_requester_and_the_actor_keeps_serving) {
  auto& sys = shared_system();
  temp_dir dir;
  auto actor = spawn_storage_actor(sys, grove::testing::ets_flavor::open(dir));
  auto client = make_storage_client(sys, actor);
  auto bad = client->save(group_key{"bad kind!", "x"}, "v");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().code() == errc::invalid_argument);
  BOOST_TEST(bad.error().message().find("kind") != std::string::npos);
  BOOST_TEST(bool(client->save(group_key{"good", "x"}, "v")));
  BOOST_TEST(**client->load(group_key{"good", "x"}) == "v");
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(on_exit_the_actor_commits_and_closes_its_backend) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("exit.grove");
  opts.auto_save = std::chrono::hours(1);  // only the exit can flush
  auto& sys = shared_system();
  {
    auto actor = spawn_storage_actor(sys, std::move(*open_dets(opts)));
    auto client = make_storage_client(sys, actor);
    BOOST_REQUIRE(client->save(group_key{"counter", "c"}, "flushed on exit"));
    caf::scoped_actor self{sys};
    self->send_exit(actor, caf::exit_reason::user_shutdown);
    self->wait_for(actor);
  }
  // The file is closed: another process could open it for writing; here, a fresh open sees it.
  auto reopened = open_dets(opts);
  BOOST_REQUIRE(reopened);
  BOOST_TEST(**(*reopened)->load(group_key{"counter", "c"}) == "flushed on exit");
}

BOOST_AUTO_TEST_CASE(a_client_on_another_actor_system_uses_it_over_the_middleman) {
  temp_dir dir;
  grove::testing::test_config server_cfg, client_cfg;
  auto server = std::make_unique<caf::actor_system>(server_cfg);
  auto client_sys = std::make_unique<caf::actor_system>(client_cfg);
  {
    auto actor = spawn_storage_actor(*server, grove::testing::dets_flavor<true>::open(dir));
    auto port = server->middleman().publish(actor, 0, "127.0.0.1", true);
    BOOST_REQUIRE(port);
    {
      auto remote = client_sys->middleman().remote_actor<storage_actor>("127.0.0.1", *port);
      BOOST_REQUIRE(remote);
      auto client = make_storage_client(*client_sys, *remote, std::chrono::seconds(10));
      BOOST_TEST(bool(client->save(group_key{"counter", "remote"}, "from another node")));
      BOOST_TEST(**client->load(group_key{"counter", "remote"}) == "from another node");
      BOOST_TEST(client->list_groups()->size() == 1u);
      BOOST_TEST(!client->load(group_key{"counter", "absent"})->has_value());
      auto bad = client->save(group_key{"", "x"}, "v");
      BOOST_REQUIRE(!bad);
      BOOST_TEST(bad.error().code() == errc::invalid_argument);  // the grove error crossed the wire
    }
    // Stop the networked actor and drop every handle before its system goes (probe Q1).
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
  client_sys.reset();
  server.reset();
}

namespace {

// A storage actor over an in-memory table that takes values of at most 100 bytes, behind a gate.
storage_actor gated_storage(const std::string& table, std::shared_ptr<gated_backend::control> c) {
  grove::storage::ets_options o;
  o.table = table;
  o.max_value_size = 100;
  return spawn_storage_actor(shared_system(),
                             std::make_unique<gated_backend>(std::move(*grove::storage::open_ets(o)), c));
}

// The next answer to a plain send: ok, or the grove error code it carried.
std::optional<errc> next_answer(caf::scoped_actor& self) {
  std::optional<errc> out;
  self->receive([](done_atom) {}, [&](caf::error& e) { out = from_caf_error(e).code(); },
                caf::after(std::chrono::seconds(10)) >> [&] { out = errc::unavailable; });
  return out;
}

// Makes the actor commit one save ("first") and holds that commit at the gate, so that what the
// test sends next waits in the actor's mailbox until the gate opens.
void hold_a_commit(caf::scoped_actor& self, const storage_actor& actor, gated_backend::control& gate) {
  gate.close();
  self->send(actor, save_atom::value, group_key{"counter", "first"}, grove::bytes("held at the gate"));
  gate.wait_until_inside();
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_oversized_save_fails_alone_in_a_group_commit_and_is_never_served) {
  auto gate = std::make_shared<gated_backend::control>();
  auto actor = gated_storage("oversized-in-commit", gate);
  caf::scoped_actor self{shared_system()};
  hold_a_commit(self, actor, *gate);
  // These wait behind the held commit and then meet in one commit; the load comes before it ran.
  self->send(actor, save_atom::value, group_key{"counter", "a"}, grove::bytes("fine"));
  self->send(actor, save_atom::value, group_key{"counter", "big"}, grove::bytes(1000, 'x'));
  self->send(actor, save_atom::value, group_key{"counter", "b"}, grove::bytes("also fine"));
  self->send(actor, load_atom::value, group_key{"counter", "big"});
  gate->open();
  BOOST_TEST(!next_answer(self));  // first
  load_result big_loaded{true, "?", {}};
  std::vector<std::optional<errc>> saves;
  for (int i = 0; i < 4; ++i)
    self->receive([&](done_atom) { saves.emplace_back(); },
                  [&](caf::error& e) { saves.emplace_back(from_caf_error(e).code()); },
                  [&](load_result& r) { big_loaded = r; },
                  caf::after(std::chrono::seconds(10)) >> [&] { saves.emplace_back(errc::unavailable); });
  BOOST_REQUIRE_EQUAL(saves.size(), 3u);
  BOOST_TEST(!saves[0]);                      // a
  BOOST_TEST((saves[1] == errc::too_large));  // big, alone
  BOOST_TEST(!saves[2]);                      // b
  BOOST_TEST(!big_loaded.found);              // the refused value was never served
  {
    std::lock_guard<std::mutex> lock(gate->mutex);
    BOOST_TEST((gate->batches == std::vector<std::size_t>{1, 3, 1, 1, 1}));  // joint, then each alone
  }
  auto client = make_storage_client(shared_system(), actor);
  BOOST_TEST(**client->load(group_key{"counter", "b"}) == "also fine");
  BOOST_TEST(!client->load(group_key{"counter", "big"})->has_value());
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_client_save_batch_is_all_or_nothing) {
  auto gate = std::make_shared<gated_backend::control>();
  auto actor = gated_storage("client-batch", gate);
  auto client = make_storage_client(shared_system(), actor);
  auto r =
    client->save_batch({{group_key{"counter", "ok"}, "small"}, {group_key{"counter", "big"}, grove::bytes(1000, 'x')}});
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == errc::too_large);
  BOOST_TEST(!client->load(group_key{"counter", "ok"})->has_value());  // nothing of the batch stored
  BOOST_TEST(bool(client->save_batch({{group_key{"counter", "ok"}, "small"}, {group_key{"counter", "ok2"}, "small"}})));
  BOOST_TEST(client->list_groups()->size() == 2u);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(saves_handled_before_an_exit_message_are_committed_and_answered) {
  auto gate = std::make_shared<gated_backend::control>();
  auto actor = gated_storage("exit-commit", gate);
  caf::scoped_actor self{shared_system()};
  hold_a_commit(self, actor, *gate);
  // Handled after the held commit; their commit message queues behind the exit, so they are still
  // waiting when the exit is handled.
  self->send(actor, save_atom::value, group_key{"counter", "a"}, grove::bytes("1"));
  self->send(actor, save_atom::value, group_key{"counter", "b"}, grove::bytes("2"));
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  gate->open();
  for (int i = 0; i < 3; ++i) BOOST_TEST(!next_answer(self));
  self->wait_for(actor);
  {
    std::lock_guard<std::mutex> lock(gate->mutex);
    BOOST_TEST((gate->batches == std::vector<std::size_t>{1, 2}));  // a and b, committed on exit
  }
  grove::storage::ets_options o;
  o.table = "exit-commit";
  auto table = std::move(*grove::storage::open_ets(o));
  BOOST_TEST(**table->load(group_key{"counter", "b"}) == "2");
}
