#include "observe/metrics_endpoint.hpp"

#include <exception>
#include <limits>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include "grove/actors/tls.hpp"

#ifndef GROVE_VERSION
#define GROVE_VERSION "unknown"
#endif

namespace grove::actors::detail {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::vector<ClientMetric::Label>;

double value_of(const std::atomic<std::uint64_t>& c) { return static_cast<double>(c.load(std::memory_order_relaxed)); }
double value_of(const std::atomic<std::int64_t>& g) { return static_cast<double>(g.load(std::memory_order_relaxed)); }

ClientMetric sample(MetricType type, double value, labels l = {}) {
  ClientMetric m;
  m.label = std::move(l);
  if (type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return m;
}

MetricFamily family(std::string name, std::string help, MetricType type, std::vector<ClientMetric> samples) {
  return MetricFamily{std::move(name), std::move(help), type, std::move(samples)};
}

MetricFamily one(std::string name, std::string help, MetricType type, double value) {
  return family(std::move(name), std::move(help), type, {sample(type, value)});
}

// A counter with one label of two values.
MetricFamily by_direction(std::string name, std::string help, const std::atomic<std::uint64_t>& sent,
                          const std::atomic<std::uint64_t>& received) {
  return family(std::move(name), std::move(help), MetricType::Counter,
                {sample(MetricType::Counter, value_of(sent), {{"direction", "sent"}}),
                 sample(MetricType::Counter, value_of(received), {{"direction", "received"}})});
}

MetricFamily histogram(std::string name, std::string help, const duration_histogram& h) {
  ClientMetric m;
  auto bounds = h.upper_bounds();
  auto counts = h.bucket_counts();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    m.histogram.bucket.push_back({cumulative, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity()});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum_seconds();
  return family(std::move(name), std::move(help), MetricType::Histogram, {m});
}

const char* const operation_names[] = {"write", "read"};
const char* const level_names[] = {"local", "majority", "all"};

class node_collectable : public prometheus::Collectable {
public:
  node_collectable(std::shared_ptr<const node_metrics> metrics, std::function<std::uint64_t()> store_bytes)
      : m_(std::move(metrics)), store_bytes_(std::move(store_bytes)) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    client_metrics(out);
    replication_metrics(out);
    storage_metrics(out);
    membership_metrics(out);
    out.push_back(family("grove_build_info", "Grove's version (always 1)", MetricType::Gauge,
                         {sample(MetricType::Gauge, 1, {{"version", GROVE_VERSION}})}));
    return out;
  }

private:
  void client_metrics(std::vector<MetricFamily>& out) const {
    std::vector<ClientMetric> ops, timeouts;
    for (std::size_t op = 0; op < node_metrics::operation_count; ++op) {
      for (std::size_t level = 0; level < node_metrics::level_count; ++level)
        ops.push_back(sample(MetricType::Counter, value_of(m_->operations[op][level]),
                             {{"level", level_names[level]}, {"operation", operation_names[op]}}));
      timeouts.push_back(
        sample(MetricType::Counter, value_of(m_->ack_timeouts[op]), {{"operation", operation_names[op]}}));
    }
    out.push_back(family("grove_operations_total", "Client operations by kind and consistency level",
                         MetricType::Counter, std::move(ops)));
    out.push_back(family("grove_ack_timeouts_total",
                         "Writes and reads at majority or all whose replicas did not acknowledge in time",
                         MetricType::Counter, std::move(timeouts)));
  }

  void replication_metrics(std::vector<MetricFamily>& out) const {
    out.push_back(by_direction("grove_deltas_total", "Deltas sent to and received from peers", m_->deltas_sent,
                               m_->deltas_received));
    out.push_back(family(
      "grove_replication_bytes_total", "Payload bytes of deltas and full states sent and received", MetricType::Counter,
      {sample(MetricType::Counter, value_of(m_->delta_bytes_sent), {{"direction", "sent"}, {"kind", "delta"}}),
       sample(MetricType::Counter, value_of(m_->delta_bytes_received), {{"direction", "received"}, {"kind", "delta"}}),
       sample(MetricType::Counter, value_of(m_->state_bytes_sent), {{"direction", "sent"}, {"kind", "state"}}),
       sample(MetricType::Counter, value_of(m_->state_bytes_received),
              {{"direction", "received"}, {"kind", "state"}})}));
    out.push_back(by_direction("grove_transfers_total",
                               "Full-state transfers (anti-entropy repairs, new peers) started", m_->transfers_sent,
                               m_->transfers_received));
    out.push_back(one("grove_antientropy_rounds_total", "Digest rounds that sent at least one digest",
                      MetricType::Counter, value_of(m_->antientropy_rounds)));
    out.push_back(
      by_direction("grove_antientropy_digests_total", "Anti-entropy digests", m_->digests_sent, m_->digests_received));
    out.push_back(one("grove_replica_messages_refused_total", "Replica messages from actors that are no peer, ignored",
                      MetricType::Counter, value_of(m_->replica_messages_refused)));
  }

  void storage_metrics(std::vector<MetricFamily>& out) const {
    out.push_back(one("grove_delta_log_entries", "Delta log entries after the snapshots of the hosted groups",
                      MetricType::Gauge, value_of(m_->delta_log_entries)));
    out.push_back(
      one("grove_delta_log_bytes", "Bytes of those entries", MetricType::Gauge, value_of(m_->delta_log_bytes)));
    out.push_back(histogram("grove_snapshot_duration_seconds",
                            "From a replica's snapshot to the storage actor's confirmation that it is committed",
                            m_->snapshot_duration));
    out.push_back(histogram("grove_storage_fsync_duration_seconds",
                            "Synced commits of the on-disk store: page writes and fdatasync", m_->fsync_duration));
    out.push_back(one("grove_storage_commits_total", "Transactions of the storage actor", MetricType::Counter,
                      value_of(m_->storage_commits)));
    out.push_back(family("grove_storage_written_bytes_total", "Bytes of snapshots and delta log entries written",
                         MetricType::Counter,
                         {sample(MetricType::Counter, value_of(m_->snapshot_bytes_written), {{"kind", "snapshot"}}),
                          sample(MetricType::Counter, value_of(m_->log_bytes_written), {{"kind", "log"}})}));
    out.push_back(one("grove_store_bytes", "Size of the store file (0 for an in-memory store)", MetricType::Gauge,
                      static_cast<double>(store_bytes_())));
  }

  void membership_metrics(std::vector<MetricFamily>& out) const {
    out.push_back(one("grove_nodes_connected", "Other nodes connected and trusted", MetricType::Gauge,
                      value_of(m_->nodes_connected)));
    out.push_back(one("grove_groups_hosted", "Groups this node hosts a replica of", MetricType::Gauge,
                      value_of(m_->groups_hosted)));
    out.push_back(one("grove_membership_refused_total",
                      "Node messages refused: a wrong cluster secret, another protocol version, untrusted",
                      MetricType::Counter, value_of(m_->membership_refused)));
    out.push_back(one("grove_nodes_unreachable_total",
                      "Nodes taken as gone because they went silent without closing their connection",
                      MetricType::Counter, value_of(m_->nodes_unreachable)));
    auto tls = tls_handshake_refusals();
    out.push_back(family("grove_tls_handshakes_refused_total",
                         "TLS handshakes refused in this process: connections from nodes without the credential "
                         "(incoming), dials that were refused (outgoing)",
                         MetricType::Counter,
                         {sample(MetricType::Counter, static_cast<double>(tls.incoming), {{"side", "incoming"}}),
                          sample(MetricType::Counter, static_cast<double>(tls.outgoing), {{"side", "outgoing"}})}));
  }

  std::shared_ptr<const node_metrics> m_;
  std::function<std::uint64_t()> store_bytes_;
};

class prometheus_endpoint : public metrics_endpoint {
public:
  prometheus_endpoint(std::unique_ptr<prometheus::Exposer> exposer, std::shared_ptr<node_collectable> collectable,
                      std::string address)
      : exposer_(std::move(exposer)), collectable_(std::move(collectable)), address_(std::move(address)) {
    exposer_->RegisterCollectable(collectable_);
  }

  std::string address() const override { return address_; }

private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<node_collectable> collectable_;  // the exposer holds it weakly
  std::string address_;
};

}  // namespace

expected<std::unique_ptr<metrics_endpoint>> metrics_endpoint::serve(const std::string& host_port,
                                                                    std::shared_ptr<const node_metrics> metrics,
                                                                    std::function<std::uint64_t()> store_bytes) {
  auto host = host_port.substr(0, host_port.rfind(':'));
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(host_port, 1);
  } catch (const std::exception& e) {
    return error(errc::unavailable, "cannot serve metrics on " + host_port + ": " + e.what());
  }
  auto ports = exposer->GetListeningPorts();
  if (ports.empty()) return error(errc::unavailable, "cannot serve metrics on " + host_port + ": no port bound");
  auto collectable = std::make_shared<node_collectable>(std::move(metrics), std::move(store_bytes));
  return std::unique_ptr<metrics_endpoint>(
    new prometheus_endpoint(std::move(exposer), std::move(collectable), host + ":" + std::to_string(ports.front())));
}

}  // namespace grove::actors::detail
