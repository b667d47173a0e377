// bench/peer: this project and Erlang/OTP doing the same work in one run, side by side.
//
// Runs the project's benchmark programs (only the benchmarks the table needs) and
// bench/peer/peer.escript (ETS, DETS, gen_server, term_to_binary with the same sizes), in rounds
// that alternate the two sides so both see the same machine, and prints for every row the median
// of the rounds, the spread, and the ratio (higher = project better) against the target:
// first JSON lines, then the same as a Markdown table. When `erl` is not installed the Erlang
// columns say "skipped: erl not installed" and the project's figures are still measured.
//
//   peer_bench [--rounds N] [--scale X] [--programs DIR]
//     --rounds N      rounds of both sides (default 3; the figures are medians)
//     --scale X       sizes times X, in (0, 1] (default 1; the suite runs 0.001 to check the output)
//     --programs DIR  the project's benchmark programs from DIR instead of this build's (to put
//                     another build, say the one before a change, against the same Erlang run)
// Exit status 1 when a benchmark failed or a figure is missing (the table is printed anyway).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/fixtures.hpp"
#include "support/json_lines.hpp"
#include "support/program_output.hpp"
#include "support/scale.hpp"

using json = nlohmann::json;

namespace {

// How a row's figure reads: operations per second (higher is better) or the time of one run of
// the work (lower is better). The ratio is always "how many times better the project is".
enum class measure { rate, duration };

struct row_spec {
  std::string id;
  std::string work;
  std::string program;  // a project benchmark program
  std::string bench;    // its benchmark: the name up to the iteration suffix
  std::string erlang;   // the escript's benchmark name
  std::string erlang_what;
  measure how;
  double target;  // ratio the issue asks for; 0 = no target
};

const std::vector<row_spec>& rows() {
  static const std::vector<row_spec> all = {
    {"inmem_save", "in-memory save, 1M over 10k keys", "storage_bench", "ets_save", "ets_insert", "ets:insert",
     measure::rate, 1.5},
    {"inmem_load", "in-memory load, 1M over 10k keys", "storage_bench", "ets_load", "ets_lookup", "ets:lookup",
     measure::rate, 1.5},
    {"durable_save", "durable save with a sync each, direct", "storage_bench", "dets_durable_save", "dets_insert_sync",
     "dets:insert + dets:sync", measure::rate, 3},
    {"durable_save_actor", "durable save with a sync each, through the storage actor / a gen_server",
     "storage_actor_bench", "actor_durable_save/1", "dets_insert_sync_gen_server", "gen_server + dets:insert + sync",
     measure::rate, 3},
    {"reopen", "reopen 10k entries, list, load each", "storage_bench", "dets_reopen_list_load_all",
     "dets_reopen_list_lookup", "dets:open_file + select + lookup", measure::duration, 10},
    {"big_save_dets", "one 40 MiB value saved durably", "storage_bench", "dets_durable_save_40mb",
     "dets_big_insert_sync", "dets:insert + dets:sync", measure::duration, 0},
    {"big_save_file", "one 40 MiB value saved durably, against the plain file", "storage_bench",
     "dets_durable_save_40mb", "term_to_binary_write_fsync", "term_to_binary + write + fsync", measure::duration, 1},
    {"rr_pipelined", "request/response, 1M loads pipelined (storage actor)", "storage_actor_bench",
     "actor_load_pipelined/thread:0", "gen_server_load_pipelined", "gen_server calls, pipelined", measure::rate, 1.5},
    {"rr_one_at_a_time", "request/response, 1M loads one at a time (storage actor)", "storage_actor_bench",
     "actor_load_one_at_a_time", "gen_server_call_load", "gen_server:call", measure::rate, 1.2},
    {"rr_increments", "request/response, 1M increments one at a time (replication server)", "replication_bench",
     "increments_request_response", "gen_server_call_increment", "gen_server:call", measure::rate, 1.2},
    {"one_way", "one-way increments, 1M from one client (replication server, through a mutation_writer)",
     "replication_bench", "increments_one_way/1", "gen_server_cast_increment", "gen_server:cast", measure::rate, 1.5},
    {"one_way_messages", "one-way increments, 1M from one client, a CAF message each", "replication_bench",
     "increments_one_message_each/1", "gen_server_cast_increment", "gen_server:cast", measure::rate, 0},
    {"encode", "encode a 1M-element OR-set", "codec_bench", "orset_encode_1m/0", "orset_term_to_binary",
     "term_to_binary", measure::duration, 4},
    {"decode", "decode it", "codec_bench", "orset_decode_1m/0", "orset_binary_to_term", "binary_to_term",
     measure::duration, 4},
    {"encode_compressed", "encode it compressed (zstd-1 / zlib-6)", "codec_bench", "orset_encode_1m/1",
     "orset_term_to_binary_compressed", "term_to_binary [{compressed, 6}]", measure::duration, 10},
  };
  return all;
}

struct options {
  int rounds = 3;
  double scale = 1;
  std::string programs;  // a directory with the benchmark programs, or "" for this build's
};

// The benchmark programs: this build's (paths from CMake) or those in opts.programs.
std::map<std::string, std::string> programs(const options& opts) {
  std::map<std::string, std::string> all = {
    {"storage_bench", STORAGE_BENCH},
    {"storage_actor_bench", STORAGE_ACTOR_BENCH},
    {"replication_bench", REPLICATION_BENCH},
    {"codec_bench", CODEC_BENCH},
  };
  if (!opts.programs.empty())
    for (auto& [name, path] : all) path = opts.programs + "/" + name;
  return all;
}

// One side's figures of one round: benchmark name -> its JSON line.
using results = std::map<std::string, json>;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Google Benchmark appends "/iterations:N", "/real_time" and such to a benchmark's name.
bool names_bench(const std::string& name, const std::string& bench) {
  return name == bench || starts_with(name, bench + "/iterations:") || starts_with(name, bench + "/real_time")
         || starts_with(name, bench + "/manual_time");
}

// The project's side of one round: each program once, with only the benchmarks the rows need.
results run_project(const options& opts, bool& failed, std::optional<double>& fdatasync_us) {
  results out;
  for (const auto& [program, path] : programs(opts)) {
    std::string filter;
    for (const auto& r : rows())
      if (r.program == program) filter += (filter.empty() ? "" : "|") + r.bench;
    if (program == "storage_bench") filter += "|disk_fdatasync_4k";
    auto output = grove::bench::run_json_lines({path, "--benchmark_filter=^(" + filter + ")(/|$)"});
    failed |= !output.ok;
    for (auto& j : output.lines) {
      if (!j.contains("name")) continue;
      auto name = j["name"].get<std::string>();
      if (starts_with(name, "disk_fdatasync_4k") && j.contains("real_time_ns"))
        fdatasync_us = j["real_time_ns"].get<double>() / 1e3;
      for (const auto& r : rows())
        if (r.program == program && names_bench(name, r.bench)) out[r.id] = j;
    }
  }
  return out;
}

// The Erlang side of one round: the escript with the project's sizes at this scale.
results run_erlang(const std::string& escript, bool& failed, json& runtime) {
  using grove::bench::scaled;
  std::vector<std::string> argv = {
    escript,
    PEER_ESCRIPT,
    "ops=" + std::to_string(scaled(1'000'000)),
    "keys=" + std::to_string(grove::bench::group_count),
    "value_bytes=" + std::to_string(grove::bench::counter_state().size()),
    "durable_saves=" + std::to_string(scaled(2'000)),
    "big_bytes=" + std::to_string(scaled(std::int64_t{40} << 20)),
    "set_elements=" + std::to_string(scaled(1'000'000)),
    "dir=" + grove::bench::scratch_dir(),
  };
  results out;
  auto output = grove::bench::run_json_lines(argv);
  failed |= !output.ok;
  for (auto& j : output.lines) {
    if (j.contains("erlang")) runtime = j["erlang"];
    if (!j.contains("name")) continue;
    for (const auto& r : rows())
      if (r.erlang == j["name"].get<std::string>()) out[r.id] = j;
  }
  return out;
}

// A row's figure from one side's JSON line: operations per second, or milliseconds per run.
std::optional<double> project_figure(const row_spec& r, const json& j) {
  if (r.how == measure::rate) {
    if (!j.contains("items_per_second")) return std::nullopt;
    return j["items_per_second"].get<double>();
  }
  if (!j.contains("real_time_ns")) return std::nullopt;
  return j["real_time_ns"].get<double>() / 1e6;
}

std::optional<double> erlang_figure(const row_spec& r, const json& j) {
  if (!j.contains("seconds") || !j.contains("items")) return std::nullopt;
  double seconds = j["seconds"].get<double>();
  if (r.how == measure::duration) return seconds * 1e3;
  if (seconds <= 0) return std::nullopt;
  return j["items"].get<double>() / seconds;
}

struct spread {
  double median = 0, min = 0, max = 0;
};

std::optional<spread> spread_of(std::vector<double> xs) {
  if (xs.empty()) return std::nullopt;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  double median = n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  return spread{median, xs.front(), xs.back()};
}

std::string format_figure(measure how, double x) {
  std::ostringstream out;
  out << std::fixed;
  if (how == measure::duration) {
    out << std::setprecision(x < 10 ? 2 : 1) << x << " ms";
  } else if (x >= 1e6) {
    out << std::setprecision(2) << x / 1e6 << " M/s";
  } else if (x >= 1e4) {
    out << std::setprecision(0) << x / 1e3 << " k/s";
  } else {
    out << std::setprecision(0) << x << "/s";
  }
  return out.str();
}

std::string format_ratio(double x) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(x == std::floor(x) ? 0 : x < 10 ? 2 : 1) << x << "x";
  return out.str();
}

std::string format_spread(measure how, const spread& s, int rounds) {
  if (rounds < 2) return format_figure(how, s.median);
  return format_figure(how, s.median) + " (" + format_figure(how, s.min) + " to " + format_figure(how, s.max) + ")";
}

json spread_json(const spread& s) { return {{"median", s.median}, {"min", s.min}, {"max", s.max}}; }

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return text;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

bool parse_options(int argc, char** argv, options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 < argc && arg == "--rounds") {
      opts.rounds = std::atoi(argv[++i]);
    } else if (i + 1 < argc && arg == "--scale") {
      opts.scale = std::atof(argv[++i]);
    } else if (i + 1 < argc && arg == "--programs") {
      opts.programs = argv[++i];
    } else {
      return false;
    }
  }
  return opts.rounds >= 1 && opts.scale > 0 && opts.scale <= 1;
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  if (!parse_options(argc, argv, opts)) {
    std::cerr << "usage: peer_bench [--rounds N (>= 1)] [--scale X (0 < X <= 1)] [--programs DIR]\n";
    return 2;
  }
  // The project's programs read their sizes from the environment (bench/support/scale.hpp).
  ::setenv("GROVE_BENCH_SCALE", std::to_string(opts.scale).c_str(), 1);
  std::string command = "peer_bench";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];

  auto escript = grove::bench::find_in_path("erl") ? grove::bench::find_in_path("escript") : std::nullopt;
  auto started = now_utc();
  auto load_before = load_average();
  bool failed = false;
  std::optional<double> fdatasync_us;
  json runtime = nullptr;
  std::map<std::string, std::vector<double>> project, erlang;
  for (int round = 0; round < opts.rounds; ++round) {
    std::cerr << "peer_bench: round " << round + 1 << " of " << opts.rounds << "\n";
    auto ours = run_project(opts, failed, fdatasync_us);
    results theirs;
    if (escript) theirs = run_erlang(*escript, failed, runtime);
    for (const auto& r : rows()) {
      if (auto it = ours.find(r.id); it != ours.end())
        if (auto x = project_figure(r, it->second)) project[r.id].push_back(*x);
      if (auto it = theirs.find(r.id); it != theirs.end())
        if (auto x = erlang_figure(r, it->second)) erlang[r.id].push_back(*x);
    }
  }

  const std::string skipped = "skipped: erl not installed";
  json header = {{"date", started},
                 {"command", command},
                 {"cpu", grove::bench::cpu_model()},
                 {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                 {"load_before", load_before},
                 {"load_after", load_average()},
                 {"rounds", opts.rounds},
                 {"scale", opts.scale},
                 {"erlang", escript ? runtime : json(skipped)}};
  if (fdatasync_us) header["fdatasync_4k_us"] = *fdatasync_us;
  std::cout << json{{"peer_bench", header}}.dump() << "\n";

  std::ostringstream table;
  table << "| Work | Project | Erlang/OTP | Ratio (higher = project better) | Target |\n|---|---|---|---|---|\n";
  for (const auto& r : rows()) {
    auto ours = spread_of(project[r.id]);
    auto theirs = spread_of(erlang[r.id]);
    if (!ours || (escript && !theirs)) {
      std::cerr << "peer_bench: no figure for " << r.id << "\n";
      failed = true;
    }
    json line = {{"row", r.id}, {"work", r.work}, {"unit", r.how == measure::rate ? "ops/s" : "ms"}};
    std::string ratio_text, target_text = r.target > 0 ? ">= " + format_ratio(r.target) : "";
    if (ours) line["project"] = spread_json(*ours);
    if (theirs) line["erlang"] = spread_json(*theirs);
    line["erlang_what"] = r.erlang_what;
    if (ours && theirs && ours->median > 0 && theirs->median > 0) {
      double ratio = r.how == measure::rate ? ours->median / theirs->median : theirs->median / ours->median;
      line["ratio"] = ratio;
      ratio_text = format_ratio(ratio);
      if (r.target > 0) {
        line["target"] = r.target;
        line["met"] = ratio >= r.target;
        if (ratio < r.target) ratio_text = "**" + ratio_text + "**";
      }
    } else if (!escript) {
      ratio_text = skipped;
    }
    std::cout << line.dump() << "\n";
    table << "| " << r.work << " | " << (ours ? format_spread(r.how, *ours, opts.rounds) : "failed") << " | "
          << (theirs    ? r.erlang_what + " " + format_spread(r.how, *theirs, opts.rounds)
              : escript ? "failed"
                        : skipped)
          << " | " << ratio_text << " | " << target_text << " |\n";
  }
  std::cout << "\n" << table.str();
  std::cout << "\n"
            << header["date"].get<std::string>() << ", " << header["cpu"].get<std::string>() << " (" << header["cpus"]
            << " CPUs), load " << load_before << " before, " << header["load_after"].get<std::string>() << " after; "
            << command << "; medians of " << opts.rounds << " round(s)";
  if (fdatasync_us)
    std::cout << "; pwrite + fdatasync of 4 KiB: " << std::fixed << std::setprecision(0) << *fdatasync_us << " us";
  std::cout << "\n";
  return failed ? 1 : 0;
}
