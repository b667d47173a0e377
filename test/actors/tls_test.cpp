// TLS between nodes: the files are checked before an actor system exists, nodes with certificates
// from the cluster's CA connect and converge, and every other kind of peer is refused.
#define BOOST_TEST_MODULE tls
#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "grove/actors/tls.hpp"
#include "grove/crdt/all.hpp"
#include "support/node.hpp"
#include "support/partition.hpp"
#include "support/printing.hpp"
#include "support/tls.hpp"

using namespace grove::actors;
using namespace grove::crdt;
using namespace grove::testing;
using grove::errc;
using grove::storage::group_key;

namespace {

tls_options encrypted_node3(const std::string& passphrase) {
  auto o = files_of("node3");
  o.key = pki().file("node3.enc.key");
  o.passphrase = passphrase;
  return o;
}

// Configuration step: TLS with these files (the test fails if they do not validate).
config_step with_tls(tls_options files) {
  return [files](node_config& cfg) { BOOST_REQUIRE_MESSAGE(enable_tls(cfg, files), "enable_tls failed"); };
}

// The error validate_tls gives; fails the test when there is none.
grove::error rejection(const tls_options& o) {
  auto ok = validate_tls(o);
  BOOST_REQUIRE_MESSAGE(!ok, "validate_tls accepted files it should refuse");
  BOOST_TEST_MESSAGE(ok.error().to_string());
  return ok.error();
}

bool mentions(const grove::error& e, const std::string& text) { return e.message().find(text) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(checking_the_files)

BOOST_AUTO_TEST_CASE(tls_needs_a_certificate_its_key_and_a_ca_file) {
  auto none = rejection(tls_options{});
  BOOST_TEST(none.code() == errc::invalid_argument);
  BOOST_TEST(mentions(none, "missing: certificate key CA file"));
  auto ca_only = rejection(tls_options{"", "", "", pki().file("ca.pem")});
  BOOST_TEST(mentions(ca_only, "missing: certificate key"));
  auto no_ca = files_of("node1");
  no_ca.ca_file.clear();
  BOOST_TEST(mentions(rejection(no_ca), "missing: CA file"));
}

BOOST_AUTO_TEST_CASE(good_files_pass_also_with_an_encrypted_key_and_its_passphrase) {
  BOOST_TEST(bool(validate_tls(files_of("node1"))));
  BOOST_TEST(bool(validate_tls(files_of("rogue", "rogue"))));  // self-signed, trusting itself
  BOOST_TEST(bool(validate_tls(encrypted_node3("open sesame"))));
}

BOOST_AUTO_TEST_CASE(each_bad_file_gets_an_error_that_names_it) {
  auto missing = files_of("node1");
  missing.key = pki().file("no-such.key");
  auto e = rejection(missing);
  BOOST_TEST(e.code() == errc::io_error);
  BOOST_TEST(mentions(e, "no-such.key"));

  auto foreign_key = files_of("node1");
  foreign_key.key = pki().file("node2.key");
  BOOST_TEST(mentions(rejection(foreign_key), "does not belong to the certificate"));

  auto not_a_certificate = files_of("node1");
  not_a_certificate.certificate = pki().file("node1.key");
  BOOST_TEST(mentions(rejection(not_a_certificate), "node1.key does not load"));

  auto not_a_ca_file = files_of("node1");
  not_a_ca_file.ca_file = pki().file("passphrase.txt");
  BOOST_TEST(mentions(rejection(not_a_ca_file), "passphrase.txt does not load"));
}

BOOST_AUTO_TEST_CASE(an_encrypted_key_needs_the_right_passphrase_which_is_never_printed) {
  BOOST_TEST(mentions(rejection(encrypted_node3("")), "no passphrase given"));
  auto wrong = rejection(encrypted_node3("letmein-guess"));
  BOOST_TEST(mentions(wrong, "node3.enc.key does not open"));
  BOOST_TEST(!mentions(wrong, "letmein-guess"));
}

BOOST_AUTO_TEST_CASE(a_certificate_the_ca_did_not_sign_that_cannot_be_a_client_or_that_expired_is_refused) {
  auto stranger = rejection(files_of("stranger"));  // signed by another CA
  BOOST_TEST(mentions(stranger, "does not verify against the CA file"));
  BOOST_TEST(mentions(rejection(files_of("rogue")), "does not verify"));
  BOOST_TEST(mentions(rejection(files_of("server-only")), "for TLS client use"));
  BOOST_TEST(mentions(rejection(files_of("expired")), "certificate has expired"));
}

BOOST_AUTO_TEST_CASE(a_configuration_whose_files_fail_gets_no_tls_module) {
  node_config cfg;
  auto foreign_key = files_of("node1");
  foreign_key.key = pki().file("node2.key");
  BOOST_REQUIRE(!enable_tls(cfg, foreign_key));
  BOOST_TEST(cfg.openssl_certificate.empty());
  caf::actor_system sys{cfg};
  BOOST_TEST(!uses_tls(sys));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(connections)

BOOST_AUTO_TEST_CASE(nodes_with_certificates_from_the_cluster_ca_connect_and_converge) {
  auto a = std::make_unique<node>("", with_tls(files_of("node1")));
  auto b = std::make_unique<node>("", with_tls(files_of("node2")));
  auto c = std::make_unique<node>("", with_tls(encrypted_node3("open sesame")));
  BOOST_TEST(uses_tls(*a->sys));
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  auto ok = connect(*b->sys, b->membership, "127.0.0.1", *port);
  BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().to_string()));
  // c learns of b through a (CAF's automatic direct connections are off with TLS: they would be
  // plaintext), so what b and c send each other goes through a.
  BOOST_REQUIRE(connect(*c->sys, c->membership, "127.0.0.1", *port));
  group_key g{"set", "tls"};
  auto ra = a->replica<orset<std::string>>("a", g);
  auto rb = b->replica<orset<std::string>>("b", g);
  auto rc = c->replica<orset<std::string>>("c", g);
  BOOST_REQUIRE(mutate(*a->sys, ra, op("add", {"from a"})));
  BOOST_REQUIRE(mutate(*b->sys, rb, op("add", {"from b"})));
  BOOST_REQUIRE(mutate(*c->sys, rc, op("add", {"from c"})));
  std::set<std::string> all{"from a", "from b", "from c"};
  for (auto [n, r] : {std::pair{a.get(), ra}, {b.get(), rb}, {c.get(), rc}})
    BOOST_TEST(eventually([&, n = n, r = r] { return value_of<orset<std::string>>(*n->sys, r)->value() == all; }));
  for (auto* n : {a.get(), b.get(), c.get()}) BOOST_TEST(nodes_known(*n) == 2u);
  c.reset();
  b.reset();
  a.reset();
}

BOOST_AUTO_TEST_CASE(self_signed_foreign_anonymous_and_plaintext_peers_are_refused_and_the_node_carries_on) {
  auto a = std::make_unique<node>("", with_tls(files_of("node1")));
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  group_key g{"counter", "tls"};
  auto ra = a->replica<gcounter>("a", g);
  std::vector<std::unique_ptr<node>> intruders;
  intruders.push_back(std::make_unique<node>("", with_tls(files_of("rogue", "rogue"))));
  intruders.push_back(std::make_unique<node>("", with_tls(files_of("stranger", "other-ca"))));
  intruders.push_back(std::make_unique<node>("", anonymous_tls));
  intruders.push_back(std::make_unique<node>());  // plaintext
  for (std::size_t i = 0; i < intruders.size(); ++i) {
    auto& x = *intruders[i];
    auto r = x.replica<gcounter>("intruder" + std::to_string(i), g);
    BOOST_REQUIRE(mutate(*x.sys, r, op("increment", {"666"})));
    auto refused = connect(*x.sys, x.membership, "127.0.0.1", *port);
    BOOST_TEST_INFO("intruder " << i);
    BOOST_REQUIRE(!refused);
    BOOST_TEST(refused.error().code() == errc::permission_denied);
    BOOST_TEST_MESSAGE("intruder " << i << ": " << refused.error().to_string());
  }
  // Both sides check: the TLS node refuses to connect to a listener with a self-signed certificate.
  auto rogue_port = listen(*intruders.front()->sys, intruders.front()->membership, 0);
  BOOST_REQUIRE(rogue_port);
  BOOST_TEST(!connect(*a->sys, a->membership, "127.0.0.1", *rogue_port));
  // The TLS node does not speak plaintext either.
  auto plain = listen(*intruders.back()->sys, intruders.back()->membership, 0);
  BOOST_REQUIRE(plain);
  BOOST_TEST(!connect(*a->sys, a->membership, "127.0.0.1", *plain));
  // A member with a certificate from the CA still gets in and converges; no 666 ever arrives.
  auto b = std::make_unique<node>("", with_tls(files_of("node2")));
  BOOST_REQUIRE(connect(*b->sys, b->membership, "127.0.0.1", *port));
  auto rb = b->replica<gcounter>("b", g);
  BOOST_REQUIRE(mutate(*a->sys, ra, op("increment", {"1"})));
  BOOST_REQUIRE(mutate(*b->sys, rb, op("increment", {"2"})));
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*b->sys, rb)->value() == 3u; }));
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*a->sys, ra)->value() == 3u; }));
  // For a whole second, not one instant: no intruder gets in, and no 666 arrives.
  BOOST_TEST(holds_throughout([&] {
    bool out = nodes_known(*a) == 1u && value_of<gcounter>(*a->sys, ra)->value() == 3u;
    for (auto& x : intruders) out = out && nodes_known(*x) == 0u;
    return out;
  }));
  intruders.clear();
  b.reset();
  a.reset();
}

BOOST_AUTO_TEST_CASE(refused_handshakes_do_not_break_established_connections) {
  auto a = std::make_unique<node>("", with_tls(files_of("node1")));
  auto b = std::make_unique<node>("", with_tls(files_of("node2")));
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  BOOST_REQUIRE(connect(*b->sys, b->membership, "127.0.0.1", *port));
  group_key g{"counter", "tls-established"};
  auto ra = a->replica<gcounter>("a", g);
  auto rb = b->replica<gcounter>("b", g);
  BOOST_REQUIRE(mutate(*b->sys, rb, op("increment", {"1"})));
  BOOST_REQUIRE(eventually([&] { return value_of<gcounter>(*a->sys, ra)->value() == 1u; }));
  for (int i = 0; i < 3; ++i) {
    node rogue{"", with_tls(files_of("rogue", "rogue"))};
    BOOST_REQUIRE(!connect(*rogue.sys, rogue.membership, "127.0.0.1", *port));
  }
  BOOST_REQUIRE(mutate(*b->sys, rb, op("increment", {"2"})));
  BOOST_REQUIRE(mutate(*a->sys, ra, op("increment", {"4"})));
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*a->sys, ra)->value() == 7u; }));
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*b->sys, rb)->value() == 7u; }));
  BOOST_TEST(nodes_known(*a) == 1u);
  b.reset();
  a.reset();
}

BOOST_AUTO_TEST_CASE(over_tls_with_a_secret_a_partition_heals_and_both_handshakes_run_again) {
  auto took = partition_heals([&] { return std::make_unique<node>("s3cret", with_tls(files_of("node2"))); });
  BOOST_TEST_MESSAGE("TLS and secret: converged " << took.count() << " ms after the heal");
}

// Grove's interpositions of SSL_read, SSL_write, SSL_accept and SSL_connect apply to CAF's calls
// only: a program that links grove::actors and uses OpenSSL itself keeps the errors it queued
// before an SSL_read or SSL_write, and its own failed handshakes are not counted as refusals. (A
// handshake's first step empties the queue in OpenSSL itself.)
BOOST_AUTO_TEST_CASE(a_programs_own_ssl_calls_keep_its_error_queue) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  BOOST_REQUIRE(ctx);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), &SSL_free};
  BOOST_REQUIRE(ssl);
  char buffer[16] = {};
  const std::vector<std::function<int()>> calls{
    [&] { return SSL_read(ssl.get(), buffer, sizeof buffer); },
    [&] { return SSL_write(ssl.get(), buffer, sizeof buffer); },
  };
  for (std::size_t i = 0; i < calls.size(); ++i) {
    BOOST_TEST_CONTEXT((i == 0 ? "SSL_read" : "SSL_write")) {
      ERR_clear_error();
      ERR_raise(ERR_LIB_USER, 42);  // the program's own error, queued before the call
      BOOST_TEST(calls[i]() <= 0);  // no connection: it fails, and may queue errors of its own
      auto first = ERR_peek_error();
      BOOST_TEST(ERR_GET_LIB(first) == ERR_LIB_USER);  // still first: nothing emptied the queue
      BOOST_TEST(ERR_GET_REASON(first) == 42);
    }
  }
  auto refusals = tls_handshake_refusals();
  for (auto handshake : {SSL_accept, SSL_connect}) BOOST_TEST(handshake(ssl.get()) <= 0);
  BOOST_TEST(tls_handshake_refusals().incoming == refusals.incoming);
  BOOST_TEST(tls_handshake_refusals().outgoing == refusals.outgoing);
  ERR_clear_error();
}

BOOST_AUTO_TEST_SUITE_END()
