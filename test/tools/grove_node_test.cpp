// grove-node end to end: node processes driven through stdin; commands, errors, restore from the
// store, and three nodes that converge, lose one to kill -9, and converge again after its restart.
#define BOOST_TEST_MODULE grove_node
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <thread>

#include "node_commands.hpp"
#include "node_process.hpp"
#include "support/temp_dir.hpp"

using grove::testing::temp_dir;
using grove::tools::node_process;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<node_process> start_node(const std::string& name, const std::string& data,
                                         const std::vector<std::string>& peers = {}, const std::string& store = "dets",
                                         const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{GROVE_NODE, "--name", name, "--json", "--store", store, "--data", data,
                                "--sync-interval", "50", "--snapshot-interval", "200", "--durable",
                                "--scheduler.max-threads=2"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  for (const auto& p : peers) {
    argv.push_back("--peer");
    argv.push_back(p);
  }
  return std::make_unique<node_process>(argv);
}

// Waits for the node's listening line and returns its port.
int port_of(node_process& n) {
  auto ev = n.wait_for_event("listening");
  BOOST_REQUIRE(ev.is_object());
  return ev["port"].get<int>();
}

// Asks `command` until the answer's value equals `expected` (or the deadline passes).
bool converges(node_process& n, const std::string& command, const json& expected, std::chrono::seconds deadline = 30s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto answer = n.ask(command);
    if (answer.is_object() && answer.value("ok", false) && answer["value"] == expected) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_command_parser_takes_the_rest_of_the_line_as_the_last_argument) {
  auto put = grove::tools::parse_command("put map:m key  a value with spaces  ");
  BOOST_REQUIRE(put);
  BOOST_TEST(put->op.name == "put");
  BOOST_TEST(put->op.args == (std::vector<std::string>{"key", "a value with spaces"}));
  BOOST_TEST(grove::tools::parse_command("incr counter:c")->op.args.empty());
  BOOST_TEST(!grove::tools::parse_command(""));
  BOOST_TEST(!grove::tools::parse_command("incr"));
  BOOST_TEST(!grove::tools::parse_command("get counter:c extra"));
  BOOST_TEST(grove::tools::parse_command("nonsense x").error().message().find("unknown command") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_command_answers_one_json_line_and_bad_ones_do_not_stop_the_node) {
  temp_dir dir;
  auto n = start_node("solo", dir.file("solo"));
  port_of(*n);
  BOOST_TEST(n->ask("incr counter:views 3")["ok"] == true);
  BOOST_TEST(n->ask("decr pncounter:balance 2")["value"].is_null());
  BOOST_TEST(n->ask("get pncounter:balance")["value"] == -2);
  BOOST_TEST(n->ask("add set:users bob")["ok"] == true);
  BOOST_TEST(n->ask("add set:users alice")["ok"] == true);
  BOOST_TEST(n->ask("get set:users")["value"] == json::parse(R"(["alice","bob"])"));
  BOOST_TEST(n->ask("put map:settings theme dark")["ok"] == true);
  BOOST_TEST(n->ask("get map:settings")["value"] == json::parse(R"({"theme":"dark"})"));
  BOOST_TEST(n->ask("get register:title")["value"].is_null());
  BOOST_TEST(n->ask("set register:title Grove for CAF")["ok"] == true);
  BOOST_TEST(n->ask("get register:title")["value"] == "Grove for CAF");
  BOOST_TEST(n->ask("insert list:todo 0 second")["ok"] == true);
  BOOST_TEST(n->ask("insert list:todo 0 first")["ok"] == true);
  BOOST_TEST(n->ask("get list:todo")["value"] == json::parse(R"(["first","second"])"));
  for (const char* bad : {"frobnicate", "incr", "incr counter:views -1", "add counter:views x", "get nokind",
                          "get widget:x", "insert list:todo 99 x", "put map:settings onlykey"}) {
    auto answer = n->ask(bad);
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(answer["ok"] == false);
      BOOST_TEST(!answer.value("error", "").empty());
    }
  }
  BOOST_TEST(n->ask("get counter:views")["value"] == 3);  // still serving
  auto groups = n->ask("groups");
  BOOST_TEST(groups["groups"].size() == 6u);
  BOOST_TEST(n->ask("snapshot")["ok"] == true);
  BOOST_TEST(n->ask("stats")["ok"] == true);
  BOOST_TEST(n->ask("quit")["ok"] == true);
  BOOST_TEST(n->finish() == 0);
}

BOOST_AUTO_TEST_CASE(a_restarted_node_restores_every_stored_group) {
  temp_dir dir;
  {
    auto n = start_node("keeper", dir.file("keeper"));
    port_of(*n);
    BOOST_REQUIRE(n->ask("incr counter:kept 41")["ok"] == true);
    BOOST_REQUIRE(n->ask("add set:kept x")["ok"] == true);
    BOOST_TEST(n->finish() == 0);  // end of input: final snapshots
  }
  auto n = start_node("keeper", dir.file("keeper"));
  port_of(*n);
  auto restored = n->wait_for_event("restored");
  BOOST_TEST(restored["groups"] == 2);
  BOOST_TEST(n->ask("get counter:kept")["value"] == 41);
  BOOST_TEST(n->ask("get set:kept")["value"] == json::parse(R"(["x"])"));
}

BOOST_AUTO_TEST_CASE(three_node_processes_converge_survive_a_kill_9_and_reconverge_after_restart) {
  temp_dir dir;
  auto a = start_node("a", dir.file("a"));
  auto a_port = std::to_string(port_of(*a));
  auto peer_a = "127.0.0.1:" + a_port;
  auto b = start_node("b", dir.file("b"), {peer_a});
  port_of(*b);
  auto c = start_node("c", dir.file("c"), {peer_a});
  port_of(*c);
  BOOST_REQUIRE(b->wait_for_event("connected").is_object());
  BOOST_REQUIRE(c->wait_for_event("connected").is_object());

  for (auto* n : {a.get(), b.get(), c.get()}) {
    BOOST_REQUIRE(n->ask("incr counter:hits 5")["ok"] == true);
    BOOST_REQUIRE(n->ask("add set:seen " + std::to_string(n->pid()))["ok"] == true);
  }
  BOOST_REQUIRE(c->ask("incr counter:hits 100")["ok"] == true);  // acknowledged by c, then c dies
  for (auto* n : {a.get(), b.get(), c.get()}) BOOST_REQUIRE(converges(*n, "get counter:hits", 115));

  c->kill9();
  auto c_gone = [&](node_process& n) {
    for (int i = 0; i < 300; ++i) {
      auto p = n.ask("peers");
      if (p["nodes"] == 1 && p["members"]["counter:hits"] == 2) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  BOOST_TEST(c_gone(*a));
  BOOST_TEST(c_gone(*b));

  BOOST_REQUIRE(a->ask("incr counter:hits 1000")["ok"] == true);
  BOOST_REQUIRE(b->ask("incr counter:hits 10000")["ok"] == true);
  c = start_node("c", dir.file("c"), {peer_a});
  port_of(*c);
  for (auto* n : {a.get(), b.get(), c.get()}) BOOST_TEST(converges(*n, "get counter:hits", 11115));
  BOOST_TEST(converges(*c, "get set:seen", a->ask("get set:seen")["value"]));
  for (auto* n : {a.get(), b.get(), c.get()}) BOOST_TEST(n->finish() == 0);
}

BOOST_AUTO_TEST_CASE(nodes_sharing_a_secret_file_converge_and_one_with_another_secret_stays_out) {
  temp_dir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    auto path = dir.file(name);
    std::ofstream(path) << text << "\n";
    return path;
  };
  auto shared = write("shared.secret", "s3cret-shared");
  auto other = write("other.secret", "not-the-secret");
  auto a = start_node("a", dir.file("a"), {}, "ets", {"--secret-file", shared});
  auto peer = "127.0.0.1:" + std::to_string(port_of(*a));
  auto b = start_node("b", dir.file("b"), {peer}, "ets", {"--secret-file", shared});
  auto intruder = start_node("x", dir.file("x"), {peer}, "ets", {"--secret-file", other});
  port_of(*b);
  port_of(*intruder);
  BOOST_REQUIRE(intruder->ask("incr counter:c 1000")["ok"] == true);
  BOOST_REQUIRE(a->ask("incr counter:c 1")["ok"] == true);
  BOOST_REQUIRE(b->ask("incr counter:c 2")["ok"] == true);
  BOOST_TEST(converges(*a, "get counter:c", 3));
  BOOST_TEST(converges(*b, "get counter:c", 3));
  BOOST_TEST(a->ask("peers")["nodes"] == 1);
  BOOST_TEST(intruder->ask("peers")["nodes"] == 0);
  BOOST_TEST(a->ask("get counter:c")["value"] == 3);
  auto missing = start_node("m", dir.file("m"), {}, "ets", {"--secret-file", dir.file("absent")});
  BOOST_TEST(missing->wait() == 1);  // a clear error on stderr, exit 1
  for (auto* n : {a.get(), b.get(), intruder.get()}) BOOST_TEST(n->finish() == 0);
}
