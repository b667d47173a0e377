// Durability log under kill -9: a child process runs a lone node (no peers) whose replicas log
// every mutation before acknowledging it; a client keeps 64 mutations in flight and reports each
// one through a pipe before it sends it and again once it is acknowledged. The parent kills the
// child at a random moment, reopens the file, and checks that every acknowledged mutation is
// there and nothing that was never sent. The next round restarts from that file (the replica
// replays the log), so a replay that lost anything would show in a later round.
//
// The parent never starts an actor system: it forks, and CAF's threads must not exist then.
#define BOOST_TEST_MODULE durability_crash
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <set>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grove/actors/replication.hpp"
#include "grove/crdt/all.hpp"
#include "grove/storage/dets_backend.hpp"
#include "support/actor_system.hpp"
#include "support/temp_dir.hpp"

using namespace grove;
using namespace grove::actors;
using grove::testing::temp_dir;

namespace {

const storage::group_key set_group{"set", "acked"};
const storage::group_key counter_group{"counter", "acked"};

// What the child writes to the pipe: 'S' before it sends mutation `id`, 'A' once it is acknowledged.
struct report {
  char what;
  std::uint64_t id;
};

constexpr int in_flight = 64;

// Child: a lone node that adds "<id>" to the set and 1 to the counter for each id, forever,
// keeping `in_flight` mutations unanswered.
[[noreturn]] void mutate_forever(const std::string& file, std::uint64_t first_id, int pipe_out) {
  grove::testing::test_config cfg;
  caf::actor_system sys{cfg};
  storage::dets_options d;
  d.file = file;
  d.durable = true;
  auto backend = storage::open_dets(d);
  if (!backend) ::_exit(3);
  auto store = spawn_storage_actor(sys, std::move(*backend));
  auto replica_of = [&](auto* type, const storage::group_key& g) {
    replication_options o;
    o.replica_id = "lone";
    o.group = g;
    o.storage = store;
    o.durability = durability_mode::log;
    o.snapshot_interval = std::chrono::milliseconds(40);  // snapshots and truncations all the time
    o.max_log_bytes = 4096;                               // and early ones
    auto r = spawn_replica<std::remove_pointer_t<decltype(type)>>(sys, o);
    if (!r) ::_exit(4);
    return *r;
  };
  auto set = replica_of(static_cast<crdt::orset<std::string>*>(nullptr), set_group);
  auto counter = replica_of(static_cast<crdt::gcounter*>(nullptr), counter_group);
  auto tell = [pipe_out](char what, std::uint64_t id) {
    report r{what, id};
    if (::write(pipe_out, &r, sizeof r) != sizeof r) ::_exit(5);
  };
  // The client: each pair of acknowledgements (set and counter) frees a slot for a new mutation.
  // (Spawned with an argument: CAF 0.17 dereferences a null tuple for a function without any.)
  sys.spawn(
    [=](caf::event_based_actor* client, std::uint64_t first) {
      auto next = std::make_shared<std::uint64_t>(first);
      auto send_one = std::make_shared<std::function<void()>>();
      *send_one = [=] {
        auto id = (*next)++;
        tell('S', id);
        auto replies = std::make_shared<int>(0);
        auto on_ack = [=](done_atom) {
          if (++*replies < 2) return;
          tell('A', id);
          (*send_one)();
        };
        auto on_error = [](caf::error&) { ::_exit(6); };
        client->request(set, caf::infinite, mutate_atom::value, crdt::operation{"add", {std::to_string(id)}})
          .then(on_ack, on_error);
        client->request(counter, caf::infinite, mutate_atom::value, crdt::operation{"increment", {"1"}})
          .then(on_ack, on_error);
      };
      for (int i = 0; i < in_flight; ++i) (*send_one)();
    },
    first_id);
  for (;;) ::pause();  // until SIGKILL
}

}  // namespace

namespace {

struct round_outcome {
  std::set<std::uint64_t> sent, acked;
};

// Runs one child until `window` after its first acknowledgement (the replicas have loaded the
// store by then), kills it with SIGKILL, and collects what it reported.
round_outcome run_and_kill(const std::string& file, std::uint64_t first_id, std::chrono::milliseconds window) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    mutate_forever(file, first_id, fds[1]);
  }
  ::close(fds[1]);
  round_outcome out;
  auto read_reports = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    while (::poll(&p, 1, timeout_ms) > 0) {
      report r;
      auto n = ::read(fds[0], &r, sizeof r);
      if (n != sizeof r) return false;  // closed: the child is gone
      (r.what == 'S' ? out.sent : out.acked).insert(r.id);
    }
    return true;
  };
  auto started = std::chrono::steady_clock::now();
  while (out.acked.empty() && std::chrono::steady_clock::now() < started + std::chrono::seconds(60))
    if (!read_reports(5)) break;
  auto deadline = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < deadline)
    if (!read_reports(1)) break;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                        "the child ended by itself (status " << status << ") before the kill");
  read_reports(0);
  ::close(fds[0]);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_acknowledged_mutation_survives_kill_9_and_nothing_unsent_appears) {
  temp_dir dir;
  auto file = dir.file("lone.grove");
  auto seed = std::random_device{}();
  std::mt19937 rng(seed);
  BOOST_TEST_MESSAGE("seed " << seed);
  std::set<std::uint64_t> sent, acked;
  int rounds_with_acks = 0;
  for (int round = 0; round < 20; ++round) {
    auto window = std::chrono::milliseconds(rng() % 60);
    auto outcome = run_and_kill(file, std::uint64_t(round) * 10'000'000, window);
    sent.insert(outcome.sent.begin(), outcome.sent.end());
    acked.insert(outcome.acked.begin(), outcome.acked.end());
    rounds_with_acks += !outcome.acked.empty();

    storage::dets_options d;
    d.file = file;
    d.read_only = true;
    auto b = storage::open_dets(d);
    if (!b) BOOST_FAIL("round " << round << ": the store does not open: " << b.error().to_string());
    auto set = storage::load<crdt::orset<std::string>>(**b, set_group);
    auto counter = storage::load<crdt::gcounter>(**b, counter_group);
    BOOST_REQUIRE_MESSAGE(set && counter, "round " << round << ": a group does not load (seed " << seed << ")");
    std::set<std::uint64_t> present;
    if (*set)
      for (const auto& e : (*set)->value()) present.insert(std::stoull(e));
    std::uint64_t total = *counter ? (*counter)->value() : 0;
    std::size_t missing = 0, unsent = 0;
    for (auto id : acked) missing += present.count(id) == 0;
    for (auto id : present) unsent += sent.count(id) == 0;
    BOOST_TEST_MESSAGE("round " << round << ": " << outcome.acked.size() << " acknowledged, " << present.size()
                                << " in the set, counter " << total);
    BOOST_REQUIRE_MESSAGE(
      missing == 0, "round " << round << ": " << missing << " acknowledged adds are missing (seed " << seed << ")");
    BOOST_REQUIRE_MESSAGE(
      unsent == 0, "round " << round << ": " << unsent << " adds that were never sent appear (seed " << seed << ")");
    BOOST_REQUIRE_MESSAGE(total >= acked.size() && total <= sent.size(),
                          "round " << round << ": counter " << total << " outside [" << acked.size() << ", "
                                   << sent.size() << "] (seed " << seed << ")");
  }
  BOOST_TEST(rounds_with_acks == 20);  // every kill came while mutations flowed
}
