// grove-node's stdout: every line goes through one writer thread and a bounded buffer, so that a
// reader that does not keep up (or never reads) cannot block whoever made the line: an actor on a
// CAF scheduler thread, or the command loop while it should notice SIGTERM.
//
// Two policies. Answers to commands wait for room (the command loop then stops reading input: the
// reader's own backpressure), unless the caller gives up (a signal arrived). Everything else
// (events from actors, warnings) never waits: when the buffer is full it is dropped and counted,
// a warning goes to stderr, and once the reader catches up a notice line says how many were lost.
#pragma once

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>

namespace grove::tools {

class line_output {
public:
  /// Writes to `fd` (which it then owns) from its own thread; at most `max_pending_bytes` wait in
  /// the buffer (a single longer line is taken when the buffer is empty). `notice(n)` is the line
  /// that reports n dropped lines to the reader.
  line_output(int fd, std::size_t max_pending_bytes, std::function<std::string(std::uint64_t)> notice)
      : fd_(fd), max_pending_(max_pending_bytes), notice_(std::move(notice)), writer_([this] { run(); }) {}

  ~line_output() { close(std::chrono::milliseconds(0)); }

  line_output(const line_output&) = delete;
  line_output& operator=(const line_output&) = delete;

  /// Queues an answer, waiting for room while `give_up()` is false (checked every 50 ms). False if
  /// it was dropped instead.
  bool write_waiting(std::string line, const std::function<bool()>& give_up) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!fits(line.size()) && !closing_) {
      if (give_up()) return drop(lock);
      room_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return push(lock, std::move(line));
  }

  /// Queues a line if it fits; otherwise drops it (counted, and warned about on stderr).
  bool write_or_drop(std::string line) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!fits(line.size())) return drop(lock);
    return push(lock, std::move(line));
  }

  /// Lines dropped so far (the buffer was full, or the reader closed its end).
  std::uint64_t dropped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return dropped_total_;
  }

  /// Writes what is queued for at most `deadline`, drops the rest (saying so on stderr) and stops
  /// the writer thread. Later lines are dropped.
  void close(std::chrono::milliseconds deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!writer_.joinable()) return;
    closing_ = true;
    work_.notify_all();
    room_.notify_all();
    if (!drained_.wait_for(lock, deadline, [this] { return queue_.empty(); })) {
      abandoned_ = true;
      auto left = queue_.size();
      lock.unlock();
      std::cerr << "grove-node: warning: stdout was not read; " << left << " lines could not be written before exit"
                << std::endl;
      lock.lock();
    }
    lock.unlock();
    writer_.join();
    ::close(fd_);
  }

private:
  bool fits(std::size_t size) const { return queue_.empty() || pending_ + size + 1 <= max_pending_; }

  bool push(std::unique_lock<std::mutex>&, std::string line) {
    if (closing_ && !writer_running_) return false;
    pending_ += line.size() + 1;
    queue_.push_back(std::move(line));
    work_.notify_one();
    return true;
  }

  bool drop(std::unique_lock<std::mutex>& lock) {
    ++dropped_total_;
    ++dropped_unreported_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_warning_ < std::chrono::seconds(10)) return false;
    last_warning_ = now;
    auto total = dropped_total_;
    lock.unlock();  // stderr may be slow too: not while holding the buffer
    std::cerr << "grove-node: warning: stdout is not read fast enough; " << total
              << " output lines dropped so far (answers wait for the reader, other lines are dropped)" << std::endl;
    lock.lock();
    return false;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty() || abandoned_) break;
      std::string text;
      if (dropped_unreported_ > 0 && !broken_) {
        text = notice_(dropped_unreported_) + "\n";
        dropped_unreported_ = 0;
      }
      text += queue_.front() + "\n";
      lock.unlock();
      bool written = !broken_ && write_all(text);
      lock.lock();
      if (!written) {
        ++dropped_total_;
        broken_ = broken_ || !abandoned_;
      }
      pending_ -= queue_.front().size() + 1;
      queue_.pop_front();
      room_.notify_all();
      if (queue_.empty()) drained_.notify_all();
    }
    writer_running_ = false;
    drained_.notify_all();
  }

  // Writes in pieces a pipe takes without blocking once poll says it has room, so that the
  // thread notices `abandoned_` within 100 ms even when nobody reads. False when the reader has
  // gone (EPIPE) or the output was abandoned.
  bool write_all(const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
      pollfd p{fd_, POLLOUT, 0};
      int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (abandoned_) return false;
        continue;
      }
      auto n = ::write(fd_, text.data() + done, std::min<std::size_t>(text.size() - done, 4096));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  int fd_;
  std::size_t max_pending_;
  std::function<std::string(std::uint64_t)> notice_;
  mutable std::mutex mutex_;
  std::condition_variable work_, room_, drained_;
  std::deque<std::string> queue_;
  std::size_t pending_ = 0;  // bytes queued, newlines included
  std::uint64_t dropped_total_ = 0;
  std::uint64_t dropped_unreported_ = 0;  // not yet reported to the reader by a notice line
  std::chrono::steady_clock::time_point last_warning_{};
  bool closing_ = false;
  bool abandoned_ = false;  // close() gave up on the reader
  bool broken_ = false;     // the reader closed its end: everything is dropped
  bool writer_running_ = true;
  std::thread writer_;  // last: starts after the members it uses exist
};

}  // namespace grove::tools
