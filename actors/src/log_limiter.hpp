// Log lines of one actor, bounded: a flood of bad messages from a peer must not become a flood of
// writes to stderr, each of which can block a scheduler thread when stderr is a slow pipe.
// Used from within one actor (no locking). CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

namespace grove::actors::detail {

class log_limiter {
public:
  /// At most `burst` lines per `period`; the rest are counted, and the count is written with the
  /// next line that goes out (or when the limiter is destroyed).
  explicit log_limiter(std::size_t burst = 10, std::chrono::milliseconds period = std::chrono::seconds(1))
      : burst_(burst), period_(period) {}

  ~log_limiter() { flush_suppressed(); }

  log_limiter(const log_limiter&) = delete;
  log_limiter& operator=(const log_limiter&) = delete;

  /// Writes `line` (without its newline) to stderr unless this period's lines are used up.
  void write(const std::string& line) {
    auto now = std::chrono::steady_clock::now();
    if (now - period_start_ >= period_) {
      period_start_ = now;
      written_ = 0;
    }
    if (written_ >= burst_) {
      ++suppressed_;
      ++suppressed_total_;
      return;
    }
    ++written_;
    flush_suppressed();
    emit(line + "\n");
  }

  /// Lines not written since this limiter was made.
  std::uint64_t suppressed_total() const { return suppressed_total_; }

private:
  void flush_suppressed() {
    if (suppressed_ == 0) return;
    emit("[grove] (" + std::to_string(suppressed_) + " more lines like the ones above were not written)\n");
    suppressed_ = 0;
  }

  // One write per line, so lines of several actors do not interleave within a line.
  static void emit(const std::string& text) { std::cerr.write(text.data(), static_cast<std::streamsize>(text.size())); }

  std::size_t burst_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point period_start_{};
  std::size_t written_ = 0;
  std::uint64_t suppressed_ = 0;
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace grove::actors::detail
