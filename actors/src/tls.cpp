// TLS configuration checks (OpenSSL's libssl) and CAF's openssl module. See tls.hpp for why.
#include "grove/actors/tls.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/settings.hpp>

#include "grove/actors/caf_error.hpp"
#include "refusal_log.hpp"
#include "secret_tls.hpp"
#include "transport.hpp"

namespace grove::actors {

namespace {

// The oldest queued OpenSSL error as text; clears the queue so the next check starts clean.
std::string openssl_reason() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

status readable(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::io_error, "cannot read the TLS " + what + " " + path + ": " + std::strerror(errno));
  return {};
}

// Hands OpenSSL the passphrase of an encrypted key.
int passphrase_callback(char* buffer, int size, int /*rwflag*/, void* user_data) {
  const auto& passphrase = *static_cast<const std::string*>(user_data);
  if (passphrase.size() > static_cast<std::size_t>(size)) return 0;
  std::memcpy(buffer, passphrase.data(), passphrase.size());
  return static_cast<int>(passphrase.size());
}

using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)>;

// Whether the context's certificate chains to its trusted CAs for `purpose` (a node's certificate
// serves both ends of a connection: it must be valid for TLS servers and clients).
status verify_own_certificate(SSL_CTX* ctx, int purpose, const tls_options& opts) {
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  store_ctx_ptr store_ctx{X509_STORE_CTX_new(), &X509_STORE_CTX_free};
  if (!store_ctx
      || X509_STORE_CTX_init(store_ctx.get(), SSL_CTX_get_cert_store(ctx), SSL_CTX_get0_certificate(ctx), chain) != 1)
    return error(errc::invalid_argument,
                 "cannot check the TLS certificate " + opts.certificate + ": " + openssl_reason());
  X509_STORE_CTX_set_purpose(store_ctx.get(), purpose);
  if (X509_verify_cert(store_ctx.get()) == 1) return {};
  auto reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store_ctx.get()));
  ERR_clear_error();
  auto use = purpose == X509_PURPOSE_SSL_SERVER ? "server" : "client";
  return error(errc::invalid_argument, "the TLS certificate " + opts.certificate
                                         + " does not verify against the CA file " + opts.ca_file + " for TLS " + use
                                         + " use: " + reason);
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.string();
}

// Where a configuration records what secured it (read back through the actor system's config).
constexpr const char* transport_key = "grove.transport";
constexpr const char* insecure_key = "grove.insecure";

// Handshakes refused so far (tls_handshake_refusals), and their log lines.
std::atomic<std::uint64_t> refused_incoming{0};
std::atomic<std::uint64_t> refused_outgoing{0};

detail::refusal_log& refusal_lines() {
  static detail::refusal_log log;
  return log;
}

}  // namespace

const char* to_string(transport_mode mode) noexcept {
  switch (mode) {
    case transport_mode::plaintext: return "plaintext";
    case transport_mode::secret: return "secret";
    case transport_mode::certificates: return "certificates";
    case transport_mode::certificates_and_secret: return "certificates_and_secret";
  }
  return "plaintext";
}

status validate_tls(const tls_options& opts) {
  std::string missing;
  if (opts.certificate.empty()) missing += " certificate";
  if (opts.key.empty()) missing += " key";
  if (opts.ca_file.empty()) missing += " CA file";
  if (!missing.empty())
    return error(errc::invalid_argument, "TLS needs a certificate, its key and a CA file; missing:" + missing
                                           + " (without them CAF would fall back to anonymous TLS)");
  for (auto [path, what] :
       {std::pair{&opts.certificate, "certificate"}, {&opts.key, "key"}, {&opts.ca_file, "CA file"}})
    if (auto ok = readable(*path, what); !ok) return ok;
  ERR_clear_error();
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx) return error(errc::invalid_argument, "cannot create an OpenSSL context: " + openssl_reason());
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), const_cast<std::string*>(&opts.passphrase));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), opts.certificate.c_str()) != 1)
    return error(errc::invalid_argument,
                 "the TLS certificate " + opts.certificate + " does not load: " + openssl_reason());
  // OpenSSL checks here, too, that the key belongs to the certificate loaded above.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), opts.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
      return error(errc::invalid_argument, "the TLS key " + opts.key + " does not belong to the certificate "
                                             + opts.certificate + ": " + openssl_reason());
    return error(errc::invalid_argument, "the TLS key " + opts.key + " does not open ("
                                           + (opts.passphrase.empty() ? "no passphrase given" : "wrong passphrase?")
                                           + "): " + openssl_reason());
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), opts.ca_file.c_str(), nullptr) != 1)
    return error(errc::invalid_argument, "the CA file " + opts.ca_file + " does not load: " + openssl_reason());
  for (int purpose : {X509_PURPOSE_SSL_SERVER, X509_PURPOSE_SSL_CLIENT})
    if (auto ok = verify_own_certificate(ctx.get(), purpose, opts); !ok) return ok;
  return {};
}

status enable_tls(caf::actor_system_config& cfg, const tls_options& opts) {
  if (auto ok = validate_tls(opts); !ok) return ok;
  cfg.load<caf::openssl::manager>();
  // Absolute paths: CAF opens the files at each connection, whatever the working directory is then.
  cfg.set("openssl.certificate", absolute_path(opts.certificate));
  cfg.set("openssl.key", absolute_path(opts.key));
  cfg.set("openssl.cafile", absolute_path(opts.ca_file));
  cfg.set("openssl.passphrase", opts.passphrase);
  cfg.set("middleman.enable-automatic-connections", false);
  caf::put(cfg.content, transport_key, to_string(transport_mode::certificates));
  return {};
}

bool uses_tls(const caf::actor_system& sys) { return sys.has_openssl_manager(); }

expected<transport_info> secure_transport(caf::actor_system_config& cfg, const security_options& opts) {
  const auto& secret = opts.secret;
  if (!secret.empty() && secret.size() < min_secret_size)
    return error(errc::invalid_argument, "the cluster secret has " + std::to_string(secret.size()) + " bytes; at least "
                                           + std::to_string(min_secret_size)
                                           + " are needed, since anyone who reaches a port can test guesses "
                                           + "of it offline (make one with: head -c 32 /dev/urandom | base64)");
  auto certificates = !opts.tls.certificate.empty() || !opts.tls.key.empty() || !opts.tls.ca_file.empty();
  transport_info info;
  if (certificates) {
    // The explicit CA alone gates the transport: adding the derived one to the CA file would let
    // either credential in. The secret then counts through membership's handshake (the AND).
    if (auto ok = enable_tls(cfg, opts.tls); !ok) return ok.error();
    info.mode = secret.empty() ? transport_mode::certificates : transport_mode::certificates_and_secret;
  } else if (!secret.empty()) {
    auto files = detail::derive_tls_files(secret);
    if (!files) return files.error();
    if (auto ok = enable_tls(cfg, tls_options{files->certificate, files->key, "", files->ca_file}); !ok)
      return ok.error();
    info.mode = transport_mode::secret;
    info.ca_fingerprint = files->ca_fingerprint;
  }
  caf::put(cfg.content, transport_key, to_string(info.mode));
  caf::put(cfg.content, insecure_key, opts.insecure && info.mode == transport_mode::plaintext);
  return info;
}

transport_mode transport_mode_of(const caf::actor_system& sys) {
  auto name = caf::get_or(sys.config(), transport_key, "");
  for (auto mode : {transport_mode::secret, transport_mode::certificates, transport_mode::certificates_and_secret})
    if (name == to_string(mode)) return mode;
  // CAF's openssl module configured by hand, with a certificate: the transport checks it.
  if (uses_tls(sys) && !sys.config().openssl_certificate.empty()) return transport_mode::certificates;
  return transport_mode::plaintext;
}

bool is_loopback(const std::string& address) {
  if (address == "localhost") return true;
  in_addr v4;
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

handshake_refusals tls_handshake_refusals() noexcept { return {refused_incoming.load(), refused_outgoing.load()}; }

namespace detail {

status check_exposure(const caf::actor_system& sys, const std::string& action, const std::string& address) {
  if (transport_mode_of(sys) != transport_mode::plaintext || is_loopback(address)
      || caf::get_or(sys.config(), insecure_key, false))
    return {};
  return error(errc::permission_denied,
               "refusing to " + action + " " + address + " in plaintext: anyone who reaches it could read and change "
                 + "every replica of this node. Secure the transport (secure_transport with a cluster secret or "
                 + "certificates; grove-node --secret-file or --tls-*), or accept the risk (security_options::insecure;"
                 + " grove-node --insecure)");
}

grove::error dial_failure(caf::actor_system& sys, const std::string& address, const caf::error& e) {
  if (e != caf::sec::disconnect_during_handshake)
    return error(errc::unavailable, "cannot reach " + address + ": " + sys.render(e));
  ++refused_outgoing;
  auto usually = transport_mode_of(sys) == transport_mode::plaintext
                   ? "it usually means that the node there requires TLS (a cluster secret or certificates) and this "
                     "node has no credential; between two plaintext nodes, that both dialled each other at once (CAF "
                     "keeps one of the two connections)"
                   : "it usually means a wrong or missing credential on one side: another cluster secret, a "
                     "certificate the other side's CA did not sign, or a node without TLS";
  auto handshake = uses_tls(sys) ? "the TLS handshake with " : "the handshake with ";
  auto refused =
    error(errc::permission_denied, handshake + address + " was refused (" + sys.render(e) + "): " + usually);
  refusal_lines().write("dial " + caf::to_string(sys.node()) + " " + address,
                        "[grove] tls: connecting to " + address + " failed: " + refused.message());
  return refused;
}

}  // namespace detail

// Interpositions for CAF 0.17's openssl module and its plaintext doors.
//
// 1. The error queue. CAF reads SSL_get_error() after SSL_read/SSL_write/SSL_accept/SSL_connect
// without clearing the thread's OpenSSL error queue first, and leaves a failed handshake's errors
// in it. All sessions of a node run on its one multiplexer thread, so one refused peer (or a port
// scanner) made the next "would block" of every established TLS connection, or of a handshake in
// progress, look like a fatal error, and CAF closed them all. OpenSSL requires an empty queue
// before each I/O call.
//
// 2. Refusals. CAF 0.17 reports no failed handshake on the accepting side (Debian builds it
// without logging) and has no callback for it; SSL_accept and SSL_connect are where libcaf_openssl
// runs the handshake (session::try_accept/try_connect and session::do_some), so a failure there is
// counted and logged with the peer's address and OpenSSL's reason.
//
// These definitions interpose libssl's functions for the whole program (a symbol of the executable
// wins over libssl's), but change only the calls made from CAF's openssl module (libcaf_openssl's
// code, found by the caller's return address). Every other caller, an embedding program's own TLS
// included, reaches libssl's function with its error queue untouched; its only cost is one range
// check. tls_test checks both: that established CAF connections survive refused handshakes, and that
// a program's own SSL_read keeps the errors it had queued.
//
// 3. Plaintext doors. CAF's transport is per actor system: a plaintext port or connection opened
// with the io middleman delivers to every actor of the system, bypassing the TLS of Grove's own
// ports. middleman::publish, open, connect and remote_actor are interposed the same way (their
// definitions below win over libcaf_io's) and refuse in a system whose transport secure_transport or
// enable_tls secured; other systems reach CAF's functions unchanged.
//
// 4. Socket numbers. CAF 0.17 names a connection by its socket's number, and it forgets a closed
// connection (its route to the other node) only after the messages already read from it were
// delivered. A connection opened in between often gets the same number (the kernel hands out the
// lowest free one), and the late clean-up then erases the new connection's route: its messages
// arrive without a sender and nothing answers them, so two nodes never finish their introduction
// (32 or more nodes started at once hit this: docs/benchmarks.md, "Clusters"). The sockets CAF
// accepts and opens (its calls of accept and socket, found by the caller's return address) are
// moved to numbers in the upper half of the process's limit, taken in turn, so a number comes round
// again only after as many sockets as that half holds (32,768 once the limit is 65,536). The soft
// limit is raised to its hard maximum (at most 65,536) for this, the first time.
namespace {

struct code_range {
  std::uintptr_t begin = 0, end = 0;
  bool contains(const void* address) const {
    auto a = reinterpret_cast<std::uintptr_t>(address);
    return a >= begin && a < end;
  }
};

// The executable segments of the loaded library whose file name contains `name`.
code_range library_code(const char* name) {
  struct search {
    const char* name;
    code_range found;
  } s{name, {}};
  dl_iterate_phdr(
    [](dl_phdr_info* info, std::size_t, void* out) {
      auto& s = *static_cast<search*>(out);
      if (!info->dlpi_name || !std::strstr(info->dlpi_name, s.name)) return 0;
      for (int i = 0; i < info->dlpi_phnum; ++i) {
        const auto& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
        auto begin = info->dlpi_addr + ph.p_vaddr;
        if (s.found.begin == 0 || begin < s.found.begin) s.found.begin = begin;
        s.found.end = std::max<std::uintptr_t>(s.found.end, begin + ph.p_memsz);
      }
      return 1;
    },
    &s);
  return s.found;
}

// CAF's libraries, once (they are linked in, so loaded before any call).
const code_range& caf_openssl_code() {
  static const code_range range = library_code("libcaf_openssl");
  return range;
}
const code_range& caf_io_code() {
  static const code_range range = library_code("libcaf_io");
  return range;
}

// The definition of `name` that this program's own one hides (libssl's, libcaf_io's).
template <class Function>
Function next_definition(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

// The two ends of a session's socket: the peer as "IP:PORT" and its IP alone ("?" when unknown),
// and this end's port.
struct session_ends {
  std::string peer = "?", peer_ip = "?";
  std::uint16_t local_port = 0;
};

std::pair<std::string, std::uint16_t> address_of(const sockaddr_storage& addr) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
    return {ip, ntohs(v4->sin_port)};
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
  return {std::string("[") + ip + "]", ntohs(v6->sin6_port)};
}

session_ends read_ends(SSL* ssl) {
  session_ends out;
  sockaddr_storage addr{};
  socklen_t size = sizeof addr;
  int fd = SSL_get_fd(ssl);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0) out.local_port = address_of(addr).second;
  size = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) return out;
  auto [ip, port] = address_of(addr);
  out.peer = ip + ":" + std::to_string(port);
  out.peer_ip = ip;
  return out;
}

// The ends of a session, read at its first handshake step and kept with it (once the peer has
// given up, getpeername no longer names it).
const session_ends& ends_of(SSL* ssl) {
  static const int index = SSL_get_ex_new_index(
    0, nullptr, nullptr, nullptr,
    [](void*, void* ends, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<session_ends*>(ends); });
  if (auto* known = index >= 0 ? static_cast<session_ends*>(SSL_get_ex_data(ssl, index)) : nullptr) return *known;
  auto ends = std::make_unique<session_ends>(read_ends(ssl));
  if (index < 0 || SSL_set_ex_data(ssl, index, ends.get()) != 1) {
    thread_local session_ends unkept;  // OpenSSL could not keep it: read afresh next time
    return unkept = *ends;
  }
  return *ends.release();
}

// Why a handshake step failed, from the error queue (left in place: CAF reads it next).
std::string handshake_failure(SSL* ssl, int error_kind) {
  if (error_kind != SSL_ERROR_SSL) return "the connection closed during the TLS handshake (a peer without TLS?)";
  const char* reason = ERR_reason_error_string(ERR_peek_error());
  std::string text = reason ? reason : "TLS error";
  auto verified = SSL_get_verify_result(ssl);
  if (verified != X509_V_OK) text += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
  return text;
}

enum class handshake_side { accepting, connecting };

// A handshake step of CAF's: on a clean error queue, and a failure counted and logged.
int caf_handshake_step(int (*step)(SSL*), SSL* ssl, handshake_side side) {
  const auto& ends = ends_of(ssl);
  ERR_clear_error();
  int rc = step(ssl);
  if (rc == 1) return rc;
  int kind = SSL_get_error(ssl, rc);
  if (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE) return rc;
  // A connection that closed before it said anything is no refused credential: membership probes
  // whether an address answers before it dials it (a black hole must not hold up the middleman),
  // and a port scan looks the same.
  if (kind != SSL_ERROR_SSL && SSL_in_before(ssl)) return rc;
  auto reason = handshake_failure(ssl, kind);
  if (side == handshake_side::accepting) {
    // One line per peer address, node port and reason: a peer that retries every second is one line.
    ++refused_incoming;
    refusal_lines().write("from " + ends.peer_ip + " to " + std::to_string(ends.local_port) + ": " + reason,
                          "[grove] tls: refused a connection from " + ends.peer + ": " + reason);
  } else {
    refusal_lines().write("tls to " + ends.peer,
                          "[grove] tls: the TLS handshake with " + ends.peer + " failed: " + reason);
  }
  return rc;
}

bool called_by_caf_openssl(const void* return_address) { return caf_openssl_code().contains(return_address); }

bool called_by_caf_transport(const void* return_address) {
  return caf_io_code().contains(return_address) || caf_openssl_code().contains(return_address);
}

// A socket CAF opened or accepted, moved to the next free number of the upper half of the limit
// (see 4. above); the socket itself when there is no room up there.
int far_socket_number(int fd) {
  static std::mutex mutex;
  static int low = 0, high = 0, next = 0;
  std::lock_guard<std::mutex> guard(mutex);
  if (high == 0) {  // once: the numbers above half the limit, raised to at most 65,536 first
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      auto wanted = std::min<rlim_t>(limit.rlim_max, 65536);
      if (limit.rlim_cur < wanted) {
        limit.rlim_cur = wanted;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
      }
    }
    high = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
    low = next = high / 2;
  }
  if (next < low || next >= high) next = low;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, next);
  if (moved < 0 || moved >= high) {
    if (moved >= 0) ::close(moved);
    next = low;
    return fd;
  }
  ::close(fd);
  next = moved + 1;
  return moved;
}

// Whether grove secured `sys`'s transport, so that CAF's plaintext doors to it stay shut.
bool plaintext_doors_closed(caf::actor_system& sys) {
  auto secured_as = caf::get_or(sys.config(), transport_key, "");
  return !secured_as.empty() && secured_as != to_string(transport_mode::plaintext);
}

caf::error plaintext_door_refused(const std::string& door) {
  return to_caf_error(error(errc::permission_denied,
                            "refused " + door + " in plaintext on an actor system whose transport is secured with TLS: "
                              + "it would let anyone who reaches it message every actor of the system, Grove's "
                              + "replicas included. Use caf::openssl::publish or caf::openssl::remote_actor, or a "
                              + "second actor system"));
}

caf::error missing_definition(const char* name) {
  return to_caf_error(error(errc::unavailable, std::string("cannot find CAF's ") + name));
}

}  // namespace

}  // namespace grove::actors

extern "C" {

int SSL_read(SSL* ssl, void* buffer, int size) {
  static const auto real = grove::actors::next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  if (grove::actors::called_by_caf_openssl(__builtin_return_address(0))) ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_write(SSL* ssl, const void* buffer, int size) {
  static const auto real = grove::actors::next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  if (grove::actors::called_by_caf_openssl(__builtin_return_address(0))) ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_accept(SSL* ssl) {
  static const auto real = grove::actors::next_definition<int (*)(SSL*)>("SSL_accept");
  if (!grove::actors::called_by_caf_openssl(__builtin_return_address(0))) return real(ssl);
  return grove::actors::caf_handshake_step(real, ssl, grove::actors::handshake_side::accepting);
}

int SSL_connect(SSL* ssl) {
  static const auto real = grove::actors::next_definition<int (*)(SSL*)>("SSL_connect");
  if (!grove::actors::called_by_caf_openssl(__builtin_return_address(0))) return real(ssl);
  return grove::actors::caf_handshake_step(real, ssl, grove::actors::handshake_side::connecting);
}

int accept(int listener, sockaddr* address, socklen_t* length) {
  static const auto real = grove::actors::next_definition<int (*)(int, sockaddr*, socklen_t*)>("accept");
  int fd = real(listener, address, length);
  if (fd < 0 || !grove::actors::called_by_caf_transport(__builtin_return_address(0))) return fd;
  return grove::actors::far_socket_number(fd);
}

int socket(int domain, int type, int protocol) {
  static const auto real = grove::actors::next_definition<int (*)(int, int, int)>("socket");
  int fd = real(domain, type, protocol);
  if (fd < 0 || !grove::actors::called_by_caf_transport(__builtin_return_address(0))) return fd;
  return grove::actors::far_socket_number(fd);
}

}  // extern "C"

// CAF's plaintext doors (see 3. above). Each calls libcaf_io's definition through a plain function
// pointer: on the Itanium ABI a member function takes `this` as its first argument (after the
// address of a class-type result, as a free function does), so the two signatures match.
namespace caf::io {

using string_set = std::set<std::string>;

expected<uint16_t> middleman::open(uint16_t port, const char* in, bool reuse) {
  using real_t = expected<uint16_t> (*)(middleman*, uint16_t, const char*, bool);
  static const auto real = grove::actors::next_definition<real_t>("_ZN3caf2io9middleman4openEtPKcb");
  if (grove::actors::plaintext_doors_closed(system_))
    return grove::actors::plaintext_door_refused("opening port " + std::to_string(port));
  if (!real) return grove::actors::missing_definition("middleman::open");
  return real(this, port, in, reuse);
}

expected<node_id> middleman::connect(std::string host, uint16_t port) {
  using real_t = expected<node_id> (*)(middleman*, std::string, uint16_t);
  static const auto real = grove::actors::next_definition<real_t>(
    "_ZN3caf2io9middleman7connectENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEt");
  if (grove::actors::plaintext_doors_closed(system_))
    return grove::actors::plaintext_door_refused("connecting to " + host + ":" + std::to_string(port));
  if (!real) return grove::actors::missing_definition("middleman::connect");
  return real(this, std::move(host), port);
}

expected<uint16_t> middleman::publish(const strong_actor_ptr& whom, string_set sigs, uint16_t port, const char* in,
                                      bool reuse) {
  using real_t = expected<uint16_t> (*)(middleman*, const strong_actor_ptr&, string_set, uint16_t, const char*, bool);
  static const auto real = grove::actors::next_definition<real_t>(
    "_ZN3caf2io9middleman7publishERKNS_13intrusive_ptrINS_19actor_control_blockEEESt3setINSt7__cxx1112basic_"
    "stringIcSt11char_traitsIcESaIcEEESt4lessISD_ESaISD_EEtPKcb");
  if (grove::actors::plaintext_doors_closed(system_))
    return grove::actors::plaintext_door_refused("publishing an actor on port " + std::to_string(port));
  if (!real) return grove::actors::missing_definition("middleman::publish");
  return real(this, whom, std::move(sigs), port, in, reuse);
}

expected<strong_actor_ptr> middleman::remote_actor(string_set ifs, std::string host, uint16_t port) {
  using real_t = expected<strong_actor_ptr> (*)(middleman*, string_set, std::string, uint16_t);
  static const auto real = grove::actors::next_definition<real_t>(
    "_ZN3caf2io9middleman12remote_actorESt3setINSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEESt4lessIS8_"
    "ESaIS8_EES8_t");
  if (grove::actors::plaintext_doors_closed(system_))
    return grove::actors::plaintext_door_refused("connecting to " + host + ":" + std::to_string(port));
  if (!real) return grove::actors::missing_definition("middleman::remote_actor");
  return real(this, std::move(ifs), std::move(host), port);
}

}  // namespace caf::io
