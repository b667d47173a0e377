#include "handshake.hpp"

#include "../cluster_secret.hpp"

namespace grove::actors::membership {

namespace {

constexpr std::size_t nonce_bytes = 32;

}  // namespace

// What each side's MAC covers: its role, both nodes (as the transport names them, never as a
// payload claims) and both nonces, each length-prefixed. A MAC made for one direction or one pair
// of nodes is therefore worthless in any other, so a node without the secret cannot reflect the
// initiator's own MAC back to it, nor relay one between two other nodes.
std::string handshake::mac(role r, const node_key& initiator, const node_key& responder, const std::string& nonce_a,
                           const std::string& nonce_b) const {
  std::string transcript = r == role::initiator ? "grove-membership-initiator" : "grove-membership-responder";
  for (const auto* field : {&initiator, &responder, &nonce_a, &nonce_b}) {
    auto size = static_cast<std::uint32_t>(field->size());
    for (int shift = 24; shift >= 0; shift -= 8) transcript += static_cast<char>((size >> shift) & 0xff);
    transcript += *field;
  }
  return detail::hmac_sha256(secret_, transcript);
}

std::optional<auth_hello> handshake::start(const node_key& node) {
  if (outgoing_.count(node) > 0) return std::nullopt;
  auto nonce = random_(nonce_bytes);
  outgoing_[node] = nonce;
  return auth_hello{nonce};
}

std::optional<auth_challenge> handshake::challenge(const node_key& from, const auth_hello& m) {
  if (secret_.empty() || m.nonce_a.size() != nonce_bytes) return std::nullopt;
  if (incoming_.size() >= max_open_handshakes && incoming_.count(from) == 0) incoming_.erase(incoming_.begin());
  auto nonce_b = random_(nonce_bytes);
  incoming_[from] = {m.nonce_a, nonce_b};
  return auth_challenge{m.nonce_a, nonce_b, mac(role::responder, from, self_, m.nonce_a, nonce_b)};
}

handshake::verdict handshake::on_challenge(const node_key& from, const auth_challenge& m) {
  verdict v;
  auto it = outgoing_.find(from);
  if (it == outgoing_.end() || it->second != m.nonce_a) return v;  // none running, or an older one
  outgoing_.erase(it);
  if (!detail::same_mac(m.mac_b, mac(role::responder, self_, from, m.nonce_a, m.nonce_b))) {
    v.refusal = "it does not know the cluster secret";
    return v;
  }
  v.answer = auth_proof{m.nonce_b, mac(role::initiator, self_, from, m.nonce_a, m.nonce_b)};
  v.proved = true;
  trusted_.insert(from);
  return v;
}

handshake::verdict handshake::on_proof(const node_key& from, const auth_proof& m) {
  verdict v;
  auto it = incoming_.find(from);
  if (it == incoming_.end() || it->second.second != m.nonce_b) return v;  // none running, or an older one
  auto nonce_a = it->second.first;
  incoming_.erase(it);
  if (!detail::same_mac(m.mac_a, mac(role::initiator, from, self_, nonce_a, m.nonce_b))) {
    v.refusal = "it does not know the cluster secret";
    return v;
  }
  v.proved = true;
  trusted_.insert(from);  // its hello, sent right after the proof, is accepted now
  return v;
}

void handshake::forget(const node_key& node) {
  trusted_.erase(node);
  outgoing_.erase(node);
  incoming_.erase(node);
}

}  // namespace grove::actors::membership
