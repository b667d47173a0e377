// A node's Prometheus endpoint (grove.metrics): scraped over HTTP and parsed as the text format,
// its counters move with the work done: writes and reads by level, deltas and transfers between
// two nodes, anti-entropy rounds, the delta log and its snapshot, synced commits, connected nodes,
// an acknowledgement timeout, and a TLS handshake refused to a node with another secret.
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "grove/crdt/all.hpp"
#include "support/prometheus_scrape.hpp"
#include "support/replication.hpp"
#include "support/running_node.hpp"
#include "support/temp_dir.hpp"

using namespace grove;
using namespace grove::actors;
using namespace grove::testing;
using labels = std::map<std::string, std::string>;

namespace {

const std::string cluster_secret = "q3Jf0b8cZ1mS9xWm2rK7tA4vN6yH5uE1pL0oI8dG3sQ=";
const std::string other_secret = "Zr8Lw2Nq5Tb7Yc1Vd9Xe3Uf6Sg0Rh4Pi8Oj2Mk5Ll7A=";

std::uint16_t port_of_endpoint(const std::string& host_port) {
  return static_cast<std::uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

// One scrape of the node's endpoint.
std::vector<prometheus_sample> scrape(running_node& n) {
  return parse_prometheus(http_get(port_of_endpoint(n->metrics_endpoint())));
}

double metric(running_node& n, const std::string& name, const labels& l = {}) {
  auto v = sample_value(scrape(n), name, l);
  BOOST_REQUIRE_MESSAGE(v, "no sample " << name);
  return *v;
}

std::string write_file(const temp_dir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text << "\n";
  return dir.file(name);
}

replica_count write_at(caf::actor_system& sys, const replica_actor& r, consistency level, grove::status& outcome) {
  caf::scoped_actor self{sys};
  replica_count count;
  self->request(r, 30s, mutate_atom::value, write_request{{crdt::operation{"increment", {"1"}}}, level})
    .receive([&](replica_count& c) { count = c; }, [&](caf::error& e) { outcome = from_caf_error(e); });
  return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_endpoint_serves_the_text_format_and_every_counter_moves_with_the_work) {
  temp_dir dir;
  auto secret = write_file(dir, "secret", cluster_secret);
  running_node a({"--grove.name=a", "--grove.data=" + dir.file("a"), "--grove.durable", "--grove.sync-interval=20",
                  "--grove.snapshot-interval=600000", "--grove.secret-file=" + secret, "--grove.metrics=127.0.0.1:0"});
  BOOST_REQUIRE_MESSAGE(a.node, (a.node ? "" : a.node.error().to_string()));
  // The endpoint was bound on a free port and is reported in the listening event.
  auto listening = a.events->wait_for(node_event::kind::listening);
  BOOST_REQUIRE(listening);
  BOOST_TEST(listening->detail == a->metrics_endpoint());
  BOOST_TEST(port_of_endpoint(a->metrics_endpoint()) != 0);

  auto before = scrape(a);
  for (const auto& family :
       {"grove_operations_total", "grove_deltas_total", "grove_snapshot_duration_seconds_bucket",
        "grove_storage_fsync_duration_seconds_count", "grove_nodes_connected", "grove_nodes_unreachable_total",
        "grove_tls_handshakes_refused_total", "grove_groups_hosted", "grove_store_bytes", "grove_delta_log_bytes",
        "grove_antientropy_rounds_total", "grove_transfers_total", "grove_ack_timeouts_total", "grove_build_info"}) {
    bool found = false;
    for (const auto& s : before) found = found || s.name == family;
    BOOST_TEST(found, family);
  }
  BOOST_TEST(*sample_value(before, "grove_groups_hosted") == 0);
  auto refused_before = *sample_value(before, "grove_tls_handshakes_refused_total", {{"side", "incoming"}});

  // Ten local writes and a delta log that grows (no snapshot for ten minutes).
  auto counter = a->replica({"counter", "c"});
  BOOST_REQUIRE(counter);
  for (int i = 0; i < 10; ++i) BOOST_REQUIRE(mutate(*a.sys, *counter, {"increment", {"1"}}));
  BOOST_TEST(metric(a, "grove_operations_total", {{"operation", "write"}, {"level", "local"}}) == 10);
  BOOST_TEST(metric(a, "grove_groups_hosted") == 1);
  BOOST_TEST(eventually([&] { return metric(a, "grove_delta_log_entries") >= 1; }));
  BOOST_TEST(metric(a, "grove_delta_log_bytes") > 0);
  BOOST_TEST(metric(a, "grove_storage_fsync_duration_seconds_count") > 0);
  BOOST_TEST(metric(a, "grove_storage_fsync_duration_seconds_bucket", {{"le", "+Inf"}})
             == metric(a, "grove_storage_fsync_duration_seconds_count"));
  BOOST_TEST(metric(a, "grove_store_bytes") > 0);
  // A snapshot truncates the log and is timed.
  BOOST_REQUIRE(a->snapshot());
  BOOST_TEST(metric(a, "grove_snapshot_duration_seconds_count") >= 1);
  BOOST_TEST(metric(a, "grove_delta_log_entries") == 0);
  BOOST_TEST(metric(a, "grove_delta_log_bytes") == 0);

  // A second node: it hosts the group too, gets a's full state, and deltas flow both ways.
  running_node b({"--grove.name=b", "--grove.store=ets", "--grove.sync-interval=20", "--grove.secret-file=" + secret,
                  "--grove.metrics=127.0.0.1:0", "--grove.peer=127.0.0.1:" + std::to_string(a->port())});
  BOOST_REQUIRE(b.node);
  BOOST_TEST(
    eventually([&] { return metric(a, "grove_nodes_connected") == 1 && metric(b, "grove_nodes_connected") == 1; }));
  BOOST_TEST(eventually([&] { return metric(b, "grove_groups_hosted") == 1; }));
  BOOST_TEST(eventually([&] { return metric(a, "grove_transfers_total", {{"direction", "sent"}}) >= 1; }));
  BOOST_TEST(eventually([&] { return metric(b, "grove_transfers_total", {{"direction", "received"}}) >= 1; }));
  BOOST_TEST(metric(b, "grove_replication_bytes_total", {{"direction", "received"}, {"kind", "state"}}) > 0);
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(mutate(*a.sys, *counter, {"increment", {"1"}}));
  BOOST_TEST(eventually([&] { return metric(a, "grove_deltas_total", {{"direction", "sent"}}) >= 1; }));
  BOOST_TEST(eventually([&] { return metric(b, "grove_deltas_total", {{"direction", "received"}}) >= 1; }));
  BOOST_TEST(metric(b, "grove_replication_bytes_total", {{"direction", "received"}, {"kind", "delta"}}) > 0);
  BOOST_TEST(eventually([&] { return metric(a, "grove_antientropy_rounds_total") >= 1; }));
  // Writes and reads at a level are counted by level.
  grove::status outcome;
  auto acks = write_at(*a.sys, *counter, {consistency_level::all, 5000}, outcome);
  BOOST_REQUIRE_MESSAGE(outcome, (outcome ? "" : outcome.error().to_string()));
  BOOST_TEST(acks.acks == 2u);
  BOOST_TEST(metric(a, "grove_operations_total", {{"operation", "write"}, {"level", "all"}}) == 1);

  // A node with another secret is refused at the TLS handshake.
  auto other = write_file(dir, "other", other_secret);
  running_node intruder({"--grove.name=x", "--grove.store=ets", "--grove.secret-file=" + other,
                         "--grove.peer=127.0.0.1:" + std::to_string(a->port())});
  BOOST_REQUIRE(intruder.node);
  BOOST_TEST(eventually([&] {
    return metric(a, "grove_tls_handshakes_refused_total", {{"side", "incoming"}}) > refused_before;
  }));
  BOOST_TEST(metric(a, "grove_nodes_connected") == 1);

  // With b gone, a write at all times out: an acknowledgement timeout.
  b.stop();
  BOOST_TEST(eventually([&] { return metric(a, "grove_nodes_connected") == 0; }));
  grove::status timed_out;
  write_at(*a.sys, *counter, {consistency_level::all, 300}, timed_out);
  BOOST_REQUIRE(!timed_out);
  BOOST_TEST((timed_out.error().code() == errc::unavailable));
  BOOST_TEST(metric(a, "grove_ack_timeouts_total", {{"operation", "write"}}) == 1);
  BOOST_TEST(metric(a, "grove_ack_timeouts_total", {{"operation", "read"}}) == 0);
}

BOOST_AUTO_TEST_CASE(metrics_are_off_by_default_and_a_taken_address_is_an_error_with_its_reason) {
  temp_dir dir;
  running_node quiet({"--grove.name=q", "--grove.store=ets"});
  BOOST_REQUIRE(quiet.node);
  BOOST_TEST(quiet->metrics_endpoint().empty());
  running_node first({"--grove.name=m", "--grove.store=ets", "--grove.metrics=127.0.0.1:0"});
  BOOST_REQUIRE(first.node);
  running_node second({"--grove.name=n", "--grove.store=ets", "--grove.metrics=" + first->metrics_endpoint()});
  BOOST_REQUIRE(!second.node);
  BOOST_TEST((second.node.error().code() == errc::unavailable));
  BOOST_TEST(second.node.error().message().find("cannot serve metrics on " + first->metrics_endpoint())
             != std::string::npos);
}
