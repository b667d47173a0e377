// The cluster-secret handshake between two membership actors (protocol.hpp: auth_hello,
// auth_challenge, auth_proof): both sides prove they know the secret without sending it. Part of
// membership's protocol core. CAF-free.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "grove/actors/protocol.hpp"

namespace grove::actors::membership {

/// A node as the transport names it (CAF's node id, rendered): the one name of a node that no
/// payload can fake.
using node_key = std::string;

/// Random bytes for nonces (OpenSSL's CSPRNG in a node, the seeded generator in the simulator).
using random_bytes = std::function<std::string(std::size_t)>;

class handshake {
public:
  handshake(std::string secret, node_key self, random_bytes random)
      : secret_(std::move(secret)), self_(std::move(self)), random_(std::move(random)) {}

  /// Whether there is a secret to prove.
  bool required() const { return !secret_.empty(); }
  /// Whether `node` proved the secret (always true without one).
  bool trusts(const node_key& node) const { return secret_.empty() || trusted_.count(node) > 0; }

  /// Starts a handshake with `node` as initiator: the nonce to send (auth_hello), or nothing when
  /// one is running.
  std::optional<auth_hello> start(const node_key& node);

  /// As responder: the challenge that answers an initiator's hello (nothing for a malformed one).
  std::optional<auth_challenge> challenge(const node_key& from, const auth_hello& m);

  struct verdict {
    bool proved = false;               // the peer proved the secret: trusted from now on
    std::optional<auth_proof> answer;  // the initiator's proof to send
    std::string refusal;               // why the peer is refused (a wrong MAC), for the log
  };
  /// As initiator: checks the responder's MAC before proving (a node that cannot show the secret
  /// gets nothing made with it). A message of an older handshake is ignored (empty verdict).
  verdict on_challenge(const node_key& from, const auth_challenge& m);
  /// As responder: checks the initiator's proof.
  verdict on_proof(const node_key& from, const auth_proof& m);

  /// The node went away: its handshakes and its trust go.
  void forget(const node_key& node);

private:
  enum class role { initiator, responder };
  std::string mac(role r, const node_key& initiator, const node_key& responder, const std::string& nonce_a,
                  const std::string& nonce_b) const;

  std::string secret_;
  node_key self_;
  random_bytes random_;
  std::set<node_key> trusted_;
  std::map<node_key, std::string> outgoing_;                          // handshakes we started: our nonce
  std::map<node_key, std::pair<std::string, std::string>> incoming_;  // theirs: both nonces
};

}  // namespace grove::actors::membership
