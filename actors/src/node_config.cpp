#include "grove/actors/node_config.hpp"

#include <cctype>
#include <fstream>
#include <tuple>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include "grove/actors/caf_error.hpp"
#include "grove/actors/node.hpp"
#include "grove/actors/types.hpp"
#include "grove/crdt/escape.hpp"

namespace grove::actors {

namespace {

// What CAF parses an option's value as.
enum class value_type : std::uint8_t { text, boolean, port, integer, texts };

struct option_spec {
  node_option_info info;
  value_type type;
};

using form = node_option_info::form;

const std::vector<option_spec>& option_specs() {
  static const std::vector<option_spec> specs{
    {{"name", form::value,
      "replica id of this node (required): 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit"},
     value_type::text},
    {{"address", form::value,
      "address to listen on (default 127.0.0.1); beyond loopback it needs TLS, a secret or insecure"},
     value_type::text},
    {{"port", form::value, "port to listen on (default 0: any free port)"}, value_type::port},
    {{"peer", form::list, "HOST:PORT of nodes to connect to (a list; grove-node: --peer, repeatable)"},
     value_type::texts},
    {{"store", form::value, "ets (in memory) or dets (on disk, the default)"}, value_type::text},
    {{"data", form::value, "directory of the DETS-style store (default ./grove-data/NAME)"}, value_type::text},
    {{"durable", form::flag, "each mutation is in the store's log, synced to disk, before it is acknowledged"},
     value_type::boolean},
    {{"sync-interval", form::value, "delta broadcast period, ms (default 1000)"}, value_type::integer},
    {{"snapshot-interval", form::value, "snapshot period, ms (default 5000)"}, value_type::integer},
    {{"max-groups", form::value, "most groups this node hosts (default 1000)"}, value_type::integer},
    {{"on-demand", form::flag, "host only groups this node is asked about (default: every group of the cluster)"},
     value_type::boolean},
    {{"tombstone-lifetime", form::value, "seconds a dropped group stays dropped (default 86400)"}, value_type::integer},
    {{"secret-file", form::value, "file holding the cluster secret (at least 32 bytes); TLS from it without tls-*"},
     value_type::text},
    {{"tls-certificate", form::value, "PEM certificate of this node, signed by the tls-ca"}, value_type::text},
    {{"tls-key", form::value, "PEM private key of the certificate"}, value_type::text},
    {{"tls-passphrase-file", form::value, "file holding the passphrase of an encrypted tls-key"}, value_type::text},
    {{"tls-ca", form::value, "PEM CA certificates; peers must hold a certificate they signed"}, value_type::text},
    {{"insecure", form::flag, "allow plaintext without a secret or certificates beyond loopback"}, value_type::boolean},
    {{"metrics", form::value, "HOST:PORT to serve Prometheus metrics on (port 0: any); default off"}, value_type::text},
    {{"progress-interval", form::value, "ms between progress reports of long work (default 1000; 0: every step)"},
     value_type::integer},
  };
  return specs;
}

std::string qualified(const std::string& name) { return "grove." + name; }

error bad_option(const std::string& name, const std::string& why) {
  return error(errc::invalid_argument, qualified(name) + ": " + why);
}

// The value of option `name` if it is set, checked against its type (a value set in code with
// cfg.set can have any type; CAF checks only what it parses).
template <class T>
expected<std::optional<T>> value_of(const caf::actor_system_config& cfg, const std::string& name, const char* wanted) {
  auto* raw = caf::get_if(&caf::content(cfg), qualified(name));
  if (!raw) return std::optional<T>{};
  if (auto x = caf::get_if<T>(raw)) return std::optional<T>{T(*x)};  // a pointer, or for lists an optional
  return bad_option(name, std::string("expected ") + wanted + ", got " + quote_input(caf::to_string(*raw)));
}

// Reads option `name` into `out` (left as it is when the option is not set).
template <class T>
status read_into(const caf::actor_system_config& cfg, const std::string& name, T& out, const char* wanted) {
  auto v = value_of<T>(cfg, name, wanted);
  if (!v) return v.error();
  if (*v) out = std::move(**v);
  return {};
}

status read_integer(const caf::actor_system_config& cfg, const std::string& name, std::int64_t min, std::int64_t max,
                    std::int64_t& out) {
  if (auto ok = read_into(cfg, name, out, "an integer"); !ok) return ok;
  if (out < min || out > max)
    return bad_option(name, std::to_string(out) + " is outside " + std::to_string(min) + " to " + std::to_string(max));
  return {};
}

// A replica id that is also safe as a directory name (the default data directory is
// ./grove-data/NAME).
status check_name(const std::string& name) {
  auto ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (ok) return {};
  return bad_option("name", quote_input(name) + ": 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit");
}

status check_endpoint(const std::string& name, const std::string& text) {
  auto colon = text.rfind(':');
  auto port = colon == std::string::npos ? std::string() : text.substr(colon + 1);
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (colon == 0 || !digits || std::stoul(port) > 65535)
    return bad_option(name, quote_input(text) + " is not HOST:PORT");
  return {};
}

status read_durations(const caf::actor_system_config& cfg, node_options& o) {
  std::int64_t sync = o.sync_interval.count(), snapshot = o.snapshot_interval.count();
  std::int64_t tombstone = o.tombstone_lifetime.count(), progress = o.progress_interval.count();
  constexpr std::int64_t day_ms = 24 * 3600 * 1000;
  if (auto ok = read_integer(cfg, "sync-interval", 1, day_ms, sync); !ok) return ok;
  if (auto ok = read_integer(cfg, "snapshot-interval", 1, day_ms, snapshot); !ok) return ok;
  if (auto ok = read_integer(cfg, "tombstone-lifetime", 1, std::int64_t{10} * 365 * 24 * 3600, tombstone); !ok)
    return ok;
  if (auto ok = read_integer(cfg, "progress-interval", 0, day_ms, progress); !ok) return ok;
  o.sync_interval = std::chrono::milliseconds(sync);
  o.snapshot_interval = std::chrono::milliseconds(snapshot);
  o.tombstone_lifetime = std::chrono::seconds(tombstone);
  o.progress_interval = std::chrono::milliseconds(progress);
  return {};
}

status read_texts(const caf::actor_system_config& cfg, node_options& o) {
  std::string store = "dets";
  for (auto [name, field] : {std::pair{"name", &o.name},
                             {"address", &o.address},
                             {"data", &o.data},
                             {"secret-file", &o.secret_file},
                             {"tls-certificate", &o.tls_certificate},
                             {"tls-key", &o.tls_key},
                             {"tls-passphrase-file", &o.tls_passphrase_file},
                             {"tls-ca", &o.tls_ca},
                             {"metrics", &o.metrics},
                             {"store", &store}})
    if (auto ok = read_into(cfg, name, *field, "a string"); !ok) return ok;
  if (store != "ets" && store != "dets") return bad_option("store", quote_input(store) + " is neither ets nor dets");
  o.store = store == "ets" ? store_kind::ets : store_kind::dets;
  return {};
}

status read_switches(const caf::actor_system_config& cfg, node_options& o) {
  for (auto [name, field] : {std::pair{"durable", &o.durable}, {"on-demand", &o.on_demand}, {"insecure", &o.insecure}})
    if (auto ok = read_into(cfg, name, *field, "true or false"); !ok) return ok;
  return {};
}

// What CAF's INI parser drops without a word: values of the wrong type for a declared option
// (port="4000"), and names nothing declared (a typo). Both are errors here.
status check_config_file(const std::string& text, const caf::config_option_set& declared) {
  std::istringstream in(text);
  auto parsed = caf::actor_system_config::parse_config(in);
  if (!parsed)
    return error(errc::invalid_argument, "the config file does not parse: " + caf::to_string(parsed.error()));
  auto section = parsed->find("grove");
  if (section == parsed->end()) return {};
  auto* entries = caf::get_if<caf::settings>(&section->second);
  if (!entries) return error(errc::invalid_argument, "the config file's grove is no section");
  for (const auto& [key, value] : *entries) {
    std::string name(key.begin(), key.end());
    auto* option = declared.qualified_name_lookup("grove", name);
    if (!option)
      return error(errc::invalid_argument,
                   "the config file sets " + quote_input(qualified(name)) + ", which is no option");
    if (auto err = option->check(value))
      return bad_option(name, "the config file's value " + quote_input(caf::to_string(value)) + " is no "
                                + std::string(option->type_name().begin(), option->type_name().end()));
  }
  return {};
}

// A secret (cluster secret, key passphrase) from a file, trailing newlines dropped; never printed.
expected<std::string> read_secret(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::io_error, "cannot read the " + what + " file " + path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return error(errc::invalid_argument, "the " + what + " file " + path + " is empty");
  return secret;
}

// What listening on o.address exposes, as a warning; an error when the node would be open to
// anyone who reaches the port and grove.insecure does not accept that. (With a secret alone the
// transport is TLS from the secret-derived authority: nothing to warn about.)
expected<std::string> exposure_warning(const node_options& o) {
  if (is_loopback(o.address)) return std::string{};
  if (o.wants_tls())
    return o.secret_file.empty() ? "TLS without grove.secret-file on " + o.address + ": any holder of a certificate "
                                     + "from " + o.tls_ca + " can join (CAF checks no host name)"
                                 : std::string{};
  if (!o.secret_file.empty()) return std::string{};
  if (!o.insecure)
    return error(errc::invalid_argument,
                 "refusing to listen on " + o.address + " in plaintext without a credential: anyone who reaches the "
                   + "port could read and change every group. Use grove.secret-file (TLS from the cluster secret) "
                   + "and/or TLS certificates (grove.tls-certificate, grove.tls-key, grove.tls-ca), or accept the "
                   + "risk with grove.insecure");
  return "INSECURE: listening on " + o.address + " in plaintext without a credential (grove.insecure): anyone who "
         + "reaches the port can read and change every group";
}

bool same_security(const node_options& a, const node_options& b) {
  return std::tie(a.address, a.secret_file, a.tls_certificate, a.tls_key, a.tls_passphrase_file, a.tls_ca, a.insecure)
         == std::tie(b.address, b.secret_file, b.tls_certificate, b.tls_key, b.tls_passphrase_file, b.tls_ca,
                     b.insecure);
}

bool has_openssl_options(const caf::actor_system_config& cfg) {
  return !cfg.openssl_certificate.empty() || !cfg.openssl_key.empty() || !cfg.openssl_cafile.empty()
         || !cfg.openssl_capath.empty() || !cfg.openssl_passphrase.empty();
}

}  // namespace

bool operator==(const node_options& a, const node_options& b) {
  auto fields = [](const node_options& o) {
    return std::tie(o.name, o.address, o.port, o.peers, o.store, o.data, o.durable, o.sync_interval,
                    o.snapshot_interval, o.max_groups, o.on_demand, o.tombstone_lifetime, o.secret_file,
                    o.tls_certificate, o.tls_key, o.tls_passphrase_file, o.tls_ca, o.insecure, o.metrics,
                    o.progress_interval);
  };
  return fields(a) == fields(b);
}

const std::vector<node_option_info>& node_option_infos() {
  static const std::vector<node_option_info> infos = [] {
    std::vector<node_option_info> out;
    for (const auto& s : option_specs()) out.push_back(s.info);
    return out;
  }();
  return infos;
}

expected<node_options> read_node_options(const caf::actor_system_config& cfg) {
  node_options o;
  if (auto ok = read_texts(cfg, o); !ok) return ok.error();
  if (auto ok = check_name(o.name); !ok) return ok.error();
  if (o.data.empty()) o.data = "./grove-data/" + o.name;
  if (auto ok = read_switches(cfg, o); !ok) return ok.error();
  if (auto ok = read_durations(cfg, o); !ok) return ok.error();
  std::int64_t port = o.port, max_groups = static_cast<std::int64_t>(o.max_groups);
  if (auto ok = read_integer(cfg, "port", 0, 65535, port); !ok) return ok.error();
  if (auto ok = read_integer(cfg, "max-groups", 1, std::int64_t{1} << 40, max_groups); !ok) return ok.error();
  o.port = static_cast<std::uint16_t>(port);
  o.max_groups = static_cast<std::uint64_t>(max_groups);
  if (auto ok = read_into(cfg, "peer", o.peers, "a list of HOST:PORT strings"); !ok) return ok.error();
  for (const auto& p : o.peers)
    if (auto ok = check_endpoint("peer", p); !ok) return ok.error();
  if (!o.metrics.empty())
    if (auto ok = check_endpoint("metrics", o.metrics); !ok) return ok.error();
  if (!o.tls_passphrase_file.empty() && o.tls_key.empty())
    return bad_option("tls-passphrase-file", "needs grove.tls-key");
  return o;
}

namespace detail {

void declare_node(caf::actor_system_config& cfg, caf::config_option_set& options) {
  cfg.load<caf::io::middleman>();
  register_grove_types(cfg);
  configure_node(cfg);
  caf::config_option_adder group{options, "grove"};
  for (const auto& s : option_specs()) {
    const auto& name = s.info.name;
    const auto& text = s.info.description;
    switch (s.type) {
      case value_type::text: group.add<std::string>(name, text); break;
      case value_type::boolean: group.add<bool>(name, text); break;
      case value_type::port: group.add<std::uint16_t>(name, text); break;
      case value_type::integer: group.add<std::int64_t>(name, text); break;
      case value_type::texts: group.add<std::vector<std::string>>(name, text); break;
    }
  }
}

}  // namespace detail

node_preparation::~node_preparation() = default;

status node_preparation::prepare_node(caf::actor_system_config& cfg, const caf::config_option_set& declared,
                                      const std::optional<std::string>& raw_ini) {
  if (raw_ini)
    if (auto ok = check_config_file(*raw_ini, declared); !ok) return ok;
  auto opts = read_node_options(cfg);
  if (!opts) return opts.error();
  if (prepared_) {
    if (!same_security(*opts, options_))
      return error(errc::invalid_argument,
                   "the transport was secured already: grove.address, grove.secret-file, "
                   "grove.tls-* and grove.insecure cannot change after prepare()");
    options_ = std::move(*opts);
    return {};
  }
  if (has_openssl_options(cfg))
    return error(errc::invalid_argument,
                 "use grove.tls-certificate, grove.tls-key, grove.tls-ca and "
                 "grove.tls-passphrase-file instead of CAF's openssl.* options");
  auto warning = exposure_warning(*opts);
  if (!warning) return warning.error();
  security_options security;
  security.insecure = opts->insecure;
  security.tls = tls_options{opts->tls_certificate, opts->tls_key, "", opts->tls_ca};
  if (!opts->tls_passphrase_file.empty()) {
    auto passphrase = read_secret(opts->tls_passphrase_file, "TLS passphrase");
    if (!passphrase) return passphrase.error();
    security.tls.passphrase = std::move(*passphrase);
  }
  if (!opts->secret_file.empty()) {
    auto secret = read_secret(opts->secret_file, "secret");
    if (!secret) return secret.error();
    security.secret = std::move(*secret);
  }
  auto transport = secure_transport(cfg, security);
  if (!transport) return transport.error();
  prepared_ = true;
  options_ = std::move(*opts);
  transport_ = std::move(*transport);
  warnings_.clear();
  if (!warning->empty()) warnings_.push_back(std::move(*warning));
  secret_ = std::move(security.secret);
  return {};
}

std::optional<std::string> node_preparation::read_config_file(const caf::actor_system_config& cfg) {
  std::ifstream in(cfg.config_file_path, std::ios::binary);
  if (cfg.config_file_path.empty() || !in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

caf::error node_preparation::as_parse_error(const status& prepared) {
  if (prepared) return caf::none;
  return to_caf_error(prepared.error());
}

}  // namespace grove::actors
