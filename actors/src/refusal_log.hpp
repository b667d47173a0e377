// Log lines about refused connections, bounded per source and in all: a peer that retries every
// second, or a port scanner, must not become a flood of writes to stderr (each of which can block
// the thread that makes it when stderr is a slow pipe). Thread-safe: TLS handshakes of several
// actor systems run on their own multiplexer threads. CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <unordered_map>

namespace grove::actors::detail {

class refusal_log {
public:
  /// The first refusal from a source is written at once; further ones from that source at most
  /// once per `repeat_after` (with how many were left out); at most `burst` lines per second in all.
  explicit refusal_log(std::chrono::seconds repeat_after = std::chrono::seconds(30), std::size_t burst = 10)
      : repeat_after_(repeat_after), burst_(burst) {}

  /// Writes `line` to stderr unless `source` (an address) was written about recently.
  void write(const std::string& source, const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (sources_.size() >= max_sources && sources_.count(source) == 0) sources_.clear();
    auto& s = sources_[source];
    if (s.written && now - s.last < repeat_after_) {
      ++s.left_out;
      return;
    }
    if (now - second_start_ >= std::chrono::seconds(1)) {
      second_start_ = now;
      this_second_ = 0;
    }
    if (this_second_ >= burst_) {
      ++s.left_out;
      return;
    }
    ++this_second_;
    std::string text = line;
    if (s.left_out > 0) text += " (and " + std::to_string(s.left_out) + " more from there since the last such line)";
    text += "\n";
    std::cerr.write(text.data(), static_cast<std::streamsize>(text.size()));
    s = source_state{true, now, 0};
  }

private:
  static constexpr std::size_t max_sources = 1024;  // then forgotten at once (only the rate limit stays)

  struct source_state {
    bool written = false;
    std::chrono::steady_clock::time_point last{};
    std::uint64_t left_out = 0;
  };

  std::chrono::seconds repeat_after_;
  std::size_t burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, source_state> sources_;
  std::chrono::steady_clock::time_point second_start_{};
  std::size_t this_second_ = 0;
};

}  // namespace grove::actors::detail
