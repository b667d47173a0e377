// What a node tells its subscribers (node.hpp, node::subscribe): nodes coming and going, groups it
// starts or stops hosting, warnings, and the progress of work a person waits for (loading a large
// store at start, large full-state transfers). Sent as a message of its own (a node_event) to each
// subscriber actor. CAF-free; the inspect overload lets it cross the network too.
#pragma once

#include <cstdint>
#include <string>

namespace grove::actors {

struct node_event {
  enum class kind : std::uint8_t {
    /// `detail`: something an operator should know (plaintext beyond loopback, say).
    warning,
    /// `subject`: ADDRESS:PORT the node listens on; `detail`: the metrics endpoint HOST:PORT, or empty.
    listening,
    /// A seed (grove.peer) answered: `subject` is its HOST:PORT.
    connected,
    /// A seed did not answer or refused: `subject` is its HOST:PORT, `detail` the error. The node keeps
    /// dialling it in the background.
    peer_failed,
    /// Another node connected (and proved the secret) or went away: `subject` is its address.
    peer_up,
    peer_down,
    /// This node started hosting `subject` (a group), because another node hosts it.
    hosting,
    /// The group `subject` was dropped everywhere.
    dropped,
    /// The stored groups were loaded at start: `done` of them.
    restored,
    /// Work in progress: `subject` names it (the store, or the group of a transfer), `detail` says
    /// what ("loading", "sending", "receiving"), `done` of `total` `unit`s ("groups", "bytes").
    /// The last report of a task has done == total.
    progress,
  };

  kind what = kind::warning;
  std::string subject;
  std::string detail;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  std::string unit;
};

/// Stable lower-case name of an event kind ("peer_up", "progress", ...).
const char* to_string(node_event::kind k) noexcept;

template <class Inspector>
auto inspect(Inspector& f, node_event& x) {
  return f(x.what, x.subject, x.detail, x.done, x.total, x.unit);
}

}  // namespace grove::actors
