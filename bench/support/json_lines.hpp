// A Google Benchmark reporter that prints one JSON object per line: first the machine, then one
// line per benchmark run. Easy to grep, diff and paste into docs/benchmarks.md.
#pragma once

#include <benchmark/benchmark.h>

#include <unistd.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace grove::bench {

inline std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

/// First "model name" of /proc/cpuinfo, so figures can be read against the machine.
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

class json_lines_reporter : public benchmark::BenchmarkReporter {
public:
  bool ReportContext(const Context& context) override {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    std::cout << "{\"machine\":{\"host\":\"" << json_escape(host) << "\",\"cpu\":\"" << json_escape(cpu_model())
              << "\",\"cpus\":" << context.cpu_info.num_cpus << ",\"mhz\":" << context.cpu_info.cycles_per_second / 1e6
              << "}}" << std::endl;
    return true;
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.error_occurred) {
        std::cout << "{\"name\":\"" << json_escape(run.benchmark_name()) << "\",\"error\":\""
                  << json_escape(run.error_message) << "\"}" << std::endl;
        continue;
      }
      std::ostringstream line;
      line << "{\"name\":\"" << json_escape(run.benchmark_name()) << "\",\"iterations\":" << run.iterations
           << ",\"real_time_ns\":" << run.GetAdjustedRealTime() * to_ns(run.time_unit)
           << ",\"cpu_time_ns\":" << run.GetAdjustedCPUTime() * to_ns(run.time_unit);
      for (const auto& [name, counter] : run.counters) line << ",\"" << json_escape(name) << "\":" << counter.value;
      line << "}";
      std::cout << line.str() << std::endl;
    }
  }

private:
  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond: return 1;
      case benchmark::kMicrosecond: return 1e3;
      case benchmark::kMillisecond: return 1e6;
      case benchmark::kSecond: return 1e9;
    }
    return 1;
  }
};

/// main() for every benchmark program: Google Benchmark's flags, JSON-lines output.
inline int run_benchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  json_lines_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace grove::bench
