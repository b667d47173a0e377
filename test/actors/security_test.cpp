// The transport's door, by mode (docs/security.md): an outsider tries every way in that CAF 0.17
// offers against each mode, and gets exactly what the threat model says; members still join,
// replicate and heal; refusals are errors for the caller and log lines on both sides.
#define BOOST_TEST_MODULE security
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <caf/io/basp_broker.hpp>
#include <caf/openssl/all.hpp>

#include "grove/actors/tls.hpp"
#include "grove/crdt/all.hpp"
#include "support/node.hpp"
#include "support/partition.hpp"
#include "support/printing.hpp"
#include "support/temp_dir.hpp"
#include "support/tls.hpp"

using namespace grove::actors;
using namespace grove::crdt;
using namespace grove::testing;
using grove::errc;
using grove::storage::group_key;

namespace {

// Two secrets of 44 base64 characters, as `head -c 32 /dev/urandom | base64` makes them.
const std::string cluster_secret = "q3Jf0b8cZ1mS9xWm2rK7tA4vN6yH5uE1pL0oI8dG3sQ=";
const std::string other_secret = "Zr8Lw2Nq5Tb7Yc1Vd9Xe3Uf6Sg0Rh4Pi8Oj2Mk5Ll7A=";

// A configuration step: the node's transport, secured as `opts` say (the test fails otherwise).
config_step secured(security_options opts) {
  return [opts](node_config& cfg) {
    auto ok = secure_transport(cfg, opts);
    BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().to_string()));
  };
}

// Who a node is: its membership secret and how its transport is set up.
struct identity {
  std::string name;
  std::string membership_secret;
  config_step transport;

  std::unique_ptr<node> start() const { return std::make_unique<node>(membership_secret, transport); }
};

// The four modes of docs/security.md, as a target node runs them (grove-node hands the secret to
// membership too).
identity mode_plaintext() { return {"plaintext on loopback", "", {}}; }
identity mode_secret() { return {"secret only", cluster_secret, secured({cluster_secret, {}, false})}; }
identity mode_certificates() { return {"certificates only", "", secured({"", files_of("node1"), false})}; }
identity mode_both() {
  return {"certificates and secret", cluster_secret, secured({cluster_secret, files_of("node1"), false})};
}

// Outsiders: none has the credential of the mode it meets (except the last, see the table).
identity plaintext_outsider() { return {"plaintext", "", {}}; }
identity anonymous_outsider() { return {"anonymous TLS", "", anonymous_tls}; }
identity wrong_secret_outsider() { return {"another secret", other_secret, secured({other_secret, {}, false})}; }
identity self_signed_outsider() {
  return {"a self-signed certificate", cluster_secret, secured({"", files_of("rogue", "rogue"), false})};
}
identity secret_without_certificate() {
  return {"the secret but no certificate", cluster_secret, secured({cluster_secret, {}, false})};
}
identity certificate_without_secret() {
  return {"a certificate but not the secret", "", secured({"", files_of("node2"), false})};
}

// What a technique achieved, as docs/security.md's table says it.
enum class outcome {
  in,                  // delivered, and it worked
  membership_refuses,  // delivered, but membership refused it (not trusted)
  out,                 // never delivered: the connection was refused
};

std::ostream& operator<<(std::ostream& out, outcome o) {
  return out << (o == outcome::in ? "in" : o == outcome::membership_refuses ? "membership refuses" : "out");
}

// The target: a node in some mode, listening on loopback, with a counter replica holding 1.
struct target {
  std::unique_ptr<node> n;
  std::uint16_t port = 0;
  group_key group{"counter", "target"};
  replica_actor replica;

  explicit target(const identity& mode) : n(mode.start()) {
    auto p = listen(*n->sys, n->membership, 0);
    BOOST_REQUIRE_MESSAGE(p, (p ? "" : p.error().to_string()));
    port = *p;
    replica = n->replica<gcounter>("target", group);
    BOOST_REQUIRE(mutate(*n->sys, replica, op("increment", {"1"})));
    // Reachable by id, as every replica is once its handle crossed the network (membership tells
    // other nodes of it): CAF answers a proxy for an actor it never registered as dead.
    n->sys->registry().put(replica.id(), caf::actor_cast<caf::strong_actor_ptr>(replica));
  }

  std::uint64_t value() { return value_of<gcounter>(*n->sys, replica)->value(); }

  // Members of the group, as the target's own membership tells a local actor.
  std::vector<caf::strong_actor_ptr> members() {
    caf::scoped_actor self{*n->sys};
    std::vector<caf::strong_actor_ptr> out;
    self->request(n->membership, std::chrono::seconds(5), members_atom::value, group.to_string())
      .receive([&](std::vector<caf::strong_actor_ptr>& ms) { out = std::move(ms); }, [](caf::error&) {});
    return out;
  }

  bool has_member_on(const caf::node_id& node) {
    for (auto& m : members())
      if (m && m->node() == node) return true;
    return false;
  }
};

// The outsider: its own node with a replica of the target's group holding 666.
struct outsider {
  std::unique_ptr<node> n;
  replica_actor replica;

  outsider(const identity& who, const group_key& g) : n(who.start()) {
    replica = n->replica<gcounter>("outsider", g);
    BOOST_REQUIRE(mutate(*n->sys, replica, op("increment", {"666"})));
  }

  // The public API: the membership published at host:port, through CAF's openssl module when
  // this node has TLS, else the io middleman.
  caf::expected<membership_actor> reach(std::uint16_t port) {
    if (uses_tls(*n->sys)) return caf::openssl::remote_actor<membership_actor>(*n->sys, "127.0.0.1", port);
    return n->sys->middleman().remote_actor<membership_actor>("127.0.0.1", port);
  }

  // A proxy for actor `id` of node `node` through the BASP broker, as deserializing a handle makes one.
  caf::actor proxy(const caf::node_id& node, caf::actor_id id) {
    auto broker = n->sys->middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
    auto* basp = dynamic_cast<caf::io::basp_broker*>(caf::actor_cast<caf::abstract_actor*>(broker));
    BOOST_REQUIRE(basp);
    return caf::actor_cast<caf::actor>(basp->proxy_registry_ptr()->get_or_put(node, id));
  }

  caf::strong_actor_ptr replica_ptr() const { return caf::actor_cast<caf::strong_actor_ptr>(replica); }
};

// (a) The public API: connect to the published membership, read the group's members, join it.
outcome through_the_public_api(target& t, outsider& o) {
  auto membership = o.reach(t.port);
  if (!membership) {
    BOOST_TEST_MESSAGE("    remote_actor: " << o.n->sys->render(membership.error()));
    BOOST_TEST(holds_throughout([&] { return !t.has_member_on(o.n->sys->node()); }, std::chrono::milliseconds(300)));
    return outcome::out;
  }
  caf::scoped_actor self{*o.n->sys};
  auto handle = *membership;
  bool read = false, joined = false;
  self->request(handle, std::chrono::seconds(5), members_atom::value, t.group.to_string())
    .receive([&](std::vector<caf::strong_actor_ptr>& ms) { read = !ms.empty(); }, [](caf::error&) {});
  self
    ->request(handle, std::chrono::seconds(5), join_group_atom::value, t.group.to_string(), o.replica_ptr(),
              std::string("outsider"))
    .receive([&](std::vector<caf::strong_actor_ptr>&) { joined = true; }, [](caf::error&) {});
  BOOST_TEST(read == joined);
  BOOST_TEST(t.has_member_on(o.n->sys->node()) == joined);
  return joined ? outcome::in : outcome::membership_refuses;
}

// (b) A proxy for the target's replica by actor id (no handle needed): read it, then add 41.
outcome by_actor_id(target& t, outsider& o) {
  (void)o.reach(t.port);  // a route, if the transport lets one be made
  auto replica = caf::actor_cast<replica_actor>(o.proxy(t.n->sys->node(), t.replica.id()));
  caf::scoped_actor self{*o.n->sys};
  bool read = false;
  self->request(replica, std::chrono::milliseconds(500), state_atom::value)
    .receive([&](grove::bytes&) { read = true; }, [](caf::error&) {});
  self->request(replica, std::chrono::milliseconds(500), mutate_atom::value, op("increment", {"41"}))
    .receive([](done_atom) {}, [](caf::error&) {});
  if (eventually([&] { return t.value() == 42u; }, std::chrono::milliseconds(500))) {
    BOOST_TEST(read);
    return outcome::in;
  }
  BOOST_TEST(!read);
  BOOST_TEST(holds_throughout([&] { return t.value() == 1u; }, std::chrono::milliseconds(300)));
  return outcome::out;
}

// (c) A spoofed local sender: join_group sent to the target's membership under its own identity
// (a routed message that names the receiving node as its source).
outcome as_a_spoofed_local_sender(target& t, outsider& o) {
  (void)o.reach(t.port);
  auto membership = o.proxy(t.n->sys->node(), t.n->membership.id());
  caf::send_as(membership, membership, join_group_atom::value, t.group.to_string(), o.replica_ptr(),
               std::string("outsider"));
  if (eventually([&] { return t.has_member_on(o.n->sys->node()); }, std::chrono::milliseconds(800)))
    return outcome::in;  // a member of the group: the target's replica now sends it its state
  BOOST_TEST(holds_throughout([&] { return t.value() == 1u; }, std::chrono::milliseconds(300)));
  return outcome::out;
}

// (d) The cluster-secret handshake, reflected and replayed: the outsider starts one, sends the
// target's own MAC back as its proof, replays it, then says hello with a member of the group.
outcome with_a_reflected_handshake(target& t, outsider& o) {
  auto reached = o.reach(t.port);
  auto membership =
    reached ? *reached : caf::actor_cast<membership_actor>(o.proxy(t.n->sys->node(), t.n->membership.id()));
  caf::scoped_actor self{*o.n->sys};
  std::string nonce_a(32, 'a');
  self->send(membership, version_probe{protocol_version, false});
  self->receive([](const version_probe&) {}, caf::after(std::chrono::milliseconds(500)) >> [] {});
  self->send(membership, auth_hello{nonce_a});
  bool challenged = false;
  self->receive(
    [&](const auth_challenge& c) {
      challenged = true;
      for (int replay = 0; replay < 2; ++replay) self->send(membership, auth_proof{c.nonce_b, c.mac_b});
    },
    caf::after(std::chrono::milliseconds(500)) >> [] {});
  self->send(
    membership,
    hello_message{false, "outsider", false, {{t.group.to_string(), o.replica_ptr(), "outsider"}}, {}, std::string()});
  if (eventually([&] { return nodes_known(*t.n) > 0; }, std::chrono::milliseconds(800))) return outcome::in;
  BOOST_TEST(
    holds_throughout([&] { return nodes_known(*t.n) == 0u && !t.has_member_on(o.n->sys->node()) && t.value() == 1u; },
                     std::chrono::milliseconds(300)));
  return challenged || reached ? outcome::membership_refuses : outcome::out;
}

using technique = outcome (*)(target&, outsider&);

struct expectation {
  identity (*mode)();
  identity (*who)();
  outcome public_api, by_id, spoofed, reflected;
};

}  // namespace

// docs/security.md, "Who gets in", row by row: each technique against a fresh target node.
BOOST_AUTO_TEST_CASE(an_outsider_gets_exactly_what_the_threat_model_says_in_each_mode) {
  using o = outcome;
  const std::vector<expectation> table{
    // Plaintext on loopback: the door is open to every local process.
    {mode_plaintext, plaintext_outsider, o::in, o::in, o::in, o::in},
    // Secret only: without the secret, no connection: nothing is delivered.
    {mode_secret, plaintext_outsider, o::out, o::out, o::out, o::out},
    {mode_secret, anonymous_outsider, o::out, o::out, o::out, o::out},
    {mode_secret, wrong_secret_outsider, o::out, o::out, o::out, o::out},
    // Certificates only: without a certificate from the CA, the same.
    {mode_certificates, plaintext_outsider, o::out, o::out, o::out, o::out},
    {mode_certificates, self_signed_outsider, o::out, o::out, o::out, o::out},
    {mode_certificates, secret_without_certificate, o::out, o::out, o::out, o::out},
    // Both: the certificate is the door; the secret alone does not open it.
    {mode_both, plaintext_outsider, o::out, o::out, o::out, o::out},
    {mode_both, self_signed_outsider, o::out, o::out, o::out, o::out},
    {mode_both, secret_without_certificate, o::out, o::out, o::out, o::out},
    // ... and a certificate without the secret opens it: membership (the secret's check) refuses
    // its joins, hellos and handshake, but like any connected peer it can message replicas by id
    // and pose as a local sender (CAF 0.17's BASP). The secret binds honest nodes, not hostile ones.
    {mode_both, certificate_without_secret, o::membership_refuses, o::in, o::in, o::membership_refuses},
  };
  const std::vector<std::pair<const char*, technique>> techniques{
    {"public API", through_the_public_api},
    {"proxy by actor id", by_actor_id},
    {"spoofed local sender", as_a_spoofed_local_sender},
    {"reflected and replayed handshake", with_a_reflected_handshake}};
  for (const auto& row : table) {
    auto mode = row.mode();
    auto who = row.who();
    const outcome expected[] = {row.public_api, row.by_id, row.spoofed, row.reflected};
    for (std::size_t i = 0; i < techniques.size(); ++i) {
      BOOST_TEST_CONTEXT(mode.name << ", outsider with " << who.name << ", " << techniques[i].first) {
        BOOST_TEST_MESSAGE(mode.name << " / " << who.name << " / " << techniques[i].first);
        target t{mode};
        outsider x{who, t.group};
        auto refused_before = tls_handshake_refusals().incoming;
        BOOST_TEST(techniques[i].second(t, x) == expected[i]);
        if (expected[i] == outcome::out) {
          BOOST_TEST(t.value() == 1u);
          BOOST_TEST(nodes_known(*t.n) == 0u);
          BOOST_TEST(t.members().size() == 1u);  // its own replica only
          // The door was tried and held (counted on the node's side, maybe after the outsider gave up).
          BOOST_TEST(eventually([&] { return tls_handshake_refusals().incoming > refused_before; }));
        }
      }
    }
  }
}

// What grove's own connect() tells an outsider: a named error, not CAF's bare code.
BOOST_AUTO_TEST_CASE(connecting_without_the_credential_is_a_named_error) {
  for (auto mode : {mode_secret(), mode_certificates(), mode_both()}) {
    for (auto who : {plaintext_outsider(), wrong_secret_outsider(), self_signed_outsider()}) {
      BOOST_TEST_CONTEXT(mode.name << ", outsider with " << who.name) {
        target t{mode};
        outsider x{who, t.group};
        auto refused = connect(*x.n->sys, x.n->membership, "127.0.0.1", t.port);
        BOOST_REQUIRE(!refused);
        BOOST_TEST(refused.error().code() == errc::permission_denied);
        auto text = refused.error().message();
        BOOST_TEST(
          text.find("handshake with 127.0.0.1:" + std::to_string(t.port) + " was refused") != std::string::npos, text);
        BOOST_TEST((text.find("cluster secret") != std::string::npos || text.find("requires TLS") != std::string::npos),
                   text);
        BOOST_TEST(nodes_known(*x.n) == 0u);
      }
    }
  }
}

namespace {

// Everything written to stderr (fd 2) while it lives, for reading back.
class captured_stderr {
public:
  captured_stderr() : saved_(::dup(2)) {
    std::fflush(stderr);
    std::cerr.flush();
    int fd = ::open(dir_.file("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }

  ~captured_stderr() { restore(); }

  /// What was written so far.
  std::string peek() const {
    std::ifstream in(dir_.file("stderr"));
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  /// Restores stderr and returns what was written meanwhile.
  std::string text() {
    restore();
    return peek();
  }

private:
  void restore() {
    if (saved_ < 0) return;
    std::cerr.flush();
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  temp_dir dir_;
  int saved_;
};

bool has_line(const std::string& text, const std::string& start, const std::string& part = "") {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(start, 0) == 0 && line.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_wrong_or_missing_secret_is_refused_logged_on_both_sides_and_delivers_nothing) {
  target t{mode_secret()};
  auto port = std::to_string(t.port);
  outsider wrong{wrong_secret_outsider(), t.group};
  outsider missing{plaintext_outsider(), t.group};
  auto before = tls_handshake_refusals();
  // The accepting side: one line per refused peer, with its address and OpenSSL's reason. The
  // connecting sides: the wrong secret's TLS refuses the node's certificate, and both say what
  // their connect() call returned. (Log lines are rate-limited for the whole process; the two
  // keep dialling, so a line held back by an earlier test's burst comes a second later.)
  const std::vector<std::pair<std::string, std::string>> expected_lines{
    {"[grove] tls: refused a connection from 127.0.0.1:", "unknown ca"},
    {"[grove] tls: refused a connection from 127.0.0.1:", "wrong version number"},
    {"[grove] tls: the TLS handshake with 127.0.0.1:" + port, "certificate verify failed"},
    {"[grove] tls: connecting to 127.0.0.1:" + port + " failed: the TLS handshake", "refused"},
    {"[grove] tls: connecting to 127.0.0.1:" + port + " failed: the handshake", "requires TLS"}};
  captured_stderr captured;
  for (auto* x : {&wrong, &missing}) {
    auto refused = connect(*x->n->sys, x->n->membership, "127.0.0.1", t.port);
    BOOST_TEST(!refused);
    if (!refused) BOOST_TEST(refused.error().code() == errc::permission_denied);
  }
  auto all_logged = [&] {
    auto log = captured.peek();
    for (const auto& [start, part] : expected_lines)
      if (!has_line(log, start, part)) return false;
    return true;
  };
  BOOST_TEST(eventually(all_logged, std::chrono::seconds(10)));
  auto log = captured.text();
  BOOST_TEST_MESSAGE(log);
  for (const auto& [start, part] : expected_lines) BOOST_TEST(has_line(log, start, part), start << " ... " << part);
  BOOST_TEST(tls_handshake_refusals().incoming >= before.incoming + 2);
  BOOST_TEST(tls_handshake_refusals().outgoing >= before.outgoing + 2);
  // Nothing of theirs arrives, for a whole second.
  BOOST_TEST(holds_throughout([&] { return t.value() == 1u && nodes_known(*t.n) == 0u && t.members().size() == 1u; }));
}

// The other half of "both": a secret holder without a certificate is refused at the door (above);
// a certificate holder without the secret is let in by TLS, but membership never trusts it: it
// learns no member, and none of its replicas' state flows through membership.
BOOST_AUTO_TEST_CASE(with_certificates_and_a_secret_membership_keeps_a_certificate_holder_without_the_secret_out) {
  target t{mode_both()};
  outsider x{certificate_without_secret(), t.group};
  BOOST_REQUIRE(connect(*x.n->sys, x.n->membership, "127.0.0.1", t.port));  // TLS lets it in
  auto member = mode_both().start();
  BOOST_REQUIRE(connect(*member->sys, member->membership, "127.0.0.1", t.port));
  auto r = member->replica<gcounter>("member", t.group);
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*member->sys, r)->value() == 1u; }));
  // (x itself has no secret, so it trusts whoever it connects to; nobody there answers its hello.)
  BOOST_TEST(holds_throughout([&] {
    return nodes_known(*t.n) == 1u && t.value() == 1u && !t.has_member_on(x.n->sys->node())
           && value_of<gcounter>(*x.n->sys, x.replica)->value() == 666u;
  }));
}

// Members of a cluster in each credentialed mode join, replicate, and heal after a partition
// longer than failure detection's timeout (TLS and, with a secret, the handshake run again).
BOOST_AUTO_TEST_CASE(members_join_replicate_and_heal_in_each_credentialed_mode) {
  for (auto mode : {mode_secret(), mode_certificates(), mode_both()}) {
    BOOST_TEST_CONTEXT(mode.name) {
      auto took = partition_heals([&] { return mode.start(); });
      BOOST_TEST_MESSAGE(mode.name << ": converged " << took.count() << " ms after the heal");
    }
  }
}

BOOST_AUTO_TEST_SUITE(the_one_call)

BOOST_AUTO_TEST_CASE(a_short_secret_is_refused_and_leaves_the_configuration_alone) {
  node_config cfg;
  auto refused = secure_transport(cfg, {std::string(min_secret_size - 1, 'x'), {}, false});
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code() == errc::invalid_argument);
  BOOST_TEST(refused.error().message().find("at least 32") != std::string::npos);
  BOOST_TEST(refused.error().message().find(std::string(min_secret_size - 1, 'x')) == std::string::npos);
  BOOST_TEST(cfg.openssl_certificate.empty());
  BOOST_TEST(bool(secure_transport(cfg, {std::string(min_secret_size, 'x'), {}, false})));
}

BOOST_AUTO_TEST_CASE(the_derived_authority_is_the_same_for_one_secret_and_differs_for_another) {
  node_config a, b, c;
  auto first = secure_transport(a, {cluster_secret, {}, false});
  auto again = secure_transport(b, {cluster_secret, {}, false});
  auto other = secure_transport(c, {other_secret, {}, false});
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(again);
  BOOST_REQUIRE(other);
  BOOST_TEST((first->mode == transport_mode::secret));
  BOOST_TEST(first->ca_fingerprint.size() == 32u * 3 - 1);  // AB:CD:... of SHA-256
  BOOST_TEST(first->ca_fingerprint == again->ca_fingerprint);
  BOOST_TEST(first->ca_fingerprint != other->ca_fingerprint);
  BOOST_TEST(a.openssl_cafile.rfind("/proc/self/fd/", 0) == 0u);  // in memory, never on disk
  for (const auto& path : {a.openssl_cafile, a.openssl_certificate, a.openssl_key}) {
    int fd = ::open(path.c_str(), O_WRONLY);
    BOOST_TEST(::write(fd, "x", 1) < 0);  // sealed: nobody changes them
    BOOST_TEST(::ftruncate(fd, 0) < 0);
    if (fd >= 0) ::close(fd);
  }
  auto certificates = secure_transport(c, {"", files_of("node1"), false});
  BOOST_REQUIRE(certificates);
  BOOST_TEST((certificates->mode == transport_mode::certificates));
  BOOST_TEST(certificates->ca_fingerprint.empty());
  BOOST_TEST(c.openssl_cafile == pki().file("ca.pem"));  // the explicit CA alone: no derived CA added
}

BOOST_AUTO_TEST_CASE(plaintext_goes_beyond_loopback_only_when_insecure_is_asked_for) {
  node plain;
  auto refused = listen(*plain.sys, plain.membership, 0, "0.0.0.0");
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code() == errc::permission_denied);
  BOOST_TEST(refused.error().message().find("insecure") != std::string::npos);
  auto dial = connect(*plain.sys, plain.membership, "192.0.2.1", 4000);  // TEST-NET-1: never reached
  BOOST_REQUIRE(!dial);
  BOOST_TEST(dial.error().code() == errc::permission_denied);
  node open{"", secured({"", {}, true})};
  BOOST_TEST(bool(listen(*open.sys, open.membership, 0, "0.0.0.0")));
  node with_secret{cluster_secret, secured({cluster_secret, {}, false})};
  BOOST_TEST(bool(listen(*with_secret.sys, with_secret.membership, 0, "0.0.0.0")));
}

// CAF's transport is per actor system: a plaintext door of the application's own would bypass
// the TLS of grove's ports, so a secured system refuses to open one.
BOOST_AUTO_TEST_CASE(a_secured_actor_system_refuses_cafs_plaintext_doors_and_others_keep_them) {
  node secure{cluster_secret, secured({cluster_secret, {}, false})};
  auto some_actor = caf::actor_cast<caf::actor>(secure.membership);
  auto& mm = secure.sys->middleman();
  auto published = mm.publish(some_actor, 0, "127.0.0.1");
  BOOST_REQUIRE(!published);
  BOOST_TEST(secure.sys->render(published.error()).find("plaintext") != std::string::npos);
  BOOST_TEST(!mm.open(0, "127.0.0.1"));
  node plain;
  auto plain_port = plain.sys->middleman().publish(caf::actor_cast<caf::actor>(plain.membership), 0, "127.0.0.1");
  BOOST_REQUIRE(plain_port);  // CAF's own function, reached through grove's definition
  BOOST_TEST(!mm.remote_actor("127.0.0.1", *plain_port));
  BOOST_TEST(!mm.connect("127.0.0.1", *plain_port));
  auto reached = plain.sys->middleman().remote_actor("127.0.0.1", *plain_port);
  BOOST_TEST(bool(reached));
  auto tls_port = caf::openssl::publish(some_actor, 0, "127.0.0.1");  // TLS stays open to it
  BOOST_TEST(bool(tls_port));
}

BOOST_AUTO_TEST_SUITE_END()
