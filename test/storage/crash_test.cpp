// What survives kill -9 and damaged files: a child process saves and reports each acknowledged
// save through a pipe, the parent kills it at a random moment and reopens the file.
#define BOOST_TEST_MODULE storage_crash
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grove/crdt/all.hpp"
#include "grove/storage/dets_backend.hpp"
#include "support/printing.hpp"
#include "support/temp_dir.hpp"

using namespace grove::storage;
using grove::crdt::gcounter;
using grove::testing::temp_dir;

namespace {

constexpr int groups_in_use = 50;

group_key group_of(std::uint64_t i) { return group_key{"counter", "g" + std::to_string(i % groups_in_use)}; }

// Child: saves gcounters whose value is the save's sequence number, forever, and writes each
// sequence number to `report` once its save returned success.
[[noreturn]] void save_forever(const dets_options& opts, std::uint64_t first, int report) {
  auto b = open_dets(opts);
  if (!b) ::_exit(3);
  for (std::uint64_t i = first;; ++i) {
    gcounter c("writer");
    BOOST_REQUIRE(c.increment(i));
    if (!save(**b, group_of(i), c)) ::_exit(4);
    if (::write(report, &i, sizeof i) != sizeof i) ::_exit(5);
  }
}

// Reads whatever the child reported within `window`, then kills it and reads the rest.
std::map<std::string, std::uint64_t> kill_during_saves(const dets_options& opts, std::uint64_t first,
                                                       std::chrono::milliseconds window) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    save_forever(opts, first, fds[1]);
  }
  ::close(fds[1]);
  std::map<std::string, std::uint64_t> acknowledged;  // group -> last acknowledged value
  // Reads reports until `until` (or, after the kill, until the pipe is empty and closed).
  auto drain = [&](std::chrono::steady_clock::time_point until, int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    std::uint64_t i = 0;
    while (std::chrono::steady_clock::now() < until) {
      int ready = ::poll(&p, 1, timeout_ms);
      if (ready == 0 && timeout_ms == 0) return;  // nothing left to read
      if (ready <= 0) continue;
      if (::read(fds[0], &i, sizeof i) != sizeof i) return;  // the child is gone and the pipe empty
      acknowledged[group_of(i).name] = i;
    }
  };
  drain(std::chrono::steady_clock::now() + window, 1);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  drain(std::chrono::steady_clock::time_point::max(), 0);
  ::close(fds[0]);
  return acknowledged;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_acknowledged_durable_save_survives_kill_9) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("crash.grove");
  opts.durable = true;
  opts.initial_map_size = 1 << 20;  // growth happens during the rounds too
  std::mt19937 rng(20261126);
  std::map<std::string, std::uint64_t> expected;
  for (int round = 0; round < 24; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      auto window = std::chrono::milliseconds(5 + rng() % 200);
      auto acked = kill_during_saves(opts, static_cast<std::uint64_t>(round) * 1'000'000 + 1, window);
      for (auto& [name, value] : acked) expected[name] = value;
      auto started = std::chrono::steady_clock::now();
      auto b = open_dets(opts);
      auto reopen_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      BOOST_TEST_MESSAGE("round " << round << ": killed after " << window.count() << " ms, " << acked.size()
                                  << " groups acknowledged, reopen " << reopen_ms << " ms");
      BOOST_REQUIRE_MESSAGE(b, "reopen failed: " + (b ? std::string() : b.error().to_string()));
      for (const auto& [name, value] : expected) {
        auto c = load<gcounter>(**b, group_key{"counter", name});
        BOOST_REQUIRE(c);
        BOOST_REQUIRE(c->has_value());
        BOOST_TEST((*c)->value() >= value, name << " holds " << (*c)->value() << ", acknowledged " << value);
      }
    }
  }
  BOOST_TEST(expected.size() == std::size_t{groups_in_use});
}

BOOST_AUTO_TEST_CASE(after_kill_9_in_write_behind_mode_every_group_holds_a_valid_value) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("behind.grove");
  opts.auto_save = std::chrono::milliseconds(10);
  std::mt19937 rng(7);
  std::size_t groups_seen = 0;
  for (int round = 0; round < 20; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      kill_during_saves(opts, static_cast<std::uint64_t>(round) * 1'000'000 + 1,
                        std::chrono::milliseconds(20 + rng() % 100));
      auto b = open_dets(opts);
      BOOST_REQUIRE_MESSAGE(b, "reopen failed: " + (b ? std::string() : b.error().to_string()));
      auto listed = (*b)->list_groups();
      BOOST_REQUIRE(listed);
      for (const auto& key : *listed) {
        auto c = load<gcounter>(**b, key);
        BOOST_TEST(bool(c), key.to_string() << ": " << (c ? "" : c.error().to_string()));
      }
      groups_seen = listed->size();
    }
  }
  BOOST_TEST(groups_seen == std::size_t{groups_in_use});  // flushes did happen
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string marker(int i) { return "marker-" + std::to_string(i) + "-" + std::string(200, static_cast<char>('a' + i)); }

}  // namespace

BOOST_AUTO_TEST_CASE(damaged_bytes_in_the_file_fail_only_the_group_they_hit) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("damaged.grove");
  opts.durable = true;
  {
    auto b = std::move(*open_dets(opts));
    for (int i = 0; i < 20; ++i) {
      grove::crdt::lww_register<std::string> r("w");
      r.set(marker(i));
      BOOST_REQUIRE(save(*b, group_key{"register", std::to_string(i)}, r));
    }
  }
  auto bytes = read_file(opts.file);
  auto at = bytes.find(marker(7));
  BOOST_REQUIRE(at != std::string::npos);
  bytes[at + 100] ^= 0x01;
  write_file(opts.file, bytes);

  auto b = std::move(*open_dets(opts));
  for (int i = 0; i < 20; ++i) {
    auto r = load<grove::crdt::lww_register<std::string>>(*b, group_key{"register", std::to_string(i)});
    if (i == 7) {
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().code() == grove::errc::checksum_mismatch);
      BOOST_TEST(r.error().message().find("register:7") != std::string::npos);
    } else {
      BOOST_REQUIRE(r);
      BOOST_TEST(*(*r)->value() == marker(i));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_file_with_both_header_pages_destroyed_is_refused_clearly) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("headless.grove");
  {
    auto b = std::move(*open_dets(opts));
    BOOST_REQUIRE(b->save(group_key{"k", "n"}, "v"));
  }
  auto bytes = read_file(opts.file);
  BOOST_REQUIRE(bytes.size() > 8192);
  std::fill(bytes.begin(), bytes.begin() + 8192, '\xA5');
  write_file(opts.file, bytes);
  auto r = open_dets(opts);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == grove::errc::not_a_store);
}

// -- the journal of a durable store (storage/src/journal.hpp) ---------------------------------------

namespace {

// Runs `writes` on a durable store in a child process that then ends with _exit: no destructor
// runs, so nothing is checkpointed at close, as after kill -9 right after the last write returned.
template <class F>
void crash_after(const dets_options& opts, F writes) {
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    auto b = open_dets(opts);
    if (!b) ::_exit(3);
    ::_exit(writes(**b) ? 0 : 4);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE(WIFEXITED(status));
  BOOST_REQUIRE_EQUAL(WEXITSTATUS(status), 0);
}

dets_options durable_at(const std::string& file) {
  dets_options opts;
  opts.file = file;
  opts.durable = true;
  return opts;
}

// Saves groups k:0 .. k:count-1 holding prefix + their number.
bool save_numbered(backend& b, int count, const std::string& prefix) {
  for (int i = 0; i < count; ++i)
    if (!b.save(group_key{"k", std::to_string(i)}, prefix + std::to_string(i))) return false;
  return true;
}

std::string loaded(backend& b, const group_key& g) {
  auto v = b.load(g);
  if (!v) return "error: " + v.error().to_string();
  return *v ? **v : "<none>";
}

}  // namespace

BOOST_AUTO_TEST_CASE(durable_writes_since_the_last_checkpoint_come_back_from_the_journal) {
  temp_dir dir;
  auto opts = durable_at(dir.file("j.grove"));
  crash_after(opts, [](backend& b) { return save_numbered(b, 100, "v") && b.append(group_key{"k", "0"}, 1, "delta"); });
  BOOST_REQUIRE(std::filesystem::exists(opts.file + "-journal"));
  {
    auto b = std::move(*open_dets(opts));
    for (int i = 0; i < 100; ++i) BOOST_TEST(loaded(*b, group_key{"k", std::to_string(i)}) == "v" + std::to_string(i));
    BOOST_TEST((*b->read_log(group_key{"k", "0"})).size() == 1u);
  }
  // The replay put them into the file: a read-only open sees them without a journal.
  BOOST_TEST(!std::filesystem::exists(opts.file + "-journal"));
  auto ro = opts;
  ro.read_only = true;
  BOOST_TEST(loaded(**open_dets(ro), group_key{"k", "99"}) == "v99");
}

BOOST_AUTO_TEST_CASE(a_torn_last_record_is_ignored_and_the_records_before_it_replay) {
  temp_dir dir;
  auto opts = durable_at(dir.file("torn.grove"));
  crash_after(opts, [](backend& b) { return save_numbered(b, 10, "value-"); });
  // A crash while the last record was being written: its end never reached the disk.
  auto journal = read_file(opts.file + "-journal");
  auto last = journal.rfind("value-9");
  BOOST_REQUIRE(last != std::string::npos);
  std::fill(journal.begin() + static_cast<std::ptrdiff_t>(last), journal.end(), '\0');
  write_file(opts.file + "-journal", journal);
  auto b = open_dets(opts);
  BOOST_REQUIRE_MESSAGE(b, "reopen failed: " + (b ? std::string() : b.error().to_string()));
  for (int i = 0; i < 9; ++i)
    BOOST_TEST(loaded(**b, group_key{"k", std::to_string(i)}) == "value-" + std::to_string(i));
  BOOST_TEST(loaded(**b, group_key{"k", "9"}) == "<none>");
}

// After a checkpoint the journal's old records stay in the file until new ones overwrite them;
// the file records which generation it holds, so they are never replayed over newer values (here
// one too large for the journal, written straight into the file).
BOOST_AUTO_TEST_CASE(an_old_journal_record_never_overwrites_a_newer_value) {
  temp_dir dir;
  auto opts = durable_at(dir.file("old.grove"));
  const std::string large(300 << 10, 'L');
  crash_after(opts, [&](backend& b) {
    return b.save(group_key{"k", "x"}, "small") && b.sync() && b.save(group_key{"k", "x"}, large);
  });
  BOOST_REQUIRE(read_file(opts.file + "-journal").find("small") != std::string::npos);
  BOOST_TEST((loaded(**open_dets(opts), group_key{"k", "x"}) == large), "the large value is back");
}

BOOST_AUTO_TEST_CASE(a_read_only_open_sees_the_durable_writes_of_a_writer_that_crashed) {
  temp_dir dir;
  auto opts = durable_at(dir.file("ro.grove"));
  crash_after(opts, [](backend& b) { return bool(b.save(group_key{"k", "n"}, "journaled")); });
  auto ro = opts;
  ro.read_only = true;
  {
    auto b = open_dets(ro);
    BOOST_REQUIRE(b);
    BOOST_TEST(loaded(**b, group_key{"k", "n"}) == "journaled");
    BOOST_TEST(((*b)->list_groups()->size() == 1u));
  }
  BOOST_TEST(std::filesystem::exists(opts.file + "-journal"));  // reading changes nothing
}
