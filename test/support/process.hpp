// Runs a program to completion and collects its exit code and stdout.
#pragma once

#include <string>
#include <vector>

#include "node_process.hpp"

namespace grove::testing {

struct process_result {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
};

inline process_result run_process(const std::vector<std::string>& argv) {
  tools::node_process p(argv);
  p.close_input();
  process_result result;
  result.out = p.read_all();
  result.exit_code = p.wait();
  return result;
}

}  // namespace grove::testing
