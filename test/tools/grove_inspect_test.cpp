// grove-inspect on a store this test builds: list, dump, verify, and clear errors.
#define BOOST_TEST_MODULE grove_inspect
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "grove/crdt/all.hpp"
#include "grove/storage/dets_backend.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace grove::storage;
using namespace grove::crdt;
using grove::testing::run_process;
using grove::testing::temp_dir;
using json = nlohmann::json;

namespace {

// A store with a counter, a set and a map.
std::string build_store(const temp_dir& dir) {
  dets_options opts;
  opts.file = dir.file("inspect.grove");
  opts.durable = true;
  auto b = std::move(*open_dets(opts));
  gcounter c("a");
  BOOST_REQUIRE(c.increment(42));
  orset<std::string> s("a");
  s.add("bob");
  s.add("alice");
  ormap<std::string, lww_register<std::string>> m("a");
  m.update("color", [](auto& r) { r.set("green"); });
  BOOST_REQUIRE(save(*b, group_key{"counter", "views"}, c));
  BOOST_REQUIRE(save(*b, group_key{"set", "users"}, s));
  BOOST_REQUIRE(save(*b, group_key{"map", "settings"}, m));
  return opts.file;
}

grove::testing::process_result inspect(std::vector<std::string> args) {
  args.insert(args.begin(), GROVE_INSPECT);
  return run_process(args);
}

}  // namespace

BOOST_AUTO_TEST_CASE(list_shows_every_group_with_its_crdt_type) {
  temp_dir dir;
  auto file = build_store(dir);
  auto r = inspect({file, "list"});
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.out.find("counter:views\tgrove.gcounter") != std::string::npos);
  BOOST_TEST(r.out.find("set:users\tgrove.orset<string>") != std::string::npos);
  BOOST_TEST(r.out.find("3 groups") != std::string::npos);
  auto rows = json::parse(inspect({file, "list", "--json"}).out);
  BOOST_TEST(rows.size() == 3u);
  BOOST_TEST(rows[0]["group"] == "counter:views");
}

BOOST_AUTO_TEST_CASE(dump_json_shows_the_decoded_value) {
  temp_dir dir;
  auto file = build_store(dir);
  auto counter = json::parse(inspect({file, "dump", "counter:views", "--json"}).out);
  BOOST_TEST(counter["value"] == 42);
  auto set = json::parse(inspect({file, "dump", "set:users", "--json"}).out);
  BOOST_TEST(set["value"] == json::parse(R"(["alice","bob"])"));
  auto map = json::parse(inspect({file, "dump", "map:settings", "--json"}).out);
  BOOST_TEST(map["value"]["color"] == "green");
  auto text = inspect({file, "dump", "set:users"});
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out.find("alice") != std::string::npos);
  BOOST_TEST(inspect({file, "dump", "counter:absent"}).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(dump_shows_values_that_are_not_utf8_escaped) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("bytes.grove");
  opts.durable = true;
  {
    auto b = std::move(*open_dets(opts));
    orset<std::string> s("a");
    s.add(
      "a\xff"
      "b");
    ormap<std::string, lww_register<std::string>> m("a");
    m.update("k\xfe", [](auto& r) { r.set(std::string("v\0", 2)); });
    BOOST_REQUIRE(save(*b, group_key{"set", "x\xff"}, s));
    BOOST_REQUIRE(save(*b, group_key{"map", "m"}, m));
  }
  auto set = inspect({opts.file, "dump", "set:x\\xff", "--json"});
  BOOST_TEST(set.exit_code == 0);
  BOOST_TEST(json::parse(set.out)["value"] == json::parse(R"(["a\\xffb"])"));
  BOOST_TEST(json::parse(set.out)["group"] == "set:x\\xff");
  auto map = inspect({opts.file, "dump", "map:m"});
  BOOST_TEST(map.exit_code == 0);
  BOOST_TEST(map.out.find(R"("k\\xfe": "v\\x00")") != std::string::npos);
  auto list = inspect({opts.file, "list", "--json"});
  BOOST_TEST(json::parse(list.out)[1]["group"] == "set:x\\xff");
}

BOOST_AUTO_TEST_CASE(verify_passes_a_good_store_and_names_each_damaged_group) {
  temp_dir dir;
  auto file = build_store(dir);
  auto good = inspect({file, "verify"});
  BOOST_TEST(good.exit_code == 0);
  BOOST_TEST(good.out.find("ok: 3 groups") != std::string::npos);
  {
    dets_options opts;
    opts.file = file;
    opts.durable = true;
    auto b = std::move(*open_dets(opts));
    gcounter c("a");
    auto damaged = encode(c);
    damaged[damaged.size() - 1] ^= 1;
    BOOST_REQUIRE(b->save(group_key{"counter", "broken"}, damaged));
    BOOST_REQUIRE(b->save(group_key{"blob", "garbage"}, "not a grove value"));
  }
  auto bad = inspect({file, "verify"});
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.out.find("bad: counter:broken: checksum_mismatch") != std::string::npos);
  BOOST_TEST(bad.out.find("bad: blob:garbage: bad_magic") != std::string::npos);
  BOOST_TEST(bad.out.find("counter:views") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(groups_with_a_log_show_its_entries_merge_them_and_verify_each) {
  temp_dir dir;
  auto file = build_store(dir);
  {
    dets_options opts;
    opts.file = file;
    opts.durable = true;
    auto b = std::move(*open_dets(opts));
    orset<std::string> s("b");
    s.add("carol");
    BOOST_REQUIRE(b->append(group_key{"set", "users"}, 1, encode(s.delta())));
    s.reset_delta();
    s.add("dave");
    BOOST_REQUIRE(b->append(group_key{"set", "users"}, 2, encode(s.delta())));
    gcounter c("b");
    BOOST_REQUIRE(c.increment(5));
    BOOST_REQUIRE(b->append(group_key{"counter", "log-only"}, 1, encode(c.delta())));
  }
  auto rows = json::parse(inspect({file, "list", "--json"}).out);
  BOOST_REQUIRE(rows.size() == 4u);
  BOOST_TEST(rows[0]["group"] == "counter:log-only");
  BOOST_TEST(rows[0]["type"] == "grove.gcounter");
  BOOST_TEST(rows[0]["bytes"] == 0);
  BOOST_TEST(rows[0]["log_entries"] == 1);
  BOOST_TEST(rows[3]["group"] == "set:users");
  BOOST_TEST(rows[3]["log_entries"] == 2);
  BOOST_TEST(rows[3]["log_bytes"].get<int>() > 0);
  BOOST_TEST(inspect({file, "list"}).out.find("set:users\tgrove.orset<string>\t") != std::string::npos);
  auto set = json::parse(inspect({file, "dump", "set:users", "--json"}).out);
  BOOST_TEST(set["value"] == json::parse(R"(["alice","bob","carol","dave"])"));
  BOOST_TEST(json::parse(inspect({file, "dump", "counter:log-only", "--json"}).out)["value"] == 5);
  auto good = inspect({file, "verify"});
  BOOST_TEST(good.exit_code == 0);
  BOOST_TEST(good.out.find("ok: 4 groups, 3 log entries, 0 bad") != std::string::npos);
  {
    dets_options opts;
    opts.file = file;
    opts.durable = true;
    auto b = std::move(*open_dets(opts));
    BOOST_REQUIRE(b->append(group_key{"set", "users"}, 3, "not a delta"));
    BOOST_REQUIRE(b->append(group_key{"set", "users"}, 4, encode(gcounter("b"))));
  }
  auto bad = inspect({file, "verify"});
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.out.find("bad: set:users: log entry 3: bad_magic") != std::string::npos);
  BOOST_TEST(bad.out.find("bad: set:users: log entry 4: type_mismatch") != std::string::npos);
  BOOST_TEST(bad.out.find("FAILED: 4 groups, 5 log entries, 1 bad") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_missing_file_or_a_file_that_is_not_a_store_is_a_clear_error) {
  temp_dir dir;
  auto missing = inspect({dir.file("nope.grove"), "list"});
  BOOST_TEST(missing.exit_code == 2);
  auto text = dir.file("notes.txt");
  std::ofstream(text) << std::string(20000, 'z');
  BOOST_TEST(inspect({text, "verify"}).exit_code == 2);
  BOOST_TEST(inspect({text, "bogus-command"}).exit_code != 0);
}

// A hot backup: taken while the store is open for writing (by this process, as a node holds it),
// from another process (grove-inspect) and from this one (backup_dets shares the open
// environment); each copy holds the store as it was then and opens as a store of its own; a
// backup never overwrites a file.
BOOST_AUTO_TEST_CASE(backup_copies_a_store_that_is_being_written_as_it_was_then) {
  temp_dir dir;
  dets_options opts;
  opts.file = dir.file("live.grove");
  opts.durable = true;
  auto live = std::move(*open_dets(opts));
  gcounter c("a");
  BOOST_REQUIRE(c.increment(42));
  BOOST_REQUIRE(save(*live, group_key{"counter", "views"}, c));
  // A durable write waits in the journal until the next checkpoint (auto_save, sync, close);
  // another process copies the file only.
  BOOST_REQUIRE(live->sync());

  auto first = dir.file("first.grove");
  auto r = inspect({opts.file, "backup", first});
  BOOST_TEST(r.exit_code == 0);
  BOOST_REQUIRE(c.increment(1));
  BOOST_REQUIRE(save(*live, group_key{"counter", "views"}, c));
  BOOST_REQUIRE(save(*live, group_key{"counter", "later"}, c));
  auto second = dir.file("second.grove");
  BOOST_REQUIRE(backup_dets(opts.file, second));

  // The counter's value in a store file, or -1 when the group is not there.
  auto value_in = [](const std::string& file, const std::string& name) -> std::int64_t {
    dets_options o;
    o.file = file;
    o.read_only = true;
    auto store = open_dets(o);
    BOOST_REQUIRE_MESSAGE(store, (store ? "" : store.error().to_string()));
    auto v = load<gcounter>(**store, group_key{"counter", name});
    if (!v || !*v) return -1;
    return static_cast<std::int64_t>((**v).value());
  };
  BOOST_TEST(value_in(first, "views") == 42);
  BOOST_TEST(value_in(first, "later") == -1);
  BOOST_TEST(value_in(second, "views") == 43);
  BOOST_TEST(value_in(second, "later") == 43);

  auto again = inspect({opts.file, "backup", first});  // never overwrites
  BOOST_TEST(again.exit_code == 2);
  BOOST_TEST(value_in(first, "views") == 42);
  auto missing = inspect({dir.file("missing.grove"), "backup", dir.file("x.grove")});
  BOOST_TEST(missing.exit_code == 2);
  BOOST_TEST(!std::ifstream(dir.file("x.grove")).good());
  BOOST_TEST(!std::ifstream(dir.file("x.grove.partial")).good());
}
