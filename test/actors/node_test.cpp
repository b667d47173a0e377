// The one entry for applications (grove/actors/node.hpp, node_config.hpp): grove.* options from
// command-line arguments and from a config file, errors with their reason (bad options, a store
// that cannot be opened, a credential problem, a configuration that was not prepared), two nodes
// that replicate through it, events, hosting, the kinds of groups, and a clean stop that a restart
// finds (with progress reports while the store loads).
#define BOOST_TEST_MODULE node
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "grove/crdt/all.hpp"
#include "node_flags.hpp"
#include "support/actor_system.hpp"
#include "support/replication.hpp"
#include "support/running_node.hpp"
#include "support/temp_dir.hpp"

using namespace grove;
using namespace grove::actors;
using namespace grove::testing;
using kind = node_event::kind;

namespace {

const std::string cluster_secret = "q3Jf0b8cZ1mS9xWm2rK7tA4vN6yH5uE1pL0oI8dG3sQ=";

// Every grove.* option set to something other than its default, as arguments and as a config file.
const std::vector<std::string> every_option_as_arguments{"--grove.name=n1",
                                                         "--grove.address=127.0.0.2",
                                                         "--grove.port=4711",
                                                         "--grove.peer=[\"127.0.0.1:1\", \"localhost:2\"]",
                                                         "--grove.store=ets",
                                                         "--grove.data=/tmp/elsewhere",
                                                         "--grove.durable",
                                                         "--grove.sync-interval=50",
                                                         "--grove.snapshot-interval=70",
                                                         "--grove.max-groups=3",
                                                         "--grove.on-demand",
                                                         "--grove.tombstone-lifetime=60",
                                                         "--grove.insecure",
                                                         "--grove.metrics=127.0.0.1:0",
                                                         "--grove.progress-interval=0"};
const std::string every_option_as_ini = R"([grove]
name = "n1"
address = "127.0.0.2"
port = 4711
peer = ["127.0.0.1:1", "localhost:2"]
store = "ets"
data = "/tmp/elsewhere"
durable = true
sync-interval = 50
snapshot-interval = 70
max-groups = 3
on-demand = true
tombstone-lifetime = 60
insecure = true
metrics = "127.0.0.1:0"
progress-interval = 0
)";

// The options a configuration prepares from `args` and `ini`, or the error.
expected<node_options> prepared_options(std::vector<std::string> args, const std::string& ini = "") {
  test_node_config cfg;
  std::istringstream in(ini);
  if (auto err = cfg.parse(std::move(args), in)) return from_caf_error(err);
  return cfg.options();
}

std::string error_of(std::vector<std::string> args, const std::string& ini = "") {
  auto o = prepared_options(std::move(args), ini);
  return o ? "" : o.error().to_string();
}

std::string write_file(const temp_dir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text << "\n";
  return dir.file(name);
}

std::vector<std::string> node_args(const std::string& name, const std::string& data,
                                   std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--grove.name=" + name, "--grove.data=" + data, "--grove.sync-interval=20"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::uint64_t counter_value(caf::actor_system& sys, const replica_actor& r) {
  auto c = value_of<crdt::gcounter>(sys, r);
  return c ? c->value() : 0;
}

bool set_holds(caf::actor_system& sys, const replica_actor& r, const std::vector<std::string>& elements) {
  auto s = value_of<crdt::orset<std::string>>(sys, r);
  if (!s) return false;
  for (const auto& e : elements)
    if (!s->contains(e)) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(arguments_and_a_config_file_give_the_same_options_and_arguments_win) {
  auto from_args = prepared_options(every_option_as_arguments);
  auto from_ini = prepared_options({}, every_option_as_ini);
  BOOST_REQUIRE_MESSAGE(from_args, (from_args ? "" : from_args.error().to_string()));
  BOOST_REQUIRE_MESSAGE(from_ini, (from_ini ? "" : from_ini.error().to_string()));
  BOOST_TEST((*from_args == *from_ini));
  BOOST_TEST((*from_args != node_options{}));  // every field was read, none is its default
  node_options defaults;
  defaults.name = "n1";
  defaults.data = "./grove-data/n1";
  BOOST_TEST((*prepared_options({"--grove.name=n1"}) == defaults));
  BOOST_TEST(from_ini->peers == (std::vector<std::string>{"127.0.0.1:1", "localhost:2"}));
  BOOST_TEST(from_ini->sync_interval.count() == 50);
  BOOST_TEST((from_ini->store == store_kind::ets));
  auto both = prepared_options({"--grove.port=99"}, every_option_as_ini);
  BOOST_REQUIRE(both);
  BOOST_TEST(both->port == 99);
}

// grove-node's flags (tools/node_flags.hpp) are the same options: every option in its flag form
// gives what the config file gives, and every declared option has a flag.
BOOST_AUTO_TEST_CASE(grove_node_flags_translate_one_to_one_to_the_grove_options) {
  const std::vector<std::string> every_option_as_flags{"--name",
                                                       "n1",
                                                       "--address",
                                                       "127.0.0.2",
                                                       "--port",
                                                       "4711",
                                                       "--peer",
                                                       "127.0.0.1:1",
                                                       "--peer=localhost:2",
                                                       "--store",
                                                       "ets",
                                                       "--data",
                                                       "/tmp/elsewhere",
                                                       "--durable",
                                                       "--sync-interval",
                                                       "50",
                                                       "--snapshot-interval=70",
                                                       "--max-groups",
                                                       "3",
                                                       "--on-demand",
                                                       "--tombstone-lifetime",
                                                       "60",
                                                       "--insecure",
                                                       "--metrics",
                                                       "127.0.0.1:0",
                                                       "--progress-interval",
                                                       "0",
                                                       "--json"};
  auto translated = tools::translate_flags(every_option_as_flags);
  BOOST_REQUIRE(translated);
  BOOST_TEST(translated->json);
  auto from_flags = prepared_options(translated->caf_args);
  auto from_ini = prepared_options({}, every_option_as_ini);
  BOOST_REQUIRE_MESSAGE(from_flags, (from_flags ? "" : from_flags.error().to_string()));
  BOOST_REQUIRE(from_ini);
  BOOST_TEST((*from_flags == *from_ini));
  for (const auto& o : node_option_infos())
    BOOST_TEST(tools::node_usage().find("--" + o.name) != std::string::npos, o.name);
  // A value with quotes or an empty one reaches the option as it is.
  auto quoted = tools::translate_flags({"--name", "n", "--data", "\"odd\" dir", "--tls-ca", ""});
  BOOST_REQUIRE(quoted);
  test_node_config cfg;
  BOOST_REQUIRE(!cfg.parse(quoted->caf_args));
  BOOST_TEST(caf::get<std::string>(cfg, "grove.data") == "\"odd\" dir");
  BOOST_TEST(!tools::translate_flags({"--port"}));          // no value
  BOOST_TEST(!tools::translate_flags({"--durable=true"}));  // a flag takes none
}

BOOST_AUTO_TEST_CASE(bad_options_come_back_with_their_name_and_reason) {
  BOOST_TEST(error_of({}).find("grove.name") != std::string::npos);
  BOOST_TEST(error_of({"--grove.name=../x"}).find("grove.name") != std::string::npos);
  BOOST_TEST(error_of({"--grove.name=a", "--grove.store=tape"}).find("grove.store: 'tape'") != std::string::npos);
  BOOST_TEST(error_of({"--grove.name=a", "--grove.sync-interval=0"}).find("grove.sync-interval") != std::string::npos);
  BOOST_TEST(error_of({"--grove.name=a", "--grove.peer=[\"nowhere\"]"}).find("is not HOST:PORT") != std::string::npos);
  BOOST_TEST(error_of({"--grove.name=a", "--grove.metrics=:9"}).find("grove.metrics") != std::string::npos);
  BOOST_TEST(error_of({"--grove.name=a", "--grove.tls-passphrase-file=p"}).find("needs grove.tls-key")
             != std::string::npos);
  // CAF 0.17 drops an INI value of the wrong type without a word: here it is an error.
  auto wrong_type = error_of({}, "[grove]\nname=\"a\"\nport=\"4000\"\n");
  BOOST_TEST(wrong_type.find("grove.port") != std::string::npos, wrong_type);
  auto typo = error_of({}, "[grove]\nname=\"a\"\nprot=4000\n");
  BOOST_TEST(typo.find("grove.prot") != std::string::npos, typo);
  auto exposed = error_of({"--grove.name=a", "--grove.address=0.0.0.0"});
  BOOST_TEST(exposed.find("refusing to listen on 0.0.0.0 in plaintext") != std::string::npos, exposed);
  BOOST_TEST(error_of({"--grove.name=a", "--openssl.certificate=x.pem"}).find("instead of CAF's openssl")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(credential_problems_come_back_from_parse_before_the_actor_system_exists) {
  temp_dir dir;
  auto short_secret = write_file(dir, "short", "s3cret");
  auto e = error_of({"--grove.name=a", "--grove.secret-file=" + short_secret});
  BOOST_TEST(e.find("invalid_argument") == 0u, e);
  BOOST_TEST(e.find("at least 32 are needed") != std::string::npos, e);
  BOOST_TEST(e.find("s3cret") == std::string::npos);  // never the secret
  auto missing = error_of({"--grove.name=a", "--grove.secret-file=" + dir.file("absent")});
  BOOST_TEST(missing.find("io_error") == 0u, missing);
  auto incomplete = error_of({"--grove.name=a", "--grove.tls-ca=" + dir.file("ca.pem")});
  BOOST_TEST(incomplete.find("TLS needs a certificate") != std::string::npos, incomplete);
  test_node_config cfg;
  BOOST_REQUIRE(!cfg.parse(
    std::vector<std::string>{"--grove.name=a", "--grove.secret-file=" + write_file(dir, "s", cluster_secret)}));
  BOOST_TEST((cfg.transport().mode == transport_mode::secret));
  BOOST_TEST(!cfg.transport().ca_fingerprint.empty());
}

BOOST_AUTO_TEST_CASE(start_refuses_what_it_cannot_run_and_leaves_nothing_running) {
  temp_dir dir;
  // A store that cannot be opened: its directory is a file.
  write_file(dir, "file", "not a directory");
  running_node blocked(node_args("a", dir.file("file")));
  BOOST_REQUIRE(!blocked.node);
  BOOST_TEST(blocked.node.error().to_string().find("io_error: cannot create") == 0u, blocked.node.error().to_string());
  // A port another node holds.
  running_node first(node_args("a", dir.file("a")));
  BOOST_REQUIRE(first.node);
  running_node second(node_args("b", dir.file("b"), {"--grove.port=" + std::to_string(first->port())}));
  BOOST_REQUIRE(!second.node);
  BOOST_TEST((second.node.error().code() == errc::unavailable), second.node.error().to_string());
  // A configuration that is no node_config, or that was changed after it was prepared.
  {
    caf::actor_system_config plain;
    plain.set("scheduler.max-threads", 2);
    caf::actor_system sys{plain};
    auto n = node::start(sys);
    BOOST_REQUIRE(!n);
    BOOST_TEST(n.error().message().find("no grove::actors::node_config") != std::string::npos);
  }
  {
    test_node_config cfg;
    BOOST_REQUIRE(!cfg.parse(std::vector<std::string>{"--grove.name=c", "--grove.store=ets"}));
    cfg.set("grove.max-groups", 7);
    caf::actor_system sys{cfg};
    auto n = node::start(sys);
    BOOST_REQUIRE(!n);
    BOOST_TEST(n.error().message().find("changed after the configuration was prepared") != std::string::npos);
  }
  {
    test_node_config cfg;  // never parsed
    cfg.set("grove.name", "d");
    caf::actor_system sys{cfg};
    auto n = node::start(sys);
    BOOST_REQUIRE(!n);
    BOOST_TEST(n.error().message().find("was not prepared") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(two_nodes_replicate_a_counter_and_a_set_and_a_restart_finds_the_final_snapshots) {
  temp_dir dir;
  {
    running_node a(node_args("a", dir.file("a")));
    running_node b(node_args("b", dir.file("b"), {"--grove.peer=127.0.0.1:" + std::to_string(a->port())}));
    BOOST_TEST(b.events->wait_for(kind::connected).has_value());
    BOOST_TEST(a.events->wait_for(kind::peer_up).has_value());
    auto counter_a = a->replica({"counter", "views"});
    auto users_b = b->replica({"set", "users"});
    BOOST_REQUIRE(counter_a && users_b);
    BOOST_REQUIRE(mutate(*a.sys, *counter_a, {"increment", {"5"}}));
    BOOST_REQUIRE(mutate(*b.sys, *users_b, {"add", {"alice"}}));
    // Every node hosts every group of the cluster: each learns the other's group and hosts it.
    auto hosted = [](running_node& n, const std::string& g) {
      return n.events->wait_for([&](const node_event& e) { return e.what == kind::hosting && e.subject == g; });
    };
    BOOST_TEST(hosted(b, "counter:views").has_value());
    BOOST_TEST(hosted(a, "set:users").has_value());
    auto counter_b = b->find_replica({"counter", "views"});
    auto users_a = a->find_replica({"set", "users"});
    BOOST_REQUIRE(counter_b && users_a);
    BOOST_REQUIRE(mutate(*b.sys, *counter_b, {"increment", {"2"}}));
    BOOST_REQUIRE(mutate(*a.sys, *users_a, {"add", {"bob"}}));
    BOOST_TEST(
      eventually([&] { return counter_value(*a.sys, *counter_a) == 7 && counter_value(*b.sys, *counter_b) == 7; }));
    BOOST_TEST(eventually([&] {
      return set_holds(*a.sys, *users_a, {"alice", "bob"}) && set_holds(*b.sys, *users_b, {"alice", "bob"});
    }));
    BOOST_TEST(a->stats().nodes == 1u);
    BOOST_TEST(a->peers().members["counter:views"] == 2u);
    BOOST_TEST(bool(b->stop()));
    BOOST_TEST(bool(a->stop()));
    BOOST_TEST(bool(a->stop()));  // idempotent
  }
  // Restarted alone, with progress reported at every step: both groups come back from the store.
  running_node a(node_args("a", dir.file("a"), {"--grove.progress-interval=0"}));
  auto restored = a.events->wait_for(kind::restored);
  BOOST_REQUIRE(restored);
  BOOST_TEST(restored->done == 2u);
  auto progress = a.events->all(kind::progress);
  BOOST_REQUIRE(progress.size() == 2u);
  BOOST_TEST(progress[0].done == 1u);
  BOOST_TEST(progress[1].done == 2u);
  BOOST_TEST(progress[1].total == 2u);
  BOOST_TEST(progress[1].unit == "groups");
  BOOST_TEST(a->replicas().size() == 2u);
  BOOST_TEST(counter_value(*a.sys, a->replicas().at("counter:views")) == 7u);
  BOOST_TEST(set_holds(*a.sys, a->replicas().at("set:users"), {"alice", "bob"}));
}

BOOST_AUTO_TEST_CASE(loading_a_store_reports_progress_only_when_it_takes_longer_than_the_interval) {
  temp_dir dir;
  {
    running_node a(node_args("a", dir.file("a")));
    for (int i = 0; i < 20; ++i) BOOST_REQUIRE(a->replica({"counter", "c" + std::to_string(i)}));
  }
  running_node quick(node_args("a", dir.file("a"), {"--grove.progress-interval=60000"}));
  BOOST_REQUIRE(quick.events->wait_for(kind::restored));
  BOOST_TEST(quick.events->all(kind::progress).empty());
  quick.stop();
  running_node every_step(node_args("a", dir.file("a"), {"--grove.progress-interval=0"}));
  BOOST_REQUIRE(every_step.events->wait_for(kind::restored));
  auto progress = every_step.events->all(kind::progress);
  BOOST_REQUIRE(progress.size() == 20u);
  for (std::size_t i = 0; i < progress.size(); ++i) BOOST_TEST(progress[i].done == i + 1);
}

// A full state of more than progress_min_chunks chunks (a set of 6.4 MB that a node joining later
// receives) reports its progress on both sides, by tenths, ending with done == total.
BOOST_AUTO_TEST_CASE(a_large_transfer_reports_its_progress_on_both_sides) {
  temp_dir dir;
  running_node a(node_args("a", dir.file("a")));
  auto big = a->replica({"set", "big"});
  BOOST_REQUIRE(big);
  // Elements of random hex (the codec compresses: repeated bytes would make a small state).
  const std::uint64_t seed = 22;
  BOOST_TEST_MESSAGE("seed " << seed);
  std::mt19937_64 random(seed);
  auto element = [&] {
    std::string hex;
    for (int i = 0; i < 8; ++i) hex += (std::ostringstream() << std::hex << random()).str();
    return hex;
  };
  for (int batch = 0; batch < 50; ++batch) {
    std::vector<crdt::operation> adds;
    for (int i = 0; i < 1000; ++i) adds.push_back({"add", {element()}});
    caf::scoped_actor self{*a.sys};
    bool written = false;
    self->request(*big, 30s, mutate_atom::value, write_request{std::move(adds), {consistency_level::local, 5000}})
      .receive([&](replica_count&) { written = true; }, [](caf::error&) {});
    BOOST_REQUIRE(written);
  }
  running_node b(node_args("b", dir.file("b"), {"--grove.peer=127.0.0.1:" + std::to_string(a->port())}));
  auto finished = [](const std::string& direction) {
    return [direction](const node_event& e) {
      return e.what == kind::progress && e.detail == direction && e.subject == "set:big" && e.done == e.total;
    };
  };
  auto received = b.events->wait_for(finished("receiving"), 60s);
  BOOST_REQUIRE(received);
  BOOST_TEST(received->unit == "chunks");
  BOOST_TEST(received->total >= 8u);  // progress_min_chunks
  BOOST_TEST(a.events->wait_for(finished("sending"), 20s).has_value());
  // The reports of the transfer that completed (one that got no acknowledgement in time starts over
  // from its first chunk): each further along, at the first chunk, each tenth and the last, not
  // one per chunk.
  std::vector<std::uint64_t> done;
  for (const auto& e : b.events->all(kind::progress)) {
    if (e.subject != "set:big" || e.detail != "receiving") continue;
    if (e.done == 1) done.clear();
    done.push_back(e.done);
    if (e.done == e.total) break;
  }
  std::string listed;
  for (auto d : done) listed += std::to_string(d) + " ";
  BOOST_TEST_MESSAGE("chunks received as reported: " << listed);
  BOOST_TEST(std::is_sorted(done.begin(), done.end()));
  BOOST_TEST((std::adjacent_find(done.begin(), done.end()) == done.end()));
  BOOST_TEST(done.size() <= 11u);
  BOOST_TEST(done.size() < received->total);
}

BOOST_AUTO_TEST_CASE(the_storage_actor_saves_and_loads_by_message_and_through_a_client) {
  temp_dir dir;
  running_node a(node_args("a", dir.file("a")));
  {
    caf::scoped_actor self{*a.sys};
    crdt::gcounter c("writer");
    BOOST_REQUIRE(c.increment(3));
    bool saved = false;
    self->request(a->storage(), 5s, save_atom::value, storage::group_key{"app", "c"}, crdt::encode(c))
      .receive([&](done_atom) { saved = true; }, [](caf::error&) {});
    BOOST_TEST(saved);
    auto client = a->storage_client();
    auto back = storage::load<crdt::gcounter>(*client, {"app", "c"});
    BOOST_REQUIRE(back && *back);
    BOOST_TEST((*back)->value() == 3u);
  }
  // The application's own groups (a kind the node does not replicate) are not restored as
  // replicas at the next start, nor warned about: they stay the application's.
  a.stop();
  running_node again(node_args("a", dir.file("a")));
  auto restored = again.events->wait_for(kind::restored);
  BOOST_REQUIRE(restored);
  BOOST_TEST(restored->done == 0u);
  BOOST_TEST(again.events->all(kind::warning).empty());
  BOOST_TEST(again->replicas().empty());
  auto client = again->storage_client();
  auto back = storage::load<crdt::gcounter>(*client, {"app", "c"});
  BOOST_TEST((back && *back && (*back)->value() == 3u));
}

BOOST_AUTO_TEST_CASE(kinds_max_groups_and_dropped_groups_are_refused_with_their_reason) {
  temp_dir dir;
  auto kinds = crdt_kinds::standard();
  kinds.add<crdt::gset<std::string>>("tags");
  running_node a(node_args("a", dir.file("a"), {"--grove.max-groups=2"}), "", kinds);
  auto unknown = a->replica({"tape", "x"});
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(unknown.error().message().find("unknown group kind 'tape' (counter, list, map, pncounter, register, "
                                            "set, tags)")
               != std::string::npos,
             unknown.error().message());
  auto tags = a->replica({"tags", "t"});
  BOOST_REQUIRE(tags);
  BOOST_REQUIRE(mutate(*a.sys, *tags, {"add", {"x"}}));
  BOOST_TEST(value_of<crdt::gset<std::string>>(*a.sys, *tags)->contains("x"));
  auto missing = a->find_replica({"counter", "typo"});
  BOOST_REQUIRE(!missing);
  BOOST_TEST((missing.error().code() == errc::not_found));
  BOOST_TEST(a->replicas().size() == 1u);  // looking for it made nothing
  BOOST_REQUIRE(a->replica({"counter", "c"}));
  auto third = a->replica({"counter", "d"});
  BOOST_REQUIRE(!third);
  BOOST_TEST((third.error().code() == errc::too_large));
  BOOST_REQUIRE(a->drop({"counter", "c"}));
  auto dropped = a->replica({"counter", "c"});
  BOOST_REQUIRE(!dropped);
  BOOST_TEST((dropped.error().code() == errc::not_found));
  BOOST_TEST(dropped.error().message().find("was dropped") != std::string::npos);
}

// configure_node's scheduler: a message that a long-running actor sends to an idle actor queues
// the receiver on the sender's worker; an idle worker must take it from there while the sender
// still runs, not only when its sleep (relaxed_scheduler_sleep) ends or the sender's job does.
BOOST_AUTO_TEST_CASE(an_actor_queued_behind_a_busy_worker_runs_on_an_idle_one) {
  using clock_type = std::chrono::steady_clock;
  struct scheduler_config : test_config {  // 2 workers
    scheduler_config() { configure_node(*this); }
  } cfg;
  caf::actor_system sys{cfg};
  // Well within the sleep, so that a worker's timeout cannot be what runs the receiver.
  const auto patience = std::chrono::duration_cast<clock_type::duration>(relaxed_scheduler_sleep / 2);
  // The actors take their shared state as spawn arguments: CAF 0.17 spawns an argument-less
  // function actor by dereferencing a null std::shared_ptr (init_fun_factory.hpp), which UBSan
  // rejects.
  using flag = std::shared_ptr<std::atomic<bool>>;
  auto receive_once = [](caf::event_based_actor* receiver_self, flag receiver_ran) -> caf::behavior {
    return {[=](int) {
      receiver_ran->store(true);
      receiver_self->quit();
    }};
  };
  // A few rounds: a worker that some other event woke just then could take the receiver in time
  // without the naps, but not every time.
  for (int round = 0; round < 3; ++round) {
    auto ran_while_busy = std::make_shared<std::promise<bool>>();
    auto outcome = ran_while_busy->get_future();
    sys.spawn(
      [=](caf::event_based_actor* self, flag receiver_ran) {
        // lazy_init: the receiver is not scheduled until its first message, which queues it here.
        auto receiver = self->spawn<caf::lazy_init>(receive_once, receiver_ran);
        self->send(receiver, 1);
        auto deadline = clock_type::now() + patience;
        while (!receiver_ran->load() && clock_type::now() < deadline) {
        }
        ran_while_busy->set_value(receiver_ran->load());
        if (!receiver_ran->load()) self->send_exit(receiver, caf::exit_reason::user_shutdown);
        self->quit();
      },
      std::make_shared<std::atomic<bool>>(false));
    BOOST_TEST(outcome.get(), "round " << round);
  }
}
