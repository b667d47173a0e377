// Drives a child process through its stdin and stdout (fork + exec, two pipes): grove-node for the
// demo and the end-to-end tests, and the probes of the storage tests. Every read has a deadline.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace grove::tools {

class node_process {
public:
  /// Starts `argv[0]` with the given arguments; its stderr goes to the file `stderr_file`, or to
  /// this process's stderr when that is empty.
  explicit node_process(const std::vector<std::string>& argv, const std::string& stderr_file = "") {
    int in[2], out[2];
    // Close-on-exec: a node started later must not hold this node's stdin open.
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      if (!stderr_file.empty()) {
        int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (err >= 0) ::dup2(err, 2);
      }
      for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
  }

  ~node_process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    close_fds();
  }

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  pid_t pid() const { return pid_; }

  /// Sends one command line.
  void send(const std::string& line) {
    std::string data = line + "\n";
    for (std::size_t done = 0; done < data.size();) {
      ssize_t n = ::write(to_child_, data.data() + done, data.size() - done);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

  /// The next output line, or nothing if none arrives within `deadline`.
  std::optional<std::string> read_line(std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{from_child_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(from_child_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// The next output line as JSON (the node runs with --json); a null value on timeout.
  nlohmann::json read_json(std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    auto line = read_line(deadline);
    if (!line) return nullptr;
    return nlohmann::json::parse(*line, nullptr, false);
  }

  /// Sends a command and returns its answer (skipping event lines such as "connected").
  nlohmann::json ask(const std::string& command) {
    send(command);
    for (;;) {
      auto j = read_json();
      if (!j.is_object() || !j.contains("event")) return j;
    }
  }

  /// Reads lines until one is a JSON object whose "event" is `event`; returns it (null on timeout).
  nlohmann::json wait_for_event(const std::string& event,
                                std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return nullptr;
      auto j = read_json(left);
      if (j.is_null()) return nullptr;
      if (j.is_object() && j.value("event", "") == event) return j;
    }
  }

  /// Bytes the process wrote to its stdout that nobody has read yet (in the pipe and here).
  std::size_t unread_bytes() const {
    int in_pipe = 0;
    ::ioctl(from_child_, FIONREAD, &in_pipe);
    return buffer_.size() + static_cast<std::size_t>(in_pipe);
  }

  /// Waits at most `deadline` for the process to end; its exit code, or nothing if it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!exited_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else if (std::chrono::steady_clock::now() >= until) {
        return std::nullopt;
      } else {
        ::usleep(10000);
      }
    }
    return exit_code_;
  }

  /// kill -9.
  void kill9() {
    ::kill(pid_, SIGKILL);
    wait();
  }

  /// Closes the process's stdin (end of input).
  void close_input() {
    if (to_child_ >= 0) {
      ::close(to_child_);
      to_child_ = -1;
    }
  }

  /// Everything the process writes until it closes its stdout (or `deadline` passes).
  std::string read_all(std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    std::string out;
    while (auto line = read_line(deadline)) out += *line + "\n";
    out += buffer_;  // a last line without a newline
    buffer_.clear();
    return out;
  }

  /// Ends input (the node shuts down cleanly) and returns its exit code; a node that has not
  /// exited within `deadline` is killed and -1 returned.
  int finish(std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    close_input();
    if (auto code = wait_for(deadline)) return *code;
    kill9();
    return -1;
  }

  /// Waits for the process; returns its exit code (128 + signal when killed).
  int wait() {
    if (exited_) return exit_code_;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

private:
  void close_fds() {
    for (int* fd : {&to_child_, &from_child_})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
  }

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
  bool exited_ = false;
  int exit_code_ = -1;
};

}  // namespace grove::tools
