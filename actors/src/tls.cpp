// TLS configuration checks (OpenSSL's libssl) and CAF's openssl module. See tls.hpp for why.
#include "grove/actors/tls.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <dlfcn.h>
#include <link.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/openssl/manager.hpp>

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

}  // namespace

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
  return {};
}

bool uses_tls(const caf::actor_system& sys) { return sys.has_openssl_manager(); }

}  // namespace grove::actors

// Workaround for CAF 0.17's openssl module: it reads SSL_get_error() after SSL_read/SSL_write
// without clearing the thread's OpenSSL error queue first, and leaves a failed handshake's errors
// in it. All sessions of a node run on its one multiplexer thread, so one refused peer (or a port
// scanner) made the next "would block" of every established TLS connection look like a fatal
// error, and CAF closed them all. OpenSSL requires an empty queue before each I/O call.
//
// These definitions interpose libssl's SSL_read and SSL_write for the whole program (a symbol of
// the executable wins over libssl's), but change only the calls made from CAF's openssl module
// (libcaf_openssl's code, found by the caller's return address): those get the queue emptied
// first. Every other caller, an embedding program's own TLS included, reaches libssl's function
// with its error queue untouched; its only cost is one range check. tls_test checks both: that
// established CAF connections survive refused handshakes, and that a program's own SSL_read keeps
// the errors it had queued.
namespace {

struct code_range {
  std::uintptr_t begin = 0, end = 0;
  bool contains(const void* address) const {
    auto a = reinterpret_cast<std::uintptr_t>(address);
    return a >= begin && a < end;
  }
};

// The executable segments of libcaf_openssl, once (it is linked in, so loaded before any call).
const code_range& caf_openssl_code() {
  static const code_range range = [] {
    code_range r;
    dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        if (!info->dlpi_name || !std::strstr(info->dlpi_name, "libcaf_openssl")) return 0;
        auto& found = *static_cast<code_range*>(out);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          auto begin = info->dlpi_addr + ph.p_vaddr;
          if (found.begin == 0 || begin < found.begin) found.begin = begin;
          found.end = std::max<std::uintptr_t>(found.end, begin + ph.p_memsz);
        }
        return 1;
      },
      &r);
    return r;
  }();
  return range;
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buffer, int size) {
  static const auto real = reinterpret_cast<int (*)(SSL*, void*, int)>(::dlsym(RTLD_NEXT, "SSL_read"));
  if (caf_openssl_code().contains(__builtin_return_address(0))) ERR_clear_error();
  return real(ssl, buffer, size);
}

int SSL_write(SSL* ssl, const void* buffer, int size) {
  static const auto real = reinterpret_cast<int (*)(SSL*, const void*, int)>(::dlsym(RTLD_NEXT, "SSL_write"));
  if (caf_openssl_code().contains(__builtin_return_address(0))) ERR_clear_error();
  return real(ssl, buffer, size);
}

}  // extern "C"
