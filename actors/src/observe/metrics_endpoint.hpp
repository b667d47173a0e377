// A node's Prometheus endpoint (grove.metrics): prometheus-cpp's pull exposer (an embedded HTTP
// server on threads of its own) serving GET /metrics in the text format. A scrape reads the
// node's atomics (metrics.hpp) and a few values that are not actor state (the store file's size,
// the process's refused TLS handshakes); it never asks an actor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "grove/actors/metrics.hpp"
#include "grove/crdt/error.hpp"

namespace grove::actors::detail {

class metrics_endpoint {
public:
  /// Serves `metrics` on `host_port` (HOST:PORT; port 0 picks one). `store_bytes` is asked at each
  /// scrape (from the exposer's threads). Errors: unavailable when the address cannot be bound.
  static expected<std::unique_ptr<metrics_endpoint>> serve(const std::string& host_port,
                                                           std::shared_ptr<const node_metrics> metrics,
                                                           std::function<std::uint64_t()> store_bytes);
  virtual ~metrics_endpoint() = default;
  /// HOST:PORT as bound.
  virtual std::string address() const = 0;
};

}  // namespace grove::actors::detail
