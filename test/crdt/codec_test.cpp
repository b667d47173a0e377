// The codec: round trips, determinism, and rejection of every damaged or hostile input.
#define BOOST_TEST_MODULE crdt_codec
#include <boost/test/unit_test.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "crdt/v1_encodings.hpp"
#include "support/allocation_probe.hpp"
#include "support/random_crdts.hpp"

using namespace grove::crdt;
using namespace grove::crdt::testing;
using grove::errc;
using grove::testing::allocation_probe;

namespace {

const codec_options forced_compression{true, 0, 1, std::size_t{1} << 30};
const codec_options no_compression{false};

void put64(grove::bytes& b, std::size_t at, std::uint64_t x) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<char>(x >> (8 * i));
}

// Recomputes the trailing checksum after a deliberate edit, as an attacker could.
void reseal(grove::bytes& b) { put64(b, b.size() - 8, XXH3_64bits(b.data(), b.size() - 8)); }

grove::bytes from_hex(const char* hex) {
  grove::bytes out;
  for (std::size_t i = 0; hex[i] && hex[i + 1]; i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  return out;
}

// Decodes a format-1 encoding; checks that encoding the result again (in the current format)
// decodes to an equal state.
template <class T>
T decode_v1(const char* hex) {
  auto bytes = from_hex(hex);
  BOOST_REQUIRE(read_envelope(bytes)->version == 1);
  auto value = decode<T>(bytes, "a");
  if (!value) BOOST_FAIL(value.error().to_string());
  auto again = decode<T>(encode(*value), "a");
  BOOST_REQUIRE(again);
  BOOST_TEST((*again == *value));
  return *value;
}

// Offset of the payload-length field of an encoding of type T.
template <class T>
std::size_t length_field() {
  return 7 + T::type_name().size();
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(every_type_round_trips, T, all_types) {
  for (int run = 0; run < 10; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT(T::type_name() << " seed " << seed) {
      rng g(seed);
      auto r = random_replicas<T>(g, 50);
      for (const auto& opts : {no_compression, forced_compression}) {
        auto back = decode<T>(encode(r[0], opts), "owner");
        if (!back) BOOST_FAIL(back.error().to_string());
        BOOST_TEST((*back == r[0]));
        BOOST_TEST(back->owner() == "owner");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(equal_states_built_in_different_orders_give_equal_bytes, T, all_types) {
  for (int run = 0; run < 10; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT(T::type_name() << " seed " << seed) {
      rng g(seed);
      auto r = random_replicas<T>(g, 50);
      T abc = make_replica<T>(5), cba = make_replica<T>(6);
      abc.merge(r[0]);
      abc.merge(r[1]);
      abc.merge(r[2]);
      cba.merge(r[2]);
      cba.merge(r[1]);
      cba.merge(r[0]);
      BOOST_TEST(encode(abc) == encode(cba));
      BOOST_TEST(encode(abc, forced_compression) == encode(cba, forced_compression));
    }
  }
}

BOOST_AUTO_TEST_CASE(sets_built_by_adds_in_different_orders_give_equal_bytes) {
  gset<std::string> a("a"), b("b");
  for (int i = 0; i < 50; ++i) a.add("e" + std::to_string(i));
  for (int i = 49; i >= 0; --i) b.add("e" + std::to_string(i));
  BOOST_TEST(encode(a) == encode(b));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_single_bit_flip_is_rejected, T, all_types) {
  rng g(base_seed());
  auto r = random_replicas<T>(g, 30);
  for (const auto& opts : {no_compression, forced_compression}) {
    auto good = encode(r[0], opts);
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
      auto bad = good;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
      auto result = decode<T>(bad);
      BOOST_TEST_CONTEXT(T::type_name() << " bit " << bit << " of " << good.size() * 8) { BOOST_TEST(!result); }
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_truncation_is_rejected, T, all_types) {
  rng g(base_seed());
  auto r = random_replicas<T>(g, 30);
  for (const auto& opts : {no_compression, forced_compression}) {
    auto good = encode(r[0], opts);
    for (std::size_t n = 0; n < good.size(); ++n) {
      auto result = decode<T>(grove::bytes_view(good).substr(0, n));
      BOOST_TEST_CONTEXT(T::type_name() << " truncated to " << n << " of " << good.size()) {
        BOOST_REQUIRE(!result);
        BOOST_TEST((result.error().code() == errc::truncated || result.error().code() == errc::bad_magic));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(decoding_as_the_wrong_type_names_both_types) {
  gcounter c("a");
  BOOST_REQUIRE(c.increment());
  auto result = decode<orset<std::string>>(encode(c));
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == errc::type_mismatch);
  BOOST_TEST(result.error().message().find("grove.gcounter") != std::string::npos);
  BOOST_TEST(result.error().message().find("grove.orset<string>") != std::string::npos);
  // Same template, other element type.
  orset<std::string> s("a");
  auto other = decode<orset<std::int64_t>>(encode(s));
  BOOST_REQUIRE(!other);
  BOOST_TEST(other.error().code() == errc::type_mismatch);
}

BOOST_AUTO_TEST_CASE(a_payload_length_claiming_gigabytes_is_rejected_without_allocating) {
  gcounter c("a");
  BOOST_REQUIRE(c.increment());
  auto bad = encode(c);
  put64(bad, length_field<gcounter>(), std::uint64_t{8} << 30);
  reseal(bad);
  allocation_probe probe;
  auto result = decode<gcounter>(bad);
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == errc::truncated);
  BOOST_TEST(probe.largest() < 4096u);
}

BOOST_AUTO_TEST_CASE(an_element_count_claiming_billions_is_rejected_without_allocating) {
  // A well-formed envelope (valid checksum) whose orset payload claims 2^40 actors.
  grove::bytes bad;
  auto payload_at = detail::begin_envelope(bad, orset<std::string>::type_name());
  {
    byte_writer w(bad);
    w.varint(std::uint64_t{1} << 40);
    w.raw("abc");
  }
  detail::finish_envelope(bad, payload_at, no_compression);
  allocation_probe probe;
  auto result = decode<orset<std::string>>(bad);
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == errc::malformed);
  BOOST_TEST(result.error().message().find("exceeds") != std::string::npos);
  BOOST_TEST(probe.largest() < 4096u);
}

BOOST_AUTO_TEST_CASE(a_decompressed_size_claiming_gigabytes_is_rejected_without_allocating) {
  orset<std::string> s("a");
  for (int i = 0; i < 200; ++i) s.add("element-" + std::to_string(i));
  auto bad = encode(s, forced_compression);
  BOOST_REQUIRE(read_envelope(bad)->compressed);
  put64(bad, length_field<orset<std::string>>() + 8, std::uint64_t{64} << 30);
  reseal(bad);
  allocation_probe probe;
  auto result = decode<orset<std::string>>(bad);
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == errc::too_large);
  BOOST_TEST(probe.largest() < 4096u);
}

BOOST_AUTO_TEST_CASE(unknown_version_bad_magic_and_trailing_bytes_are_named) {
  gcounter c("a");
  auto good = encode(c);
  auto newer = good;
  newer[4] = static_cast<char>(codec_version + 1);
  BOOST_TEST(decode<gcounter>(newer).error().code() == errc::unsupported_version);
  BOOST_TEST(decode<gcounter>("this is not a grove value").error().code() == errc::bad_magic);
  auto longer = good + "x";
  BOOST_TEST(decode<gcounter>(longer).error().code() == errc::malformed);
}

BOOST_AUTO_TEST_CASE(format_1_encodings_still_decode) {
  using strings = std::set<std::string>;
  auto g = decode_v1<gcounter>(v1_gcounter);
  BOOST_TEST(g.value() == 8u);
  BOOST_TEST(g.get("b") == 5u);
  BOOST_TEST(decode_v1<pncounter>(v1_pncounter).value() == 6);
  auto l = decode_v1<lww_register<std::string>>(v1_lww_register);
  BOOST_TEST(*l.value() == "hello");
  BOOST_TEST(l.timestamp() == 7u);
  BOOST_TEST(decode_v1<mv_register<std::string>>(v1_mv_register).value() == (std::vector<std::string>{"x", "y"}));
  BOOST_TEST(decode_v1<gset<std::string>>(v1_gset).value() == (strings{"p", "q"}));
  BOOST_TEST(decode_v1<twop_set<std::string>>(v1_twop_set).value() == strings{"p"});
  BOOST_TEST(decode_v1<orset<std::string>>(v1_orset).value() == (strings{"w", "x", "z"}));
  BOOST_TEST(decode_v1<dvv_set<std::string>>(v1_dvv_set).value() == (strings{"x", "y"}));
  BOOST_TEST(decode_v1<rga<std::string>>(v1_rga).value() == (std::vector<std::string>{"x", "z"}));

  // Format 1 kept an erased key's value with its contents; an update of that key now starts empty.
  auto sets = decode_v1<ormap<std::string, orset<std::string>>>(v1_ormap_orset);
  BOOST_TEST(sets.keys() == std::vector<std::string>{"k1"});
  BOOST_TEST(sets.get("k1")->value() == (strings{"a", "b"}));
  sets.update("k2", [](auto& s) { s.add("d"); });
  BOOST_TEST(sets.get("k2")->value() == strings{"d"});
  auto counters = decode_v1<ormap<std::string, pncounter>>(v1_ormap_pncounter);
  BOOST_TEST(counters.get("views")->value() == 5);
  counters.update("gone", [](auto& c) { BOOST_REQUIRE(c.increment()); });
  BOOST_TEST(counters.get("gone")->value() == 1);
  auto registers = decode_v1<ormap<std::string, lww_register<std::string>>>(v1_ormap_lww);
  BOOST_TEST(*registers.get("k")->value() == "v");
  BOOST_TEST(!registers.contains("k2"));
  registers.update("k2", [](auto& r) { BOOST_TEST(!r.value()); });
}

BOOST_AUTO_TEST_CASE(a_valid_envelope_around_a_non_canonical_payload_is_malformed) {
  // Two gcounter entries out of order: checksum fine, format rule broken.
  grove::bytes bad;
  auto payload_at = detail::begin_envelope(bad, gcounter::type_name());
  {
    byte_writer w(bad);
    w.varint(2);
    w.str("b");
    w.varint(1);
    w.str("a");
    w.varint(1);
  }
  detail::finish_envelope(bad, payload_at, no_compression);
  auto result = decode<gcounter>(bad);
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == errc::malformed);
  BOOST_TEST(result.error().message().find("ascending") != std::string::npos);
}

// An orset payload with the element "x" kept by dot (a, live_counter), a context range a: 1..top
// and retired markers for the given (name, top) pairs.
grove::bytes orset_with_markers(std::uint64_t top, std::uint64_t live_counter,
                                std::vector<std::pair<std::string, std::uint64_t>> markers) {
  grove::bytes out;
  auto payload_at = detail::begin_envelope(out, orset<std::string>::type_name());
  {
    byte_writer w(out);
    w.varint(1);  // actor table
    w.str("a");
    w.varint(1);  // ranges
    w.varint(0);
    w.varint(top);
    w.varint(0);  // cloud
    w.varint(1);  // entries
    w.str("x");
    w.varint(1);
    w.varint(0);
    w.varint(live_counter);
    w.varint(markers.size());
    for (const auto& [name, marker_top] : markers) {
      w.str(name);
      w.varint(marker_top);
      w.varint(0);  // cloud
      w.varint(9);  // expiry
    }
  }
  detail::finish_envelope(out, payload_at, no_compression);
  return out;
}

BOOST_AUTO_TEST_CASE(retired_markers_out_of_canonical_form_are_malformed) {
  BOOST_REQUIRE(decode<orset<std::string>>(orset_with_markers(2, 2, {{"a", 1}})));  // canonical: seen past the marker
  auto message_of = [](const grove::bytes& b) {
    auto result = decode<orset<std::string>>(b);
    BOOST_REQUIRE(!result);
    BOOST_TEST(result.error().code() == errc::malformed);
    return result.error().message();
  };
  BOOST_TEST(message_of(orset_with_markers(1, 1, {{"a", 1}})).find("not canonical") != std::string::npos);
  BOOST_TEST(message_of(orset_with_markers(2, 1, {{"a", 1}})).find("a live dot of a retired actor")
             != std::string::npos);
  BOOST_TEST(message_of(orset_with_markers(2, 2, {{"c", 1}, {"b", 1}})).find("ascending") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(compression_applies_above_the_threshold_only) {
  orset<std::string> small("a"), large("a");
  small.add("x");
  for (int i = 0; i < 20000; ++i) large.add("element-" + std::to_string(i));
  BOOST_TEST(!read_envelope(encode(small))->compressed);
  auto info = read_envelope(encode(large));
  BOOST_REQUIRE(info);
  BOOST_TEST(info->compressed);
  BOOST_TEST(info->stored_payload_size < info->payload_size);
  BOOST_TEST(info->type_name == "grove.orset<string>");
}

BOOST_AUTO_TEST_CASE(a_decoded_replica_continues_with_fresh_dots) {
  orset<std::string> a("a");
  a.add("x");
  auto restored = decode<orset<std::string>>(encode(a), "a");
  BOOST_REQUIRE(restored);
  restored->add("y");
  restored->remove("x");
  orset<std::string> b("b");
  b.merge(a);
  b.merge(restored->delta());
  BOOST_TEST(b.value() == std::set<std::string>{"y"});
}
