// grove-demo: the scripted scenario behind `./grove.sh demo`. Three grove-node processes on
// loopback with DETS-style stores, connected over TLS with certificates from a throwaway CA and a
// cluster secret; concurrent mutations; convergence; an intruder with a self-signed certificate
// that stays out; kill -9 of one node after it acknowledged a durable snapshot; more mutations;
// its restart from the store; convergence with everything. Prints a transcript and exits 0 only if
// every check held.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <unistd.h>

#include "node_process.hpp"

namespace {

using grove::tools::node_process;
using json = nlohmann::json;
using namespace std::chrono_literals;

int checks = 0, failures = 0;

void say(const std::string& tag, const std::string& text) { std::cout << "[" << tag << "] " << text << std::endl; }

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) ++failures;
  say(ok ? "check" : "FAILED", what + (ok ? "  ... ok" : "  ... NOT as expected"));
}

std::string self_dir() { return std::filesystem::canonical("/proc/self/exe").parent_path().string(); }

// Where the certificates and the cluster secret are.
std::filesystem::path secrets;

// The TLS options of a node holding `certificate` (a file stem of tools/make_throwaway_pki.sh).
std::vector<std::string> security_args(const std::string& certificate) {
  auto file = [](const std::string& name) { return (secrets / name).string(); };
  bool encrypted_key = certificate == "node3";
  auto key = file(certificate + (encrypted_key ? ".enc.key" : ".key"));
  auto ca = file(certificate == "rogue" ? "rogue.pem" : "ca.pem");  // the rogue trusts only itself
  std::vector<std::string> args{"--secret-file",     file("cluster.secret"),
                                "--tls-certificate", file(certificate + ".pem"),
                                "--tls-key",         key,
                                "--tls-ca",          ca};
  if (encrypted_key) args.insert(args.end(), {"--tls-passphrase-file", file("passphrase.txt")});
  return args;
}

struct demo_node {
  std::string name;
  std::unique_ptr<node_process> process;
  int port = 0;
};

// Starts node `name` with `certificate`, connecting to `peer_ports`; waits until it is serving.
demo_node start(const std::string& name, const std::string& certificate, const std::string& data_root,
                const std::vector<int>& peer_ports) {
  std::vector<std::string> argv{self_dir() + "/grove-node",
                                "--name",
                                name,
                                "--json",
                                "--store",
                                "dets",
                                "--data",
                                data_root + "/" + name,
                                "--durable",
                                "--sync-interval",
                                "100",
                                "--snapshot-interval",
                                "1000",
                                "--scheduler.max-threads=2"};
  auto security = security_args(certificate);
  argv.insert(argv.end(), security.begin(), security.end());
  for (int p : peer_ports) {
    argv.push_back("--peer");
    argv.push_back("127.0.0.1:" + std::to_string(p));
  }
  demo_node n{name, std::make_unique<node_process>(argv), 0};
  auto listening = n.process->wait_for_event("listening");
  if (listening.is_object()) n.port = listening["port"].get<int>();
  std::string peers;
  for (std::size_t i = 0; i < peer_ports.size(); ++i) {
    auto outcome = n.process->read_json();
    while (outcome.is_object() && outcome.value("event", "") != "connected"
           && outcome.value("event", "") != "peer_failed")
      outcome = n.process->read_json();
    if (!outcome.is_object()) continue;
    peers += outcome["event"] == "connected" ? ", connected to " + outcome["peer"].get<std::string>()
                                             : ", refused by " + outcome["peer"].get<std::string>() + " ("
                                                 + outcome["error"].get<std::string>() + ")";
  }
  auto restored = n.process->wait_for_event("restored");
  say("start", "node " + name + " (pid " + std::to_string(n.process->pid()) + ", certificate " + certificate
                 + ") listening on 127.0.0.1:" + std::to_string(n.port) + " over TLS" + peers + ", restored "
                 + (restored.is_object() ? restored["groups"].dump() : "?") + " groups from its store");
  return n;
}

// A throwaway CA with certificates for the nodes, and the cluster secret: 32 random bytes in
// base64, made the way docs/security.md makes one (a guessable secret could be found offline by anyone
// who reaches a port: see docs/security.md).
bool make_secrets(const std::filesystem::path& dir) {
  secrets = dir;
  if (std::system(("sh " + std::string(GROVE_PKI_SCRIPT) + " " + dir.string()).c_str()) != 0) return false;
  auto secret = (dir / "cluster.secret").string();
  auto command = "umask 077 && head -c 32 /dev/urandom | base64 >'" + secret + "'";
  return std::system(command.c_str()) == 0 && std::filesystem::file_size(secret) >= 32;
}

// Runs a command on a node and prints it with the answer.
json run(demo_node& n, const std::string& command) {
  auto answer = n.process->ask(command);
  say(n.name, command + "  ->  " + (answer.is_null() ? "(no answer)" : answer.dump()));
  return answer;
}

// Polls `get GROUP` on every node until all return `expected` (or 30 s pass).
// On failure, says what each node had last.
bool all_agree(std::vector<demo_node*> nodes, const std::string& group, const json& expected) {
  auto until = std::chrono::steady_clock::now() + 30s;
  std::vector<json> seen(nodes.size());
  while (std::chrono::steady_clock::now() < until) {
    bool same = true;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      seen[i] = nodes[i]->process->ask("get " + group);
      if (!seen[i].is_object() || seen[i]["value"] != expected) same = false;
    }
    if (same) return true;
    std::this_thread::sleep_for(100ms);
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) say(nodes[i]->name, "get " + group + "  ->  " + seen[i].dump());
  return false;
}

// Polls `get GROUP` on one node until its value (an array) contains `element` (or 30 s pass).
bool sees(demo_node& n, const std::string& group, const std::string& element) {
  auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    auto answer = n.process->ask("get " + group);
    if (answer.is_object() && answer["value"].is_array())
      for (const auto& x : answer["value"])
        if (x == element) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool peers_are(demo_node& n, int nodes) {
  auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    auto answer = n.process->ask("peers");
    if (answer.is_object() && answer["nodes"] == nodes) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

int main() {
  auto data = std::filesystem::temp_directory_path() / ("grove-demo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(data);
  std::cout << "== Grove for CAF: three nodes on loopback over TLS, replicated and persisted CRDTs, an intruder,\n"
               "   kill -9, restart\n";
  say("setup", "stores under " + data.string());
  check(make_secrets(data / "secrets"),
        "a throwaway CA signed a certificate for each node; the nodes share a cluster secret");

  // With TLS each node names every other as a peer (CAF's automatic connections are plaintext).
  auto a = start("a", "node1", data, {});
  auto b = start("b", "node2", data, {a.port});
  auto c = start("c", "node3", data, {a.port, b.port});
  std::vector<demo_node*> all{&a, &b, &c};

  std::cout << "\n-- every node mutates the same groups at once\n";
  std::uint64_t visits = 0;
  std::set<std::string> users;
  std::map<std::string, std::string> settings;
  for (auto* n : all) {
    run(*n, "incr counter:visits 10");
    visits += 10;
    run(*n, "add set:users user-" + n->name);
    users.insert("user-" + n->name);
    run(*n, "put map:settings owner-" + n->name + " " + n->name + " was here");
    settings["owner-" + n->name] = n->name + " was here";
  }
  // An observed remove removes what the node has seen: b waits until a's add has reached it.
  check(sees(b, "set:users", "user-a"), "b has seen user-a, added on a");
  run(b, "remove set:users user-a");
  users.erase("user-a");

  std::cout << "\n-- they converge\n";
  check(all_agree(all, "counter:visits", visits), "all three agree on counter:visits = " + std::to_string(visits));
  check(all_agree(all, "set:users", json(users)), "all three agree on set:users = " + json(users).dump());
  check(all_agree(all, "map:settings", json(settings)), "all three agree on map:settings");

  std::cout << "\n-- mallory knows the secret but holds a self-signed certificate: refused at the TLS handshake\n";
  auto mallory = start("mallory", "rogue", data, {a.port});
  run(mallory, "incr counter:visits 666");
  check(peers_are(mallory, 0), "mallory is connected to no node");
  check(all_agree(all, "counter:visits", visits),
        "mallory's 666 reached no node: counter:visits is still " + std::to_string(visits));
  check(mallory.process->finish() == 0, "mallory shut down");

  std::cout << "\n-- node c takes writes, saves them durably, and is killed with kill -9 at once\n";
  run(c, "incr counter:visits 500");
  visits += 500;
  run(c, "add set:users carol-before-the-kill");
  users.insert("carol-before-the-kill");
  check(run(c, "snapshot")["ok"] == true, "c acknowledged a durable snapshot");
  c.process->kill9();
  say("kill -9", "node c is gone");
  check(peers_are(a, 1), "a dropped c: 1 other node left");
  check(peers_are(b, 1), "b dropped c: 1 other node left");

  std::cout << "\n-- a and b keep working without c\n";
  run(a, "incr counter:visits 1000");
  visits += 1000;
  run(b, "add set:users dave-while-c-was-down");
  users.insert("dave-while-c-was-down");
  run(b, "put map:settings mode degraded");
  settings["mode"] = "degraded";

  std::cout << "\n-- c restarts from its store and catches up\n";
  c = start("c", "node3", data, {a.port, b.port});
  check(all_agree(all, "counter:visits", visits), "all three agree on counter:visits = " + std::to_string(visits));
  check(all_agree(all, "set:users", json(users)),
        "all three agree on set:users, with carol (c, before the kill) and dave (b, while c was down)");
  check(all_agree(all, "map:settings", json(settings)), "all three agree on map:settings");

  std::cout << "\n-- shutdown\n";
  for (auto* n : all) check(n->process->finish() == 0, "node " + n->name + " shut down cleanly (final snapshot)");
  std::filesystem::remove_all(data);

  std::cout << "\n== " << (failures == 0 ? "PASS" : "FAIL") << ": " << (checks - failures) << " of " << checks
            << " checks held" << std::endl;
  return failures == 0 ? 0 : 1;
}
