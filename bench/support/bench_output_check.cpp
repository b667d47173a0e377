// bench_output_check [--fields F[,F...]] PROGRAM [ARGS...]: runs a benchmark program (the suite
// runs each one at a tiny size, GROVE_BENCH_SCALE=0.001) and fails unless its output is what
// bench/support/json_lines.hpp promises: a first line with the machine, then one line per benchmark
// run with a name, every line a JSON object, no benchmark with an error, exit status 0. With
// --fields, every run line must also have each field as a number (a.b: field b of object a).
// Figures are never checked.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "support/program_output.hpp"

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= text.size();) {
    auto end = std::min(text.find(separator, at), text.size());
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// Whether `line` has the (dotted) field as a number.
bool has_number(const nlohmann::json& line, const std::string& field) {
  const nlohmann::json* at = &line;
  for (const auto& part : split(field, '.')) {
    if (!at->is_object() || !at->contains(part)) return false;
    at = &(*at)[part];
  }
  return at->is_number();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> fields;
  if (args.size() >= 2 && args[0] == "--fields") {
    fields = split(args[1], ',');
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) {
    std::cerr << "usage: bench_output_check [--fields F[,F...]] PROGRAM [ARGS...]\n";
    return 2;
  }
  auto out = grove::bench::run_json_lines(args);
  bool ok = out.ok;
  if (out.lines.empty() || !out.lines.front().contains("machine")) {
    std::cerr << args[0] << ": the first line does not describe the machine\n";
    ok = false;
  }
  std::size_t runs = 0;
  for (std::size_t i = 1; i < out.lines.size(); ++i) {
    if (out.lines[i].contains("name") && out.lines[i]["name"].is_string()) {
      ++runs;
      for (const auto& f : fields)
        if (!has_number(out.lines[i], f)) {
          std::cerr << args[0] << ": line " << i + 1 << " has no number " << f << "\n";
          ok = false;
        }
    } else {
      std::cerr << args[0] << ": line " << i + 1 << " has no benchmark name\n";
      ok = false;
    }
  }
  if (runs == 0) {
    std::cerr << args[0] << ": no benchmark ran\n";
    ok = false;
  }
  std::cout << args[0] << ": " << runs << " benchmark runs" << (ok ? "" : ", output not as promised") << "\n";
  return ok ? 0 : 1;
}
