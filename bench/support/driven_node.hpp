// grove-node processes driven by a benchmark (bench/scale_bench, bench/cluster_bench): a node whose
// output a thread reads all the time (a node whose output nobody reads would block), answers in a
// queue, events counted; and what /proc says about a process (CPU time, resident memory).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "node_process.hpp"

namespace grove::bench {

/// A grove-node process started with --json. A reader thread takes its lines: answers go to a
/// queue, events are counted (`hosting`, and `peer_up` minus `peer_down`: the nodes it is connected
/// to), the `listening` event gives its port.
class driven_node {
public:
  /// Starts `args` (args[0]: the grove-node binary); stderr goes to `stderr_file` (this process's
  /// stderr when empty).
  explicit driven_node(std::vector<std::string> args, const std::string& stderr_file = "")
      : process_(std::move(args), stderr_file) {
    reader_ = std::thread([this] { read_lines(); });
  }

  ~driven_node() {
    process_.close_input();
    process_.finish(std::chrono::seconds(60));
    reader_.join();
  }

  driven_node(const driven_node&) = delete;
  driven_node& operator=(const driven_node&) = delete;

  /// The port it listens on (0 if it said none within 60 s).
  int port() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return port_ > 0; });
    return port_;
  }
  /// Whether it said where it listens.
  bool listening() {
    std::lock_guard<std::mutex> guard(mutex_);
    return port_ > 0;
  }
  pid_t pid() const { return process_.pid(); }
  /// `hosting` events so far.
  int hosting() {
    std::lock_guard<std::mutex> guard(mutex_);
    return hosting_;
  }
  /// Other nodes it is connected to, from its `peer_up` and `peer_down` events.
  int nodes_up() {
    std::lock_guard<std::mutex> guard(mutex_);
    return nodes_up_;
  }

  /// Ends its input: the node shuts down (the destructor waits for it).
  void close_input() { process_.close_input(); }

  /// Sends one command line (or several, separated by newlines) without waiting for the answer.
  void send(const std::string& text) { process_.send(text); }

  /// The next answer (null if none comes within 60 s).
  nlohmann::json next_answer() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return !answers_.empty(); });
    if (answers_.empty()) return nlohmann::json();
    auto j = std::move(answers_.front());
    answers_.pop_front();
    return j;
  }

  nlohmann::json ask(const std::string& command) {
    send(command);
    return next_answer();
  }

  /// Sends the commands, `window` at a time, and waits for all their answers.
  void run(const std::vector<std::string>& commands, std::size_t window = 500) {
    for (std::size_t i = 0; i < commands.size(); i += window) {
      std::string batch;
      auto end = std::min(commands.size(), i + window);
      for (auto k = i; k < end; ++k) batch += commands[k] + "\n";
      send(batch.substr(0, batch.size() - 1));
      for (auto k = i; k < end; ++k) next_answer();
    }
  }

  /// Sends `batch GROUP N` and its N lines, and waits for the batch's one answer.
  nlohmann::json run_batch(const std::string& group, const std::vector<std::string>& lines) {
    std::string text = "batch " + group + " " + std::to_string(lines.size());
    for (const auto& l : lines) text += "\n" + l;
    send(text);
    return next_answer();
  }

private:
  void read_lines() {
    while (auto line = process_.read_line(std::chrono::hours(1))) {
      auto j = nlohmann::json::parse(*line, nullptr, false);
      std::lock_guard<std::mutex> guard(mutex_);
      if (j.is_object() && j.contains("event")) {
        const auto& event = j["event"];
        if (event == "hosting") ++hosting_;
        if (event == "peer_up") ++nodes_up_;
        if (event == "peer_down") --nodes_up_;
        if (event == "listening") port_ = j.value("port", 0);
      } else {
        answers_.push_back(std::move(j));
      }
      cv_.notify_all();
    }
  }

  tools::node_process process_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<nlohmann::json> answers_;
  int hosting_ = 0;
  int nodes_up_ = 0;
  int port_ = 0;
};

/// CPU time (user + system) the process has used, in seconds (/proc/PID/stat).
inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto after_name = content.rfind(')');
  if (after_name == std::string::npos) return 0;
  std::istringstream fields(content.substr(after_name + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// CPU of each node over `period`, in percent of one core.
inline std::vector<double> cpu_percent(const std::vector<driven_node*>& nodes, std::chrono::milliseconds period) {
  std::vector<double> before;
  for (auto* n : nodes) before.push_back(cpu_seconds(n->pid()));
  std::this_thread::sleep_for(period);
  std::vector<double> out;
  auto seconds = std::chrono::duration<double>(period).count();
  for (std::size_t i = 0; i < nodes.size(); ++i)
    out.push_back(100.0 * (cpu_seconds(nodes[i]->pid()) - before[i]) / seconds);
  return out;
}

/// Resident memory of the process in MiB (VmRSS of /proc/PID/status; 0 if unreadable).
inline double rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // in kB
  return 0;
}

/// Polls `condition` every 10 ms until it holds or `deadline` passes; whether it held.
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace grove::bench
