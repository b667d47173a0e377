// The configuration half of a Grove node (node.hpp): the grove.* options of an application's actor
// system, and the config mixin that declares them and secures the transport before the actor
// system is built.
//
// An application derives its configuration from node_config (in place of caf::actor_system_config,
// or around its own base: node_config<my_base>). That declares the options under "grove." with
// CAF's opt_group, so they show in --help, are read from the [grove] section of
// caf-application.ini (or --config-file) and from --grove.NAME=VALUE arguments; it also loads the
// io middleman, registers Grove's types and applies configure_node. Its parse() does what CAF's
// does, then checks the grove.* options and secures the transport (secure_transport, tls.hpp): the
// cluster secret and TLS files must be applied to the configuration before the actor system exists,
// which is why this is a step of its own, before node::start(sys). CAF_MAIN calls parse() too.
//
//   struct config : grove::actors::node_config<> {};
//   config cfg;
//   if (auto err = cfg.parse(argc, argv)) ...  // grove.* errors come back here, with their reason
//   caf::actor_system sys{cfg};
//   auto node = grove::actors::node::start(sys);
//
// docs/embedding.md has the table of options; grove-node's flags are the same options
// (--port 4000 is --grove.port=4000).
#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_option_set.hpp>
#include <caf/error.hpp>

#include "grove/actors/tls.hpp"
#include "grove/crdt/error.hpp"

namespace grove::actors {

/// Where a node keeps its groups: in memory (lost on restart) or in a file (LMDB).
enum class store_kind : std::uint8_t { ets, dets };

/// A node's settings: the grove.* options (the option's name follows each field).
struct node_options {
  std::string name;                                    // name: replica id (required)
  std::string address = "127.0.0.1";                   // address: to listen on
  std::uint16_t port = 0;                              // port: 0 picks a free one
  std::vector<std::string> peers;                      // peer: HOST:PORT of seeds (a list)
  store_kind store = store_kind::dets;                 // store: ets or dets
  std::string data;                                    // data: store directory (default ./grove-data/NAME)
  bool durable = false;                                // durable: synced saves, durability log
  std::chrono::milliseconds sync_interval{1000};       // sync-interval (ms)
  std::chrono::milliseconds snapshot_interval{5000};   // snapshot-interval (ms)
  std::uint64_t max_groups = 1000;                     // max-groups
  bool on_demand = false;                              // on-demand: not every group of the cluster
  std::chrono::seconds tombstone_lifetime{24 * 3600};  // tombstone-lifetime (s)
  std::string secret_file;                             // secret-file
  std::string tls_certificate;                         // tls-certificate
  std::string tls_key;                                 // tls-key
  std::string tls_passphrase_file;                     // tls-passphrase-file
  std::string tls_ca;                                  // tls-ca
  bool insecure = false;                               // insecure: plaintext beyond loopback
  std::string metrics;                                 // metrics: HOST:PORT of the endpoint; empty: off
  std::chrono::milliseconds progress_interval{1000};   // progress-interval (ms)

  bool wants_tls() const { return !tls_certificate.empty() || !tls_key.empty() || !tls_ca.empty(); }
  friend bool operator==(const node_options& a, const node_options& b);
  friend bool operator!=(const node_options& a, const node_options& b) { return !(a == b); }
};

/// One grove.* option, as node_config declares it and grove-node takes it as --NAME.
struct node_option_info {
  enum class form : std::uint8_t { flag, value, list };
  std::string name;  // without "grove."
  form takes = form::value;
  std::string description;
};

/// Every grove.* option, in the order --help shows them.
const std::vector<node_option_info>& node_option_infos();

/// Reads the grove.* options of `cfg` and checks them: grove.name 1 to 64 of [A-Za-z0-9_.-]
/// starting with a letter or digit (it names the default data directory), store ets or dets,
/// positive intervals and max-groups, a tombstone lifetime from 1 s to 10 years, HOST:PORT for
/// each peer and for metrics. Errors: invalid_argument naming the option and what it needs.
expected<node_options> read_node_options(const caf::actor_system_config& cfg);

namespace detail {

/// node_config's constructor: loads the io middleman, registers Grove's types and error
/// category, applies configure_node and declares the grove.* options in `options`.
void declare_node(caf::actor_system_config& cfg, caf::config_option_set& options);

}  // namespace detail

/// What node_config's parse() prepared: the options, the transport, and the secrets read from
/// their files (kept in memory for membership, never printed). node::start(sys) finds it in the
/// actor system's configuration.
class node_preparation {
public:
  virtual ~node_preparation();

  /// Whether the grove.* options were checked and the transport secured (parse or prepare).
  bool prepared() const { return prepared_; }
  /// The options as prepared.
  const node_options& options() const { return options_; }
  /// How the transport was secured.
  const transport_info& transport() const { return transport_; }
  /// Warnings about the exposure of the node (plaintext beyond loopback with grove.insecure,
  /// certificates without a secret beyond loopback); node::start reports them as events.
  const std::vector<std::string>& warnings() const { return warnings_; }

protected:
  /// Reads and checks the grove.* options of `cfg` (and the [grove] section of `raw_ini`, whose
  /// bad values CAF 0.17 drops without a word), then secures the transport: reads the secret and
  /// passphrase files, refuses CAF's own openssl.* options (they bypass the checks) and plaintext
  /// beyond loopback without grove.insecure, and calls secure_transport. Running it again with
  /// the same security options is a no-op; changing them once the transport is secured is an error.
  status prepare_node(caf::actor_system_config& cfg, const caf::config_option_set& declared,
                      const std::optional<std::string>& raw_ini);
  /// The text of the config file CAF read (config_file_path), if it has one.
  static std::optional<std::string> read_config_file(const caf::actor_system_config& cfg);
  /// A failed preparation as the caf::error parse() returns (category "grove").
  static caf::error as_parse_error(const status& prepared);

private:
  friend class node;  // takes the secret for membership's handshake

  bool prepared_ = false;
  node_options options_;
  transport_info transport_;
  std::vector<std::string> warnings_;
  std::string secret_;  // from grove.secret-file; never printed
};

/// The configuration mixin of a Grove node: derive the application's configuration from it (see
/// the top of this file). Base must be caf::actor_system_config or derive from it.
template <class Base = caf::actor_system_config>
class node_config : public Base, public node_preparation {
public:
  using string_list = typename Base::string_list;

  node_config() { detail::declare_node(*this, this->custom_options_); }

  /// CAF's parse, then prepare() (not when only the help text was asked for).
  caf::error parse(int argc, char** argv, const char* ini_file = nullptr) {
    return prepared_after(Base::parse(argc, argv, ini_file), std::nullopt);
  }
  caf::error parse(string_list args, const char* ini_file = nullptr) {
    return prepared_after(Base::parse(std::move(args), ini_file), std::nullopt);
  }
  caf::error parse(int argc, char** argv, std::istream& ini) {
    auto text = slurp(ini);
    std::istringstream copy(text);
    return prepared_after(Base::parse(argc, argv, copy), text);
  }
  caf::error parse(string_list args, std::istream& ini) {
    auto text = slurp(ini);
    std::istringstream copy(text);
    return prepared_after(Base::parse(std::move(args), copy), text);
  }

  /// Checks the grove.* options and secures the transport (parse does it): call it after setting
  /// grove.* options in code, before the actor system is built. Errors: invalid_argument naming
  /// the option or the credential (a secret shorter than 32 bytes, TLS files that do not check
  /// out, plaintext beyond loopback without grove.insecure), io_error for a file that cannot be read.
  status prepare() { return prepare_node(*this, this->custom_options_, std::nullopt); }

private:
  static std::string slurp(std::istream& in) { return {std::istreambuf_iterator<char>(in), {}}; }

  caf::error prepared_after(caf::error parsed, std::optional<std::string> raw_ini) {
    if (parsed || this->cli_helptext_printed) return parsed;
    if (!raw_ini) raw_ini = read_config_file(*this);
    return as_parse_error(prepare_node(*this, this->custom_options_, raw_ini));
  }
};

}  // namespace grove::actors
