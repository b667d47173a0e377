// The storage contract suite against the ETS-style and both DETS-style modes, plus what is
// particular to each backend.
#define BOOST_TEST_MODULE storage_backends
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "support/process.hpp"
#include "support/storage_flavors.hpp"

using contract_flavors =
  boost::mpl::list<grove::testing::ets_flavor, grove::testing::dets_flavor<true>, grove::testing::dets_flavor<false>>;

#include "storage/contract_cases.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include <csignal>

#include <lmdb.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace grove::storage;
using grove::errc;
using grove::testing::run_process;
using grove::testing::temp_dir;

namespace {

group_key g(const std::string& kind, const std::string& name) { return group_key{kind, name}; }

dets_options dets_at(const std::string& file) {
  dets_options opts;
  opts.file = file;
  return opts;
}

// Runs `f` in a forked child and returns its exit code (f's return value).
template <class F>
int in_child(F f) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(f());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(groups)

BOOST_AUTO_TEST_CASE(encoding_is_collision_free_where_kind_colon_name_is_not) {
  group_key a{"ab", "c:d"}, b{"ab:c", "d"};
  BOOST_TEST(a.encode() != b.encode());
  BOOST_TEST((*group_key::decode(a.encode()) == a));
  BOOST_TEST(!group_key::decode(""));
  BOOST_TEST(!group_key::decode(std::string(1, '\x09') + "short"));
}

BOOST_AUTO_TEST_CASE(printable_form_escapes_and_parses_back) {
  group_key x{"counter", "views"};
  BOOST_TEST(x.to_string() == "counter:views");
  BOOST_TEST((*group_key::parse("counter:views") == x));
  BOOST_TEST((*group_key::parse("map:a:b") == group_key{"map", "a:b"}));
  BOOST_TEST((group_key{"k", std::string("a\nb", 3)}.to_string() == "k:a\\x0ab"));
  for (const auto& name : {std::string("a\xff\\b"), std::string("caf\xc3\xa9"), std::string("x\0y", 3)})
    BOOST_TEST((*group_key::parse(group_key{"k", name}.to_string()) == group_key{"k", name}));
  BOOST_TEST(group_key::parse("k:bad\\q").error().code() == errc::invalid_argument);
  BOOST_TEST(group_key::parse("no-colon").error().code() == errc::invalid_argument);
  BOOST_TEST(group_key::parse(":name").error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ets)

BOOST_AUTO_TEST_CASE(two_opens_of_one_name_share_the_data_until_destroy) {
  ets_options opts;
  opts.table = "shared-table-test";
  auto one = std::move(*open_ets(opts));
  auto two = std::move(*open_ets(opts));
  BOOST_REQUIRE(one->save(g("k", "n"), "v"));
  BOOST_TEST(**two->load(g("k", "n")) == "v");
  BOOST_TEST(bool(one->close()));
  BOOST_TEST(**two->load(g("k", "n")) == "v");  // closing a handle keeps the table
  destroy_ets(opts.table);
  BOOST_TEST(two->load(g("k", "n")).error().code() == errc::closed);
  auto three = std::move(*open_ets(opts));
  BOOST_TEST(!three->load(g("k", "n"))->has_value());
  destroy_ets("never-existed");
}

BOOST_AUTO_TEST_CASE(bad_options_fail_at_init) {
  ets_options opts;
  opts.table = "";
  BOOST_TEST(open_ets(opts).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dets)

BOOST_AUTO_TEST_CASE(data_survives_close_and_reopen_and_tables_are_separate) {
  temp_dir dir;
  auto opts = dets_at(dir.file("s.grove"));
  {
    auto a = std::move(*open_dets(opts));
    auto other_opts = opts;
    other_opts.table = "other";
    auto b = std::move(*open_dets(other_opts));
    BOOST_REQUIRE(a->save(g("k", "n"), "in default table"));
    BOOST_REQUIRE(b->save(g("k", "n"), "in other table"));
  }
  auto a = std::move(*open_dets(opts));
  BOOST_TEST(**a->load(g("k", "n")) == "in default table");
  auto tables = list_dets_tables(opts.file);
  BOOST_REQUIRE(tables);
  BOOST_TEST((*tables == std::vector<std::string>{"grove_dets_storage", "other"}));
}

BOOST_AUTO_TEST_CASE(bad_options_are_clear_errors_at_init) {
  temp_dir dir;
  BOOST_TEST(open_dets(dets_at("")).error().code() == errc::invalid_argument);
  BOOST_TEST(open_dets(dets_at(dir.path())).error().code() == errc::invalid_argument);
  auto missing_dir = open_dets(dets_at(dir.file("no/such/dir/s.grove")));
  BOOST_REQUIRE(!missing_dir);
  BOOST_TEST(missing_dir.error().code() == errc::io_error);
  BOOST_TEST(missing_dir.error().message().find("no/such/dir") != std::string::npos);
  auto opts = dets_at(dir.file("s.grove"));
  opts.auto_save = std::chrono::milliseconds(0);
  BOOST_TEST(open_dets(opts).error().code() == errc::invalid_argument);
  auto ro = dets_at(dir.file("absent.grove"));
  ro.read_only = true;
  BOOST_TEST(open_dets(ro).error().code() == errc::io_error);
}

BOOST_AUTO_TEST_CASE(a_file_of_another_format_is_refused) {
  temp_dir dir;
  auto path = dir.file("text.grove");
  std::ofstream(path) << std::string(100000, 'x');
  auto r = open_dets(dets_at(path));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == errc::not_a_store);
  BOOST_TEST(r.error().message().find(path) != std::string::npos);
  // Refusing touched nothing: no lock file beside it, and the file is as it was.
  BOOST_TEST(!std::filesystem::exists(path + "-lock"));
  BOOST_TEST(std::filesystem::file_size(path) == 100000u);
  BOOST_TEST(open_dets([&] {
               auto o = dets_at(path);
               o.read_only = true;
               return o;
             }())
               .error()
               .code()
             == errc::not_a_store);
  BOOST_TEST(!std::filesystem::exists(path + "-lock"));
}

BOOST_AUTO_TEST_CASE(an_lmdb_file_that_is_not_a_grove_store_is_refused) {
  temp_dir dir;
  auto path = dir.file("foreign.mdb");
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  mdb_env_create(&env);
  BOOST_REQUIRE(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600) == 0);
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, nullptr, 0, &dbi);
  MDB_val k{3, const_cast<char*>("key")}, v{5, const_cast<char*>("value")};
  mdb_put(txn, dbi, &k, &v, 0);
  mdb_txn_commit(txn);
  mdb_env_close(env);
  auto r = open_dets(dets_at(path));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == errc::not_a_store);
  BOOST_TEST(r.error().message().find("not a Grove store") != std::string::npos);
}

// A crash while a store was being created leaves an LMDB file with its header pages and nothing
// else (the kill -9 test of write-behind saves hit it): nothing can be lost by taking it as new.
BOOST_AUTO_TEST_CASE(an_lmdb_file_that_holds_nothing_becomes_a_new_store) {
  temp_dir dir;
  auto path = dir.file("cut-short.grove");
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  BOOST_REQUIRE(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600) == 0);
  mdb_env_close(env);
  BOOST_REQUIRE(std::filesystem::file_size(path) > 0u);
  auto ro = dets_at(path);
  ro.read_only = true;
  BOOST_TEST(open_dets(ro).error().code() == errc::invalid_argument);  // no table yet: nothing to read
  auto b = open_dets(dets_at(path));
  BOOST_REQUIRE_MESSAGE(b, "open failed: " + (b ? std::string() : b.error().to_string()));
  BOOST_REQUIRE((*b)->save(g("k", "n"), "v"));
}

namespace {

// The format record of a store file, read with LMDB directly ("" when there is none).
std::string format_record(const std::string& path) {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  mdb_env_create(&env);
  std::string out;
  if (mdb_env_open(env, path.c_str(), MDB_NOSUBDIR | MDB_RDONLY, 0600) == 0
      && mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0) {
    MDB_val k{12, const_cast<char*>("grove.format")}, v;
    if (mdb_dbi_open(txn, nullptr, 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0)
      out.assign(static_cast<const char*>(v.mv_data), v.mv_size);
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
  return out;
}

void set_format_record(const std::string& path, const std::string& format) {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  mdb_env_create(&env);
  BOOST_REQUIRE(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600) == 0);
  BOOST_REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  BOOST_REQUIRE(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0);
  MDB_val k{12, const_cast<char*>("grove.format")}, v{format.size(), const_cast<char*>(format.data())};
  BOOST_REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  BOOST_REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

}  // namespace

// test/storage/fixtures/format1.grove was written by the format-1 code (before the delta log):
// a gcounter counter:views = 42 and an orset set:users = {"written by format 1"}.
BOOST_AUTO_TEST_CASE(a_file_written_in_format_1_opens_and_is_marked_format_2_once_written) {
  temp_dir dir;
  auto path = dir.file("old.grove");
  std::filesystem::copy_file(GROVE_SOURCE_DIR "/test/storage/fixtures/format1.grove", path);
  BOOST_REQUIRE(format_record(path) == "grove-store 1");
  {
    auto ro = dets_at(path);
    ro.read_only = true;
    auto b = open_dets(ro);
    BOOST_REQUIRE_MESSAGE(b, "read-only open of a format-1 file failed");
    BOOST_TEST(load<grove::crdt::gcounter>(**b, group_key{"counter", "views"})->value().value() == 42u);
  }
  BOOST_TEST(format_record(path) == "grove-store 1");  // reading does not change it
  {
    auto b = open_dets(dets_at(path));
    BOOST_REQUIRE_MESSAGE(b, "open of a format-1 file failed");
    BOOST_TEST((*b)->list_groups()->size() == 2u);
    auto users = load<grove::crdt::orset<std::string>>(**b, group_key{"set", "users"});
    BOOST_TEST(((*users)->value() == std::set<std::string>{"written by format 1"}));
    BOOST_REQUIRE((*b)->append(group_key{"set", "users"}, 1, "d"));
  }
  BOOST_TEST(format_record(path) == "grove-store 2");
}

BOOST_AUTO_TEST_CASE(a_file_of_a_newer_format_is_refused_with_a_clear_error) {
  temp_dir dir;
  auto path = dir.file("future.grove");
  { BOOST_REQUIRE(open_dets(dets_at(path))); }
  BOOST_REQUIRE(format_record(path) == "grove-store 2");
  set_format_record(path, "grove-store 4");
  for (bool read_only : {false, true}) {
    auto opts = dets_at(path);
    opts.read_only = read_only;
    auto r = open_dets(opts);
    BOOST_REQUIRE(!r);
    BOOST_TEST(r.error().code() == errc::unsupported_version);
    BOOST_TEST(r.error().message().find("grove-store 4") != std::string::npos);
    BOOST_TEST(r.error().message().find("'grove-store 3'") != std::string::npos);
  }
  BOOST_TEST(format_record(path) == "grove-store 4");  // refused, not changed
}

// Format 3: the journal of durable writes. A build that does not replay journals must refuse a
// store whose journal may hold acknowledged writes; a store never written durably stays format 2.
BOOST_AUTO_TEST_CASE(a_store_written_durably_is_marked_format_3_and_keeps_no_journal_after_close) {
  temp_dir dir;
  auto path = dir.file("journaled.grove");
  {
    auto b = std::move(*open_dets(dets_at(path)));
    BOOST_REQUIRE(b->save(g("k", "behind"), "v"));
  }
  BOOST_TEST(format_record(path) == "grove-store 2");
  auto opts = dets_at(path);
  opts.durable = true;
  {
    auto b = std::move(*open_dets(opts));
    BOOST_REQUIRE(b->save(g("k", "durable"), "v"));
    BOOST_TEST(std::filesystem::exists(path + "-journal"));
  }
  BOOST_TEST(format_record(path) == "grove-store 3");
  BOOST_TEST(!std::filesystem::exists(path + "-journal"));
  auto b = std::move(*open_dets(dets_at(path)));
  BOOST_TEST((*b->load(g("k", "durable")) == std::optional<std::string>("v")));
}

// A durable write waits in the journal for a checkpoint; a hot backup taken by the process that
// holds the store must have it all the same.
BOOST_AUTO_TEST_CASE(a_hot_backup_by_the_writing_process_has_the_durable_writes_still_in_the_journal) {
  temp_dir dir;
  auto path = dir.file("live.grove");
  auto opts = dets_at(path);
  opts.durable = true;
  auto b = std::move(*open_dets(opts));
  BOOST_REQUIRE(b->save(g("k", "durable"), "v"));
  BOOST_REQUIRE(std::filesystem::exists(path + "-journal"));  // not yet checkpointed into the file
  auto copy = dir.file("backup.grove");
  BOOST_REQUIRE(backup_dets(path, copy));
  auto from_backup = dets_at(copy);
  from_backup.read_only = true;
  auto restored = std::move(*open_dets(from_backup));
  BOOST_TEST((*restored->load(g("k", "durable")) == std::optional<std::string>("v")));
}

BOOST_AUTO_TEST_CASE(the_log_survives_close_and_reopen_in_both_modes) {
  for (bool durable : {true, false}) {
    temp_dir dir;
    auto opts = dets_at(dir.file("log.grove"));
    opts.durable = durable;
    group_key key{"set", "s"};
    {
      auto b = open_dets(opts);
      BOOST_REQUIRE(b);
      for (std::uint64_t i = 1; i <= 100; ++i) BOOST_REQUIRE((*b)->append(key, i, "d" + std::to_string(i)));
      BOOST_REQUIRE((*b)->write({write_op::save(key, "s"), write_op::truncate(key, 60)}));
    }
    auto b = open_dets(opts);
    BOOST_REQUIRE(b);
    auto log = (*b)->read_log(key);
    BOOST_REQUIRE(log);
    BOOST_TEST(log->size() == 40u);
    BOOST_TEST(log->front().seq == 61u);
    BOOST_TEST(log->back().delta == "d100");
  }
}

BOOST_AUTO_TEST_CASE(an_existing_empty_file_becomes_a_new_store) {
  temp_dir dir;
  auto path = dir.file("empty.grove");
  std::ofstream(path).close();
  auto b = open_dets(dets_at(path));
  BOOST_REQUIRE(b);
  BOOST_TEST(bool((*b)->save(g("k", "n"), "v")));
}

BOOST_AUTO_TEST_CASE(a_directory_without_write_permission_is_refused) {
  temp_dir dir;
  auto locked_dir = dir.file("readonly");
  std::filesystem::create_directory(locked_dir);
  std::filesystem::permissions(locked_dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  // Root ignores permissions: check as an unprivileged user in a child process.
  int code = in_child([&] {
    if (::geteuid() == 0) {
      ::chown(dir.path().c_str(), 65534, 65534);
      ::chown(locked_dir.c_str(), 65534, 65534);
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 90;
    }
    auto r = open_dets(dets_at(locked_dir + "/s.grove"));
    if (r) return 91;
    return r.error().code() == errc::permission_denied ? 0 : 92;
  });
  BOOST_TEST(code == 0);
}

BOOST_AUTO_TEST_CASE(a_second_writer_process_gets_locked_and_a_reader_shares) {
  temp_dir dir;
  auto opts = dets_at(dir.file("s.grove"));
  auto b = std::move(*open_dets(opts));
  BOOST_REQUIRE(b->save(g("k", "n"), "v"));
  BOOST_REQUIRE(b->sync());
  auto writer = run_process({GROVE_STORAGE_PROBE, "dets", opts.file, "open"});
  BOOST_TEST(writer.exit_code == 1);
  BOOST_TEST(writer.out == "locked\n");
  auto reader = run_process({GROVE_STORAGE_PROBE, "dets-ro", opts.file, "load", "k", "n"});
  BOOST_TEST(reader.exit_code == 0);
  BOOST_TEST(reader.out == "v\n");
}

BOOST_AUTO_TEST_CASE(after_a_restart_dets_data_is_there_and_ets_data_is_gone) {
  temp_dir dir;
  auto file = dir.file("restart.grove");
  BOOST_TEST(run_process({GROVE_STORAGE_PROBE, "dets", file, "save", "counter", "c", "kept"}).out == "ok\n");
  BOOST_TEST(run_process({GROVE_STORAGE_PROBE, "dets", file, "load", "counter", "c"}).out == "kept\n");
  BOOST_TEST(run_process({GROVE_STORAGE_PROBE, "ets", "t", "save", "counter", "c", "lost"}).out == "ok\n");
  BOOST_TEST(run_process({GROVE_STORAGE_PROBE, "ets", "t", "load", "counter", "c"}).out == "<none>\n");
}

BOOST_AUTO_TEST_CASE(the_map_grows_past_its_initial_size_and_saves_keep_succeeding) {
  temp_dir dir;
  auto opts = dets_at(dir.file("s.grove"));
  opts.initial_map_size = 1 << 20;
  opts.durable = true;
  const std::string value(100'000, 'v');
  {
    auto b = std::move(*open_dets(opts));
    for (int i = 0; i < 300; ++i)  // 30 MB through a 1 MiB map
      BOOST_REQUIRE(b->save(g("blob", std::to_string(i)), value));
  }
  auto b = std::move(*open_dets(opts));
  BOOST_TEST(b->list_groups()->size() == 300u);
  BOOST_TEST((*b->load(g("blob", "299")))->size() == value.size());
}

BOOST_AUTO_TEST_CASE(a_file_holds_256_tables_and_the_next_is_a_clear_error) {
  temp_dir dir;
  std::vector<std::unique_ptr<backend>> open;
  for (int i = 0; i < 256; ++i) {
    auto o = dets_at(dir.file("many.grove"));
    o.table = "t" + std::to_string(i);
    auto b = open_dets(o);
    BOOST_REQUIRE_MESSAGE(b, "table " << i << ": " << (b ? std::string() : b.error().to_string()));
    open.push_back(std::move(*b));
  }
  auto o = dets_at(dir.file("many.grove"));
  o.table = "one-too-many";
  auto r = open_dets(o);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == errc::too_large);
  BOOST_TEST(r.error().message().find("256 tables") != std::string::npos);
  BOOST_TEST(list_dets_tables(o.file)->size() == 256u);
}

// Counted in a separate process with an LD_PRELOAD shim: a durable save syncs the file before it
// returns (one fdatasync per save at least); write-behind saves share the syncs of a flush.
BOOST_AUTO_TEST_CASE(durable_saves_sync_the_disk_each_and_write_behind_saves_share_syncs) {
  temp_dir dir;
  auto syncs_for = [&](const std::string& kind) {
    auto count_file = dir.file(kind + ".syncs");
    ::setenv("LD_PRELOAD", GROVE_FSYNC_COUNTER, 1);
    ::setenv("GROVE_FSYNC_COUNT_FILE", count_file.c_str(), 1);
    ::setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);  // sanitizer builds: the shim loads first
    auto r = run_process({GROVE_STORAGE_PROBE, kind, dir.file(kind + ".grove"), "save-many", "20"});
    for (const char* v : {"LD_PRELOAD", "GROVE_FSYNC_COUNT_FILE", "ASAN_OPTIONS"}) ::unsetenv(v);
    BOOST_REQUIRE_EQUAL(r.out, "ok\n");
    int count = -1;
    std::ifstream(count_file) >> count;
    BOOST_TEST_MESSAGE(kind << ": " << count << " syncs for 20 saves");
    return count;
  };
  BOOST_TEST(syncs_for("dets-durable") >= 20);
  auto shared = syncs_for("dets");
  BOOST_TEST(shared >= 1);  // the flush at close
  BOOST_TEST(shared <= 6);  // not one per save
}

BOOST_AUTO_TEST_CASE(write_behind_overwrites_of_one_group_do_not_fill_the_buffer) {
  temp_dir dir;
  auto opts = dets_at(dir.file("overwrite.grove"));
  opts.auto_save = std::chrono::hours(1);  // only a full buffer could flush
  opts.max_pending_bytes = 1000;
  auto b = std::move(*open_dets(opts));
  for (int i = 0; i < 50; ++i) BOOST_REQUIRE(b->save(g("k", "same"), std::string(100, char('a' + i % 26))));
  // 50 x 100 bytes to one group hold 100 bytes: nothing was flushed, so another process sees none.
  BOOST_TEST(run_process({GROVE_STORAGE_PROBE, "dets-ro", opts.file, "load", "k", "same"}).out == "<none>\n");
  BOOST_REQUIRE(b->sync());
  BOOST_TEST(run_process({GROVE_STORAGE_PROBE, "dets-ro", opts.file, "load", "k", "same"}).out
             == std::string(100, char('a' + 49 % 26)) + "\n");
}

// In a child whose file size limit stops LMDB from growing the file: saves that fill the
// write-behind buffer fail, are never written later, and earlier saves survive.
BOOST_AUTO_TEST_CASE(a_write_behind_save_that_failed_is_never_written_later) {
  temp_dir dir;
  auto opts = dets_at(dir.file("failing.grove"));
  opts.auto_save = std::chrono::hours(1);
  opts.max_pending_bytes = 64 * 1024;
  opts.initial_map_size = 1 << 20;
  int code = in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead
    auto b = open_dets(opts);
    if (!b) return 91;
    if (!(*b)->save(g("k", "acknowledged"), "kept")) return 92;
    struct rlimit limit {
      static_cast<rlim_t>(std::filesystem::file_size(opts.file)), RLIM_INFINITY
    };
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int failed = 0;
    for (int i = 0; i < 100; ++i)  // 100 x 40 KiB: each save past the first needs a flush, which fails
      if (!(*b)->save(g("big", std::to_string(i)), std::string(40 * 1024, 'x'))) ++failed;
    if (failed < 99) return 93;
    if ((*b)->save_batch({{g("k", "batch1"), "a"}, {g("big", "batch2"), std::string(40 * 1024, 'y')}})) return 94;
    limit.rlim_cur = RLIM_INFINITY;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    if (!(*b)->sync()) return 95;
    return 0;
  });
  BOOST_REQUIRE_EQUAL(code, 0);
  auto b = std::move(*open_dets(opts));
  BOOST_TEST(**b->load(g("k", "acknowledged")) == "kept");
  auto groups = *b->list_groups();
  std::size_t big = 0;
  for (const auto& x : groups) big += x.kind == "big";
  BOOST_TEST(big <= 1u);  // only a save that succeeded (the first, buffered before any flush)
  BOOST_TEST(!b->load(g("k", "batch1"))->has_value());  // the failed batch left nothing
}

BOOST_AUTO_TEST_SUITE_END()
