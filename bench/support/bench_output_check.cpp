// bench_output_check PROGRAM [ARGS...]: runs a benchmark program (the suite runs each one at a tiny
// size, GROVE_BENCH_SCALE=0.001) and fails unless its output is what bench/support/json_lines.hpp
// promises: a first line with the machine, then one line per benchmark run with a name, every line
// a JSON object, no benchmark with an error, exit status 0. Figures are never checked.
#include <iostream>

#include "support/program_output.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_output_check PROGRAM [ARGS...]\n";
    return 2;
  }
  auto out = grove::bench::run_json_lines(std::vector<std::string>(argv + 1, argv + argc));
  bool ok = out.ok;
  if (out.lines.empty() || !out.lines.front().contains("machine")) {
    std::cerr << argv[1] << ": the first line does not describe the machine\n";
    ok = false;
  }
  std::size_t runs = 0;
  for (std::size_t i = 1; i < out.lines.size(); ++i) {
    if (out.lines[i].contains("name") && out.lines[i]["name"].is_string()) {
      ++runs;
    } else {
      std::cerr << argv[1] << ": line " << i + 1 << " has no benchmark name\n";
      ok = false;
    }
  }
  if (runs == 0) {
    std::cerr << argv[1] << ": no benchmark ran\n";
    ok = false;
  }
  std::cout << argv[1] << ": " << runs << " benchmark runs" << (ok ? "" : ", output not as promised") << "\n";
  return ok ? 0 : 1;
}
