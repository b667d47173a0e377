// The addresses a node dials whenever it is not connected there: the ones given to connect()
// (seeds) and the ones connected nodes announce. After a failure or a dropped connection it dials
// again with a doubling delay (reconnect_first_delay up to reconnect_max_delay). At most
// max_known_addresses are kept: when a new one comes and the table is full, the least useful one
// goes (not connected, not a seed, connected longest ago or never). Part of membership's protocol
// core. CAF-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "grove/actors/protocol.hpp"
#include "handshake.hpp"

namespace grove::actors::membership {

using timestamp = std::chrono::milliseconds;

class addresses {
public:
  struct entry {
    std::string host;
    std::uint16_t port = 0;
    std::optional<node_key> node;             // the node there, while connected
    timestamp delay = reconnect_first_delay;  // before the next attempt
    bool dialing = false;
    bool scheduled = false;              // a redial timer is pending
    bool seed = false;                   // given to connect(): never forgotten for others
    timestamp last_connected{-1};        // -1: never
    std::vector<std::uint64_t> waiting;  // connect() calls to answer
  };

  static std::string key(const std::string& host, std::uint16_t port) { return host + ":" + std::to_string(port); }

  /// The entry for host:port, made if new (a seed when `seed`); nothing when the table is full of
  /// entries that cannot go.
  entry* remember(const std::string& host, std::uint16_t port, bool seed);
  /// A connected node announced the address it listens on ("host:port").
  void announced(const std::string& address, const node_key& node, timestamp now);

  entry* find(const std::string& key);
  /// The key of the address where `node` is connected, if any.
  std::optional<std::string> key_of(const node_key& node) const;

  /// A dial succeeded: `node` is there now.
  void connected(const std::string& key, const node_key& node, timestamp now);
  /// `node` went away: the addresses it was connected at are dialled again; returns their keys.
  std::vector<std::string> disconnected(const node_key& node);

  /// Whether `key` should be dialled now (not connected, not dialling, no timer pending); then
  /// it counts as dialling.
  bool start_dial(const std::string& key);
  /// The delay before dialling `key` again (doubled for the time after), or nothing when it is
  /// connected, being dialled, or waiting already.
  std::optional<timestamp> schedule(const std::string& key);

  /// Every known address: (connected, unreachable ones being retried).
  std::pair<std::vector<std::string>, std::vector<std::string>> listing() const;

  void set_own(const std::string& own) { own_ = own; }
  const std::string& own() const { return own_; }

private:
  bool evict_one();

  std::map<std::string, entry> entries_;
  std::string own_;  // "host:port" this node listens on, if any
};

}  // namespace grove::actors::membership
