// grove-node: a Grove node (grove/actors/node.hpp) that takes commands on stdin, one answer line
// per command. It is a shell: command parsing and output. The node (store, membership, listening,
// seeds, hosting, metrics, clean stop) is the library's; grove-node's flags are its grove.*
// options (node_flags.hpp). See `grove-node --help` and docs/operations.md.
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/node.hpp"
#include "grove/crdt/escape.hpp"
#include "line_output.hpp"
#include "node_commands.hpp"
#include "node_flags.hpp"
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

struct config : node_config<> {};

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

// What the printer of events needs to know of the node before it starts.
struct printer_setup {
  std::string name;
  bool as_json = false;
  transport_info transport;
};

// "40 of 100 groups (40%)".
std::string progress_text(const node_event& e) {
  auto percent = e.total == 0 ? 100 : e.done * 100 / e.total;
  return std::to_string(e.done) + " of " + std::to_string(e.total) + " " + e.unit + " (" + std::to_string(percent)
         + "%)";
}

// A node event as grove-node's line: a JSON object with "event" (--json), or text.
std::optional<std::string> event_line(const printer_setup& p, const node_event& e) {
  using kind = node_event::kind;
  auto line = [&](json j, const std::string& text) { return p.as_json ? tools::dump_json(j) : text; };
  switch (e.what) {
    case kind::warning:  // already on stderr (the node says it there)
      if (!p.as_json) return std::nullopt;
      return line({{"event", "warning"}, {"warning", e.detail}}, "");
    case kind::listening: {
      auto colon = e.subject.rfind(':');
      auto address = e.subject.substr(0, colon);
      auto port = std::stoi(e.subject.substr(colon + 1));
      bool tls = p.transport.mode != transport_mode::plaintext;
      json j{{"event", "listening"}, {"name", p.name}, {"address", address},
             {"port", port},         {"tls", tls},     {"transport", to_string(p.transport.mode)}};
      if (!p.transport.ca_fingerprint.empty()) j["ca_fingerprint"] = p.transport.ca_fingerprint;
      if (!e.detail.empty()) j["metrics"] = e.detail;
      return line(j, "grove-node " + p.name + " listening on " + e.subject + (tls ? " (TLS)" : "")
                       + (e.detail.empty() ? "" : "; metrics on http://" + e.detail + "/metrics"));
    }
    case kind::connected: return line({{"event", "connected"}, {"peer", e.subject}}, "connected to " + e.subject);
    case kind::peer_failed:
      return line({{"event", "peer_failed"}, {"peer", e.subject}, {"error", e.detail}},
                  "cannot connect to " + e.subject + " (retrying in the background): " + e.detail);
    case kind::peer_up:
    case kind::peer_down: {
      auto name = std::string(to_string(e.what));
      return line({{"event", name}, {"peer", e.subject}}, "peer " + name.substr(5) + ": " + e.subject);
    }
    case kind::hosting: return line({{"event", "hosting"}, {"group", e.subject}}, "hosting " + e.subject);
    case kind::dropped: return line({{"event", "dropped"}, {"group", e.subject}}, "dropped " + e.subject);
    case kind::restored:
      return line({{"event", "restored"}, {"groups", e.done}}, "restored " + std::to_string(e.done) + " groups");
    case kind::progress:
      return line({{"event", "progress"},
                   {"task", e.detail},
                   {"subject", e.subject},
                   {"done", e.done},
                   {"total", e.total},
                   {"unit", e.unit}},
                  e.detail + " " + e.subject + ": " + progress_text(e));
  }
  return std::nullopt;
}

// Prints the node's events on stdout; progress also as a human line on stderr, where a person who
// waits for a large store or transfer looks.
caf::behavior event_printer(caf::event_based_actor*, printer_setup p) {
  return {
    [=](const node_event& e) {
      if (e.what == node_event::kind::progress)
        std::cerr << "grove-node: " << e.detail << " " << e.subject << ": " << progress_text(e) << std::endl;
      if (auto text = event_line(p, e)) print_event(*text);
    },
  };
}

// The command language on a node: one answer line per command (node_commands.hpp).
class shell {
public:
  shell(caf::actor_system& sys, actors::node& n, bool as_json) : node_(n), as_json_(as_json), self_(sys) {}

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

  // The input ended: a batch still being read is refused whole.
  void end_of_input() {
    if (batch_)
      report_error(error(errc::invalid_argument, "the input ended " + std::to_string(batch_->lines)
                                                   + " lines into a batch of " + std::to_string(batch_->expected)
                                                   + "; none of it was applied"));
    batch_.reset();
  }

  /// Answers an input that was not run.
  void refuse(const error& e) { answer_error(e); }

private:
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
    auto r = reads ? node_.find_replica(*g) : node_.replica(*g);
    if (!r) return answer_error(r.error());
    if (reads) return get(*g, *r, cmd.verb == "size");
    write(*r, {cmd.op});
  }

  // Applies operations as one write at the current write consistency; answers with the number of
  // replicas that merged it.
  void write(const replica_actor& r, std::vector<crdt::operation> ops) {
    replica_count count;
    status result;
    std::optional<level_shortfall> shortfall;
    self_->request(r, request_timeout(write_level_), mutate_atom::value, write_request{std::move(ops), write_level_})
      .receive([&](replica_count& c) { count = c; },
               [&](caf::error& e) {
                 result = from_caf_error(e);
                 shortfall = shortfall_of(e);
               });
    if (!result) return answer_error(result.error(), shortfall);
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
    auto r = node_.replica(done.group);
    if (!r) return answer_error(r.error());
    write(*r, std::move(done.ops));
  }

  // drop GROUP: gone from every node and store; its tombstone keeps it gone (grove.tombstone-lifetime).
  void drop(const storage::group_key& g) {
    if (auto ok = node_.drop(g); !ok) return answer_error(ok.error());
    answer({{"ok", true}, {"dropped", g.to_string()}}, "dropped " + g.to_string());
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
    std::optional<level_shortfall> shortfall;
    self_->request(r, request_timeout(read_level_), read_atom::value, read_level_)
      .receive(
        [&](read_result& x) {
          state = std::move(x.state);
          count = x.count;
        },
        [&](caf::error& e) {
          result = from_caf_error(e);
          shortfall = shortfall_of(e);
        });
    if (!result) return answer_error(result.error(), shortfall);
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
    for (auto& [g, r] : node_.replicas()) {
      names.push_back(g);
      text += (text.empty() ? "" : " ") + g;
    }
    answer({{"ok", true}, {"groups", names}}, text.empty() ? "(none)" : text);
  }

  void peers() {
    auto p = node_.peers();
    json per_group(p.members);
    answer({{"ok", true},
            {"nodes", p.nodes},
            {"members", per_group},
            {"connected", p.connected},
            {"unreachable", p.unreachable}},
           std::to_string(p.nodes) + " other nodes; members per group " + tools::dump_json(per_group)
             + "; unreachable (being retried) " + tools::dump_json(json(p.unreachable)));
  }

  void snapshot() {
    auto saved = node_.snapshot();
    if (!saved) return answer_error(saved.error());
    answer({{"ok", true}, {"groups", *saved}}, "saved " + std::to_string(*saved) + " groups");
  }

  void stats() {
    auto s = node_.stats();
    json storage_json{{"saves", s.storage.saves},
                      {"loads", s.storage.loads},
                      {"commits", s.storage.commits},
                      {"bytes", s.storage.bytes_saved},
                      {"errors", s.storage.errors}};
    answer({{"ok", true}, {"storage", storage_json}, {"groups", s.groups}},
           "storage " + tools::dump_json(storage_json));
  }

  void answer(json j, const std::string& text) { print_answer(as_json_ ? tools::dump_json(j) : text); }

  // With a shortfall (a consistency level not reached), its figures go along as fields.
  void answer_error(const error& e, const std::optional<level_shortfall>& shortfall = std::nullopt) {
    json j{{"ok", false}, {"error", e.to_string()}};
    if (shortfall) {
      j["acks"] = shortfall->acks;
      j["needed"] = shortfall->needed;
      j["replicas"] = shortfall->replicas;
    }
    answer(std::move(j), "error: " + e.to_string());
  }

  // An error that no command waits for (the input ended): it does not wait for the reader.
  void report_error(const error& e) {
    print_event(as_json_ ? tools::dump_json({{"ok", false}, {"error", e.to_string()}}) : "error: " + e.to_string());
  }

  actors::node& node_;
  bool as_json_;
  caf::scoped_actor self_;
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

// A command line longer than this is not run (values and names are far smaller; see docs/operations.md).
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

// A parse error of CAF, or of the grove.* options (category "grove": its message).
std::string render_error(const caf::error& err) {
  if (err.category() == caf::atom("grove")) return from_caf_error(err).to_string();
  return caf::actor_system_config::render(err);
}

}  // namespace

int main(int argc, char** argv) {
  auto command_line = tools::translate_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!command_line) {
    std::cerr << "grove-node: " << command_line.error().to_string() << std::endl;
    return 2;
  }
  if (command_line->help) {
    std::cout << tools::node_usage();
    return 0;
  }
  config cfg;
  if (auto err = cfg.parse(command_line->caf_args)) {  // also checks the grove.* options and secures the transport
    std::cerr << "grove-node: " << render_error(err) << std::endl;
    return 2;
  }
  if (cfg.cli_helptext_printed) return 0;
  const auto& opts = cfg.options();
  bool as_json = command_line->json;
  say_how_the_transport_is_secured(opts, cfg.transport());
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
      return as_json ? tools::dump_json({{"event", "output_dropped"}, {"lines", n}}) : "warning: " + text;
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
    auto printer = sys.spawn(event_printer, printer_setup{opts.name, as_json, cfg.transport()});
    node_setup setup;
    setup.events = printer;
    auto n = actors::node::start(sys, std::move(setup));
    if (!n) {
      std::cerr << "grove-node: " << n.error().to_string() << std::endl;
      rc = 1;
    } else {
      shell commands{sys, *n, as_json};
      read_lines([&](const std::string& line) { return commands.run(line); },
                 [&](std::size_t size) {
                   commands.refuse(error(errc::too_large, "a line of " + std::to_string(size) + " bytes is longer than "
                                                            + std::to_string(max_line_bytes) + "; not run"));
                 });
      commands.end_of_input();
      if (auto ok = n->stop(); !ok)
        std::cerr << "grove-node: warning: stopping: " << ok.error().to_string() << std::endl;
    }
    caf::anon_send_exit(printer, caf::exit_reason::user_shutdown);
    lines.close(std::chrono::seconds(2));  // a reader that does not read does not hold up the exit
    deadline.arm(std::chrono::seconds(5), rc);
  }
  return rc;
}
