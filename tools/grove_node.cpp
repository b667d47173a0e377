// grove-node: a CAF node that hosts replication servers, persists them, and takes commands on
// stdin, one answer line per command. See `grove-node --help` and the README.
//
// Options are grove-node's own (parsed with CLI11, so --peer can repeat); anything else is handed
// to CAF's configuration, so the standard CAF options work too (e.g. --scheduler.max-threads=2).
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/replication.hpp"
#include "grove/actors/shutdown.hpp"
#include "grove/actors/storage_actor.hpp"
#include "grove/actors/tls.hpp"
#include "grove/actors/types.hpp"
#include "grove/crdt/all.hpp"
#include "grove/crdt/escape.hpp"
#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "line_output.hpp"
#include "node_commands.hpp"
#include "value_json.hpp"

namespace {

using namespace grove;
using namespace grove::actors;
using json = nlohmann::json;

// Most lines a batch takes, most bytes they hold together, and the longest timeout a consistency
// level takes. (A batch is held in memory until its last line, and is one write: one delta.)
constexpr std::uint64_t max_batch_lines = 100'000;
constexpr std::uint64_t max_batch_bytes = std::uint64_t{16} << 20;
constexpr std::uint64_t max_consistency_timeout_ms = 600'000;
// Most bytes of output lines that wait for a slow reader of stdout (see line_output.hpp).
constexpr std::size_t max_pending_output_bytes = std::size_t{4} << 20;

struct node_options {
  std::string name;
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<std::string> peers;
  std::string store = "dets";
  std::string data;
  int sync_ms = 1000;
  int snapshot_ms = 5000;
  bool durable = false;
  bool as_json = false;
  std::size_t max_groups = 1000;
  bool on_demand = false;
  std::uint64_t tombstone_lifetime_s = 24 * 3600;
  std::string secret_file;
  std::string secret;  // read from secret_file before the node starts
  tls_options tls;
  std::string tls_passphrase_file;
  bool insecure = false;

  bool wants_tls() const { return !tls.certificate.empty() || !tls.key.empty() || !tls.ca_file.empty(); }
};

// A secret (cluster secret, key passphrase) from a file, trailing newlines dropped; never printed.
grove::expected<std::string> read_secret(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return grove::error(grove::errc::io_error, "cannot read the " + what + " file " + path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return grove::error(grove::errc::invalid_argument, "the " + what + " file " + path + " is empty");
  return secret;
}

// What listening on opts.address exposes, as a warning; an error when the node would be open to
// anyone who reaches the port and --insecure does not accept that. (With --secret-file alone the
// transport is TLS from the secret-derived authority: nothing to warn about.)
grove::expected<std::string> exposure_warning(const node_options& opts) {
  if (is_loopback(opts.address)) return std::string{};
  if (opts.wants_tls())
    return opts.secret_file.empty() ? "TLS without --secret-file on " + opts.address + ": any holder of a certificate "
                                        + "from " + opts.tls.ca_file + " can join (CAF checks no host name)"
                                    : std::string{};
  if (!opts.secret_file.empty()) return std::string{};
  if (!opts.insecure)
    return grove::error(grove::errc::invalid_argument,
                        "refusing to listen on " + opts.address + " in plaintext without a credential: anyone who "
                          + "reaches the port could read and change every group. Use --secret-file (TLS from the "
                          + "cluster secret) and/or TLS certificates (--tls-certificate, --tls-key, --tls-ca), or "
                          + "accept the risk with --insecure");
  return "INSECURE: listening on " + opts.address + " in plaintext without a credential (--insecure): anyone who "
         + "reaches the port can read and change every group";
}

// Secures the transport (grove/actors/tls.hpp): TLS from the cluster secret, or with the given
// certificates, or plaintext (loopback only, or --insecure); every file and the secret's length
// must check out. CAF's own --openssl.* options are refused: they would bypass the checks.
grove::expected<transport_info> configure_transport(caf::actor_system_config& cfg, node_options& opts) {
  if (!cfg.openssl_certificate.empty() || !cfg.openssl_key.empty() || !cfg.openssl_cafile.empty()
      || !cfg.openssl_capath.empty() || !cfg.openssl_passphrase.empty())
    return grove::error(grove::errc::invalid_argument,
                        "use --tls-certificate, --tls-key, --tls-ca and "
                        "--tls-passphrase-file instead of CAF's --openssl.* options");
  if (!opts.tls_passphrase_file.empty()) {
    if (opts.tls.key.empty())
      return grove::error(grove::errc::invalid_argument, "--tls-passphrase-file needs --tls-key");
    auto passphrase = read_secret(opts.tls_passphrase_file, "TLS passphrase");
    if (!passphrase) return passphrase.error();
    opts.tls.passphrase = std::move(*passphrase);
  }
  if (!opts.secret_file.empty()) {
    auto secret = read_secret(opts.secret_file, "secret");
    if (!secret) return secret.error();
    opts.secret = std::move(*secret);
  }
  return secure_transport(cfg, security_options{opts.secret, opts.tls, opts.insecure});
}

struct node_config : caf::actor_system_config {
  node_config() {
    load<caf::io::middleman>();
    register_grove_types(*this);
    configure_node(*this);
  }
};

// The CRDT type behind each group kind.
expected<replica_actor> spawn_kind(caf::actor_system& sys, const std::string& kind, replication_options o) {
  using namespace grove::crdt;
  if (kind == "counter") return spawn_replica<gcounter>(sys, std::move(o));
  if (kind == "pncounter") return spawn_replica<pncounter>(sys, std::move(o));
  if (kind == "set") return spawn_replica<orset<std::string>>(sys, std::move(o));
  if (kind == "map") return spawn_replica<ormap<std::string, lww_register<std::string>>>(sys, std::move(o));
  if (kind == "register") return spawn_replica<lww_register<std::string>>(sys, std::move(o));
  if (kind == "list") return spawn_replica<rga<std::string>>(sys, std::move(o));
  return error(errc::invalid_argument,
               "unknown group kind " + quote_input(kind) + " (counter, pncounter, set, map, register, list)");
}

// grove-node's stdout. Set in main before anything runs; fd 1 itself then points at stderr, so that
// whatever else writes there (CAF's "unexpected message" lines, say) never mixes with these lines.
tools::line_output* output = nullptr;

// SIGTERM or SIGINT arrived: the command loop ends, and an answer waiting for the reader gives up.
std::atomic<bool> stop_requested{false};

// An answer to a command: waits while stdout's buffer is full (input is not read meanwhile).
void print_answer(const std::string& line) {
  output->write_waiting(line, [] { return stop_requested.load(); });
}

// Any other line (events, warnings): never waits, since it may come from an actor on a CAF
// scheduler thread; dropped and counted when stdout's buffer is full.
void print_event(const std::string& line) { output->write_or_drop(line); }

// Prints membership's node events ("up"/"down" and the node's address) as peer_up/peer_down
// events. (It takes an argument: CAF 0.17's spawn of argument-less functions trips UBSan.)
// Membership's events: nodes coming and going are printed; groups that another node hosts and this
// one does not ("group") and groups dropped ("dropped") go to `on_group`.
caf::behavior node_event_watcher(caf::event_based_actor*, bool as_json,
                                 std::function<void(const std::string&, const std::string&)> on_group) {
  return {
    [=](node_event_atom, const std::string& event, const std::string& who) {
      if (event == "group" || event == "dropped") return on_group(event, who);
      auto name = "peer_" + event;
      print_event(as_json ? tools::dump_json({{"event", name}, {"peer", who}}) : "peer " + event + ": " + who);
    },
  };
}

class node {
public:
  node(caf::actor_system& sys, node_options opts, transport_info transport)
      : sys_(sys), opts_(std::move(opts)), transport_(std::move(transport)), self_(sys) {}

  status start() {
    auto backend = open_backend();
    if (!backend) return backend.error();
    storage_ = spawn_storage_actor(sys_, std::move(*backend));
    membership_options membership_opts;
    membership_opts.tombstone_lifetime = std::chrono::seconds(opts_.tombstone_lifetime_s);
    membership_opts.secret = opts_.secret;  // with certificates, the check of the secret (see tls.hpp)
    membership_opts.name = opts_.name;
    membership_opts.hosts_every_group = !opts_.on_demand;
    membership_opts.storage = storage_;  // a drop survives restarts
    membership_ = spawn_membership(sys_, std::move(membership_opts));
    event_watcher_ =
      sys_.spawn(node_event_watcher, opts_.as_json, [this](const std::string& event, const std::string& group) {
        if (event == "group")
          host(group);
        else
          forget(group);
      });
    self_->send(membership_, watch_nodes_atom::value, event_watcher_);  // not anonymous: see membership
    auto port = listen(sys_, membership_, opts_.port, opts_.address);
    if (!port) return port.error();
    auto tls = uses_tls(sys_);
    json listening{{"event", "listening"}, {"name", opts_.name}, {"address", opts_.address},
                   {"port", *port},        {"tls", tls},         {"transport", to_string(transport_.mode)}};
    if (!transport_.ca_fingerprint.empty()) listening["ca_fingerprint"] = transport_.ca_fingerprint;
    event(listening, "grove-node " + opts_.name + " listening on " + opts_.address + ":" + std::to_string(*port)
                       + (tls ? " (TLS)" : ""));
    for (const auto& peer : opts_.peers) connect_peer(peer);
    return restore();
  }

  // Runs one command line; returns false for quit.
  bool run(const std::string& line) {
    if (batch_) return collect_batch_line(line), true;
    auto cmd = tools::parse_command(line);
    if (!cmd) {
      answer_error(cmd.error());
      return true;
    }
    if (cmd->verb == "quit") {
      answer({{"ok", true}}, "bye");
      return false;
    }
    execute(*cmd);
    return true;
  }

  // Final snapshots, then the store is flushed and closed (see stop_node).
  void stop() {
    if (batch_)
      report_error(error(errc::invalid_argument, "the input ended " + std::to_string(batch_->lines)
                                                   + " lines into a batch of " + std::to_string(batch_->expected)
                                                   + "; none of it was applied"));
    batch_.reset();
    if (event_watcher_) {  // first: it may start replicas
      self_->send_exit(event_watcher_, caf::exit_reason::user_shutdown);
      self_->wait_for(event_watcher_);
      event_watcher_ = nullptr;
    }
    std::vector<replica_actor> replicas;
    {
      std::lock_guard<std::mutex> guard(replicas_mutex_);
      for (auto& [g, r] : replicas_) replicas.push_back(r);
      replicas_.clear();
    }
    auto some = [](const auto& handle) { return handle ? std::optional(handle) : std::nullopt; };
    if (auto ok = stop_node(sys_, replicas, some(storage_), some(membership_)); !ok)
      warn("stopping: " + ok.error().to_string());
    membership_ = nullptr;
    storage_ = nullptr;
  }

  /// Answers an input that was not run.
  void refuse(const error& e) { answer_error(e); }

  // Printed on stderr, and in --json mode also as an event on stdout.
  void warn(const std::string& text) {
    std::cerr << "grove-node: warning: " << text << std::endl;
    if (opts_.as_json) print_event(tools::dump_json({{"event", "warning"}, {"warning", text}}));
  }

private:
  expected<std::unique_ptr<storage::backend>> open_backend() {
    if (opts_.store == "ets") {
      storage::ets_options o;
      o.table = "grove-node-" + opts_.name;
      return storage::open_ets(o);
    }
    if (opts_.store != "dets") return error(errc::invalid_argument, "--store must be ets or dets");
    std::error_code ec;
    std::filesystem::create_directories(opts_.data, ec);
    if (ec) return error(errc::io_error, "cannot create " + opts_.data + ": " + ec.message());
    storage::dets_options o;
    o.file = opts_.data + "/grove.store";
    o.durable = opts_.durable;
    o.auto_save = std::chrono::milliseconds(200);
    return storage::open_dets(o);
  }

  // Outcome as an event (not as an answer: no command asked for it).
  void connect_peer(const std::string& peer) {
    auto colon = peer.rfind(':');
    int port = colon == std::string::npos ? -1 : std::atoi(peer.c_str() + colon + 1);
    auto ok = port > 0 && port <= 65535
                ? connect(sys_, membership_, peer.substr(0, colon), static_cast<std::uint16_t>(port))
                : status{error(errc::invalid_argument, "--peer " + peer + " is not HOST:PORT")};
    if (ok)
      event({{"event", "connected"}, {"peer", peer}}, "connected to " + peer);
    else
      event({{"event", "peer_failed"}, {"peer", peer}, {"error", ok.error().to_string()}},
            "cannot connect to " + peer + " (retrying in the background): " + ok.error().to_string());
  }

  // Starts a replica for every group in the store (each loads its own state).
  status restore() {
    caf::scoped_actor self{sys_};
    std::vector<storage::group_key> stored;
    status result;
    self->request(storage_, std::chrono::seconds(30), list_atom::value)
      .receive([&](std::vector<storage::group_key>& gs) { stored = std::move(gs); },
               [&](caf::error& e) { result = from_caf_error(e); });
    if (!result) return result;
    stored.erase(std::remove_if(stored.begin(), stored.end(), [](const auto& g) { return g.is_internal(); }),
                 stored.end());
    for (const auto& g : stored)
      if (auto r = replica(g); !r)
        std::cerr << "grove-node: cannot restore " << g.to_string() << ": " << r.error().to_string() << std::endl;
    event({{"event", "restored"}, {"groups", stored.size()}}, "restored " + std::to_string(stored.size()) + " groups");
    return {};
  }

  // A group that another node hosts: this node hosts it too (unless --on-demand), so a group made
  // anywhere has a copy everywhere. Runs on the event watcher's thread.
  void host(const std::string& group_text) {
    if (opts_.on_demand) return;
    auto g = storage::group_key::parse(group_text);
    if (!g) return;
    if (hosts(g->to_string())) return;
    if (auto r = replica(*g); !r) return warn("cannot host " + g->to_string() + ": " + r.error().to_string());
    event({{"event", "hosting"}, {"group", g->to_string()}}, "hosting " + g->to_string());
  }

  // The replicas this node hosts, by group (a copy: the watcher may add to them meanwhile).
  std::map<std::string, replica_actor> hosted() {
    std::lock_guard<std::mutex> guard(replicas_mutex_);
    return replicas_;
  }

  bool hosts(const std::string& group) {
    std::lock_guard<std::mutex> guard(replicas_mutex_);
    return replicas_.count(group) > 0;
  }

  std::size_t hosted_count() {
    std::lock_guard<std::mutex> guard(replicas_mutex_);
    return replicas_.size();
  }

  expected<replica_actor> replica(const storage::group_key& g) {
    auto key = g.to_string();
    std::lock_guard<std::mutex> guard(replicas_mutex_);
    if (auto it = replicas_.find(key); it != replicas_.end()) return it->second;
    if (replicas_.size() >= opts_.max_groups)
      return error(errc::too_large,
                   "this node already hosts " + std::to_string(opts_.max_groups) + " groups (--max-groups)");
    replication_options o;
    o.replica_id = opts_.name;
    o.group = g;
    o.sync_interval = std::chrono::milliseconds(opts_.sync_ms);
    o.snapshot_interval = std::chrono::milliseconds(opts_.snapshot_ms);
    o.storage = storage_;
    o.membership = membership_;
    // --durable: a mutation is answered once its delta is logged and synced (with --store ets the
    // log is in memory: the answer waits for the table, and nothing survives a restart anyway).
    if (opts_.durable) o.durability = durability_mode::log;
    auto r = spawn_kind(sys_, g.kind, std::move(o));
    if (r) replicas_.emplace(key, *r);
    return r;
  }

  void execute(const tools::command& cmd) {
    if (cmd.verb == "help") return answer({{"ok", true}, {"help", tools::command_help()}}, tools::command_help());
    if (cmd.verb == "consistency") return set_consistency(cmd.op.args);
    if (cmd.verb == "groups") return groups();
    if (cmd.verb == "peers") return peers();
    if (cmd.verb == "snapshot") return snapshot();
    if (cmd.verb == "stats") return stats();
    auto g = storage::group_key::parse(cmd.group);
    if (!g) return answer_error(g.error());
    if (cmd.verb == "drop") return drop(*g);
    if (cmd.verb == "batch") return start_batch(*g, cmd.op.args[0]);
    bool reads = cmd.verb == "get" || cmd.verb == "size";
    if (reads && !hosted_anywhere(*g))
      return answer_error(error(errc::not_found, "no node hosts " + quote_input(g->to_string())));
    if (auto dropped = is_dropped(*g); !dropped) return answer_error(dropped.error());
    auto r = replica(*g);
    if (!r) return answer_error(r.error());
    if (reads) return get(*g, *r, cmd.verb == "size");
    write(*r, {cmd.op});
  }

  // Applies operations as one write at the current write consistency; answers with the number of
  // replicas that merged it.
  void write(const replica_actor& r, std::vector<crdt::operation> ops) {
    replica_count count;
    status result;
    self_->request(r, request_timeout(write_level_), mutate_atom::value, write_request{std::move(ops), write_level_})
      .receive([&](replica_count& c) { count = c; }, [&](caf::error& e) { result = from_caf_error(e); });
    if (!result) return answer_error(result.error());
    answer({{"ok", true}, {"acks", count.acks}, {"replicas", count.replicas}},
           write_level_.level == consistency_level::local
             ? "ok"
             : "ok (" + std::to_string(count.acks) + " of " + std::to_string(count.replicas) + " replicas)");
  }

  // A request with a consistency level gets its own timeout and some time for the answer.
  static std::chrono::milliseconds request_timeout(const consistency& level) {
    return std::chrono::milliseconds(level.timeout_ms) + std::chrono::seconds(30);
  }

  // consistency read|write local|majority|all [TIMEOUT_MS]: for the commands that follow.
  void set_consistency(const std::vector<std::string>& args) {
    static const std::map<std::string, consistency_level> levels{
      {"local", consistency_level::local}, {"majority", consistency_level::majority}, {"all", consistency_level::all}};
    auto usage = error(errc::invalid_argument, "usage: consistency read|write local|majority|all [TIMEOUT_MS] (1 to "
                                                 + std::to_string(max_consistency_timeout_ms) + " ms)");
    auto level = levels.find(args[1]);
    if ((args[0] != "read" && args[0] != "write") || level == levels.end()) return answer_error(usage);
    consistency c{level->second, 5000};
    if (args.size() > 2) {
      auto ms = parse_count(args[2], max_consistency_timeout_ms);
      if (!ms) return answer_error(usage);
      c.timeout_ms = static_cast<std::uint32_t>(*ms);
    }
    (args[0] == "read" ? read_level_ : write_level_) = c;
    answer({{"ok", true}, {args[0], args[1]}, {"timeout_ms", c.timeout_ms}},
           args[0] + " " + args[1] + " (timeout " + std::to_string(c.timeout_ms) + " ms)");
  }

  // An unsigned number from 1 to `max`.
  static std::optional<std::uint64_t> parse_count(const std::string& text, std::uint64_t max) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n == 0 || n > max) return std::nullopt;
    return n;
  }

  // batch GROUP N: the next N lines are mutations of GROUP, applied as one write (all or none).
  void start_batch(const storage::group_key& g, const std::string& count) {
    auto n = parse_count(count, max_batch_lines);
    if (!n)
      return answer_error(error(errc::invalid_argument, "batch: " + quote_input(count) + " is not a count from 1 to "
                                                          + std::to_string(max_batch_lines)));
    batch_ = pending_batch{g, *n, 0, 0, {}, std::nullopt};
  }

  void collect_batch_line(const std::string& line) {
    auto& b = *batch_;
    ++b.lines;
    b.bytes += line.size();
    auto where = "batch line " + std::to_string(b.lines) + ": ";
    if (!b.refused && b.bytes > max_batch_bytes) {
      b.refused = error(errc::too_large, where + "the batch's lines hold more than " + std::to_string(max_batch_bytes)
                                           + " bytes (16 MiB)");
      b.ops = {};  // the rest is only counted
    }
    if (!b.refused) {
      auto cmd = tools::parse_command(line);
      if (!cmd)
        b.refused = error(errc::invalid_argument, where + cmd.error().message());
      else if (cmd->op.name.empty())
        b.refused = error(errc::invalid_argument, where + cmd->verb + " is not a mutation");
      else if (cmd->group != b.group.to_string())
        b.refused = error(errc::invalid_argument, where + "group " + quote_input(cmd->group) + " is not the batch's");
      else
        b.ops.push_back(std::move(cmd->op));
    }
    if (b.lines < b.expected) return;
    auto done = std::move(*batch_);
    batch_.reset();
    if (done.refused)
      return answer_error(error(done.refused->code(), done.refused->message() + "; none of the batch was applied"));
    if (auto dropped = is_dropped(done.group); !dropped) return answer_error(dropped.error());
    auto r = replica(done.group);
    if (!r) return answer_error(r.error());
    write(*r, std::move(done.ops));
  }

  // drop GROUP: gone from every node and store; its tombstone keeps it gone (see --tombstone-lifetime).
  void drop(const storage::group_key& g) {
    status result;
    self_->request(membership_, std::chrono::seconds(10), drop_group_atom::value, g.to_string())
      .receive([](done_atom) {}, [&](caf::error& e) { result = from_caf_error(e); });
    if (!result) return answer_error(result.error());
    forget(g.to_string());
    answer({{"ok", true}, {"dropped", g.to_string()}}, "dropped " + g.to_string());
  }

  // A dropped group is not made again while its tombstone lives (an error says so).
  status is_dropped(const storage::group_key& g) {
    if (hosts(g.to_string())) return {};
    bool dropped = false;
    self_->request(membership_, std::chrono::seconds(5), dropped_atom::value, g.to_string())
      .receive([&](bool d) { dropped = d; }, [](caf::error&) {});
    if (!dropped) return {};
    return error(errc::not_found,
                 "group " + g.to_string() + " was dropped; it can be made again once its tombstone expires");
  }

  // The replica of a dropped group stops by itself; this node forgets its handle.
  void forget(const std::string& group) {
    std::lock_guard<std::mutex> guard(replicas_mutex_);
    replicas_.erase(group);
  }

  // Whether this node or a connected one has a replica of g: reading a group that nobody hosts
  // must not create it (a typo would otherwise take one of --max-groups).
  bool hosted_anywhere(const storage::group_key& g) {
    if (hosts(g.to_string())) return true;
    bool found = false;
    self_->request(membership_, std::chrono::seconds(5), members_atom::value, g.to_string())
      .receive([&](std::vector<caf::strong_actor_ptr>& ms) { found = !ms.empty(); }, [](caf::error&) {});
    return found;
  }

  // get: the value; size: how many elements, entries or items it has (the value for a counter, 0 or
  // 1 for a register), without printing it.
  void get(const storage::group_key& g, const replica_actor& r, bool size_only) {
    if (size_only && read_level_.level == consistency_level::local) {  // counted by the replica, not encoded
      std::optional<std::uint64_t> size;
      self_->request(r, std::chrono::seconds(10), size_atom::value)
        .receive([&](std::uint64_t n) { size = n; }, [](caf::error&) {});
      if (size) return answer({{"ok", true}, {"group", g.to_string()}, {"size", *size}}, std::to_string(*size));
    }
    bytes state;
    replica_count count;
    status result;
    self_->request(r, request_timeout(read_level_), read_atom::value, read_level_)
      .receive(
        [&](read_result& x) {
          state = std::move(x.state);
          count = x.count;
        },
        [&](caf::error& e) { result = from_caf_error(e); });
    if (!result) return answer_error(result.error());
    auto value = tools::value_to_json(state);
    if (!value) return answer_error(value.error());
    if (size_only) {
      auto size = value->is_number() ? *value : json(value->is_null() ? 0 : value->is_string() ? 1 : value->size());
      return answer(
        {{"ok", true}, {"group", g.to_string()}, {"size", size}, {"acks", count.acks}, {"replicas", count.replicas}},
        tools::dump_json(size));
    }
    answer(
      {{"ok", true}, {"group", g.to_string()}, {"value", *value}, {"acks", count.acks}, {"replicas", count.replicas}},
      tools::dump_json(*value));
  }

  void groups() {
    json names = json::array();
    std::string text;
    for (auto& [g, r] : hosted()) {
      names.push_back(g);
      text += (text.empty() ? "" : " ") + g;
    }
    answer({{"ok", true}, {"groups", names}}, text.empty() ? "(none)" : text);
  }

  void peers() {
    std::uint64_t nodes = 0;
    self_->request(membership_, std::chrono::seconds(5), nodes_atom::value)
      .receive([&](std::uint64_t n) { nodes = n; }, [](caf::error&) {});
    json per_group = json::object();
    for (auto& [g, r] : hosted()) {
      std::size_t members = 0;
      self_->request(membership_, std::chrono::seconds(5), members_atom::value, g)
        .receive([&](std::vector<caf::strong_actor_ptr>& ms) { members = ms.size(); }, [](caf::error&) {});
      per_group[g] = members;
    }
    std::vector<std::string> connected, unreachable;
    self_->request(membership_, std::chrono::seconds(5), addresses_atom::value)
      .receive([&](std::vector<std::string>& c,
                   std::vector<std::string>& u) { connected = std::move(c), unreachable = std::move(u); },
               [](caf::error&) {});
    answer(
      {{"ok", true}, {"nodes", nodes}, {"members", per_group}, {"connected", connected}, {"unreachable", unreachable}},
      std::to_string(nodes) + " other nodes; members per group " + tools::dump_json(per_group)
        + "; unreachable (being retried) " + tools::dump_json(json(unreachable)));
  }

  void snapshot() {
    auto replicas = hosted();
    for (auto& [g, r] : replicas)
      if (auto ok = request_ok(r, snapshot_atom::value); !ok) return answer_error(ok.error());
    answer({{"ok", true}, {"groups", replicas.size()}}, "saved " + std::to_string(replicas.size()) + " groups");
  }

  void stats() {
    storage_stats s;
    self_->request(storage_, std::chrono::seconds(5), stats_atom::value)
      .receive([&](storage_stats& x) { s = x; }, [](caf::error&) {});
    json storage_json{
      {"saves", s.saves}, {"loads", s.loads}, {"commits", s.commits}, {"bytes", s.bytes_saved}, {"errors", s.errors}};
    answer({{"ok", true}, {"storage", storage_json}, {"groups", hosted_count()}},
           "storage " + tools::dump_json(storage_json));
  }

  template <class Handle, class... Ts>
  status request_ok(const Handle& h, Ts&&... xs) {
    status result;
    self_->request(h, std::chrono::seconds(30), std::forward<Ts>(xs)...)
      .receive([](done_atom) {}, [&](caf::error& e) { result = from_caf_error(e); });
    return result;
  }

  void answer(json j, const std::string& text) { print_answer(opts_.as_json ? tools::dump_json(j) : text); }

  void event(json j, const std::string& text) { print_event(opts_.as_json ? tools::dump_json(j) : text); }

  void answer_error(const error& e) { answer({{"ok", false}, {"error", e.to_string()}}, "error: " + e.to_string()); }

  // An error that no command waits for (the node is stopping): it does not wait for the reader.
  void report_error(const error& e) { event({{"ok", false}, {"error", e.to_string()}}, "error: " + e.to_string()); }

  caf::actor_system& sys_;
  node_options opts_;
  transport_info transport_;
  caf::scoped_actor self_;
  storage_actor storage_;
  membership_actor membership_;
  caf::actor event_watcher_;
  std::mutex replicas_mutex_;  // the command thread and the event watcher both start replicas
  std::map<std::string, replica_actor> replicas_;
  consistency read_level_;
  consistency write_level_;
  // A batch being read: its group, how many lines it has and has had, their bytes so far, its
  // operations so far, and the first line that was refused (then the rest are only counted).
  struct pending_batch {
    storage::group_key group;
    std::uint64_t expected = 0;
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
    std::vector<crdt::operation> ops;
    std::optional<error> refused;
  };
  std::optional<pending_batch> batch_;
};

// Bounds the actor system's shutdown once the node has stopped (final snapshots taken, store
// closed): with TLS, CAF 0.17 never finishes ~actor_system while a peer sits in the TLS handshake
// (the pending connection keeps its multiplexer running), so anyone who opens a TCP connection
// and sends nothing could keep the node from exiting.
class exit_deadline {
public:
  /// From now on, ends the process with `rc` unless this object is destroyed within `limit`.
  void arm(std::chrono::seconds limit, int rc) {
    watchdog_ = std::thread([this, limit, rc] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (disarmed_.wait_for(lock, limit, [this] { return done_; })) return;
      std::cerr << "grove-node: warning: the actor system did not shut down within " << limit.count()
                << " s (CAF waits for a peer stuck in the TLS handshake); exiting, every group was saved" << std::endl;
      std::_Exit(rc);
    });
  }

  ~exit_deadline() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    disarmed_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
  }

private:
  std::mutex mutex_;
  std::condition_variable disarmed_;
  bool done_ = false;
  std::thread watchdog_;
};

// SIGTERM and SIGINT end the command loop through this pipe (and stop_requested).
int signal_pipe[2] = {-1, -1};
void on_signal(int) {
  stop_requested = true;
  char c = 1;
  (void)::write(signal_pipe[1], &c, 1);
}

// A command line longer than this is not run (values and names are far smaller; see README).
constexpr std::size_t max_line_bytes = std::size_t{1} << 20;

// Reads stdin line by line until end of input or a signal; calls handle_line(line) for each line
// (false from it stops reading) and too_long(size) instead for a line over max_line_bytes, which
// is never held whole. Each byte is looked at once, so the cost is linear in the input.
template <class Line, class TooLong>
void read_lines(Line handle_line, TooLong too_long) {
  std::string line;
  bool skipping = false;    // inside a line that is too long: counted, not kept
  std::size_t skipped = 0;  // its size so far
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    pollfd fds[2] = {{0, POLLIN, 0}, {signal_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    ssize_t n = ::read(0, chunk.data(), chunk.size());
    if (n <= 0) {
      if (skipping)
        too_long(skipped);
      else if (!line.empty())
        handle_line(line);
      return;
    }
    for (std::string_view data(chunk.data(), static_cast<std::size_t>(n)); !data.empty();) {
      auto newline = data.find('\n');
      auto piece = data.substr(0, newline);
      if (!skipping && line.size() + piece.size() > max_line_bytes) {
        skipping = true;
        skipped = line.size();
        line.clear();
      }
      if (skipping)
        skipped += piece.size();
      else
        line.append(piece);
      if (newline == std::string_view::npos) break;
      data.remove_prefix(newline + 1);
      if (skipping) {
        too_long(skipped);
        skipping = false;
      } else if (!handle_line(line)) {
        return;
      }
      line.clear();
      if (stop_requested) return;
    }
  }
}

// On stderr, once: the derived CA's fingerprint (comparable between nodes; never the secret), or
// what plaintext on loopback means.
void say_how_the_transport_is_secured(const node_options& opts, const transport_info& transport) {
  if (!transport.ca_fingerprint.empty())
    std::cerr << "grove-node: TLS from the cluster secret; derived CA SHA-256 fingerprint " << transport.ca_fingerprint
              << " (the same on every node with this secret)" << std::endl;
  if (transport.mode == transport_mode::plaintext && is_loopback(opts.address))
    std::cerr << "grove-node: plaintext on loopback: any local process can read and change every group "
              << "(--secret-file requires the cluster secret)" << std::endl;
}

// A replica id that is also safe as a directory name (the default --data is ./grove-data/NAME).
grove::status check_node_name(const std::string& name) {
  auto ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (ok) return {};
  return grove::error(
    grove::errc::invalid_argument,
    "--name " + grove::quote_input(name) + ": 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit");
}

}  // namespace

int main(int argc, char** argv) {
  node_options opts;
  CLI::App app{"grove-node: a CAF node hosting replicated, persisted Grove CRDTs; commands on stdin"};
  app.add_option("--name", opts.name, "replica id of this node")->required();
  app.add_option("--address", opts.address,
                 "address to listen on; beyond loopback it needs TLS, a secret or --insecure");
  app.add_option("--port", opts.port, "port to listen on (0 = any; the bound port is printed)");
  app.add_option("--peer", opts.peers, "HOST:PORT of a node to connect to (repeatable)");
  app.add_option("--store", opts.store, "ets (in memory) or dets (on disk)")->check(CLI::IsMember({"ets", "dets"}));
  app.add_option("--data", opts.data, "directory of the DETS-style store (default ./grove-data/NAME)");
  app.add_option("--sync-interval", opts.sync_ms, "delta broadcast period, ms")->check(CLI::PositiveNumber);
  app.add_option("--snapshot-interval", opts.snapshot_ms, "snapshot period, ms")->check(CLI::PositiveNumber);
  app.add_flag("--durable", opts.durable,
               "each mutation is in the store's log, synced to disk, before it is acknowledged");
  app.add_flag("--json", opts.as_json, "answer with one JSON object per line");
  app.add_option("--max-groups", opts.max_groups, "most groups this node hosts")->check(CLI::PositiveNumber);
  app.add_flag("--on-demand", opts.on_demand,
               "host only groups this node is asked about (default: every group of the cluster)");
  app
    .add_option("--tombstone-lifetime", opts.tombstone_lifetime_s,
                "seconds a dropped group stays dropped (a node back later with it brings it back)")
    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10} * 365 * 24 * 3600));
  app.add_option("--secret-file", opts.secret_file,
                 "file holding the cluster secret (at least 32 bytes); nodes must share it; TLS from it if no --tls-*");
  app.add_option("--tls-certificate", opts.tls.certificate, "PEM certificate of this node, signed by the --tls-ca");
  app.add_option("--tls-key", opts.tls.key, "PEM private key of the certificate");
  app.add_option("--tls-passphrase-file", opts.tls_passphrase_file, "file holding the passphrase of an encrypted key");
  app.add_option("--tls-ca", opts.tls.ca_file, "PEM CA certificates; peers must hold a certificate they signed");
  app.add_flag("--insecure", opts.insecure,
               "allow plaintext without a secret or certificates on a non-loopback --address");
  app.allow_extras();  // CAF's own options
  CLI11_PARSE(app, argc, argv);
  if (auto ok = check_node_name(opts.name); !ok) {
    std::cerr << "grove-node: " << ok.error().to_string() << std::endl;
    return 2;
  }
  if (opts.data.empty()) opts.data = "./grove-data/" + opts.name;

  node_config cfg;
  std::vector<char*> caf_args{argv[0]};
  auto extras = app.remaining();
  for (auto& e : extras) caf_args.push_back(e.data());
  if (auto err = cfg.parse(static_cast<int>(caf_args.size()), caf_args.data())) {
    std::cerr << "grove-node: " << caf::to_string(err) << std::endl;
    return 2;
  }
  auto exposure = exposure_warning(opts);
  auto transport = exposure ? configure_transport(cfg, opts) : grove::expected<transport_info>{exposure.error()};
  if (!transport) {
    std::cerr << "grove-node: " << transport.error().to_string() << std::endl;
    return 2;
  }
  say_how_the_transport_is_secured(opts, *transport);
  // From here on stdout carries grove-node's own lines only: the real one is kept for them, and
  // fd 1 becomes stderr for anything else that writes there (CAF prints unexpected messages there).
  int stdout_fd = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (stdout_fd < 0 || ::dup2(2, 1) < 0) {
    std::cerr << "grove-node: cannot set up stdout: " << std::strerror(errno) << std::endl;
    return 2;
  }
  tools::line_output lines{
    stdout_fd, max_pending_output_bytes, [&](std::uint64_t n) {
      auto text = std::to_string(n) + " output lines were dropped: stdout was not read";
      return opts.as_json ? tools::dump_json({{"event", "output_dropped"}, {"lines", n}}) : "warning: " + text;
    }};
  output = &lines;
  if (::pipe(signal_pipe) != 0) return 2;
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  int rc = 0;
  {
    exit_deadline deadline;  // destroyed after the actor system
    caf::actor_system sys{cfg};
    node n{sys, opts, *transport};
    if (!exposure->empty()) n.warn(*exposure);
    if (auto ok = n.start(); !ok) {
      std::cerr << "grove-node: " << ok.error().to_string() << std::endl;
      rc = 1;
    } else {
      read_lines([&](const std::string& line) { return n.run(line); },
                 [&](std::size_t size) {
                   n.refuse(error(errc::too_large, "a line of " + std::to_string(size) + " bytes is longer than "
                                                     + std::to_string(max_line_bytes) + "; not run"));
                 });
    }
    n.stop();
    lines.close(std::chrono::seconds(2));  // a reader that does not read does not hold up the exit
    deadline.arm(std::chrono::seconds(5), rc);
  }
  return rc;
}
