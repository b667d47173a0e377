// Runs a benchmark program and reads its JSON lines: for bench/peer, which puts the figures of
// several programs side by side, and for the suite's check that every benchmark runs and prints
// output that parses.
#pragma once

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "node_process.hpp"

namespace grove::bench {

/// The JSON objects a program printed, one per line, and whether everything went right: every
/// line parsed, no line reports an "error", and the program exited with status 0. What went wrong
/// is said on stderr (lines quoted at most 200 bytes).
struct program_output {
  std::vector<nlohmann::json> lines;
  bool ok = true;
};

inline program_output run_json_lines(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds deadline = std::chrono::hours(2)) {
  program_output out;
  grove::tools::node_process p(argv);
  p.close_input();
  while (auto line = p.read_line(deadline)) {
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_object()) {
      std::cerr << argv[0] << " printed a line that is not a JSON object: " << line->substr(0, 200) << "\n";
      out.ok = false;
      continue;
    }
    if (j.contains("error")) {
      std::cerr << argv[0] << ": " << j.dump().substr(0, 200) << "\n";
      out.ok = false;
    }
    out.lines.push_back(std::move(j));
  }
  if (int rc = p.finish(deadline); rc != 0) {
    std::cerr << argv[0] << " exited with status " << rc << "\n";
    out.ok = false;
  }
  return out;
}

/// The full path of `command` in $PATH, if it is there.
inline std::optional<std::string> find_in_path(const std::string& command) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = (dir.empty() ? "." : dir) + "/" + command;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

}  // namespace grove::bench
