#include "secret_tls.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace grove::actors::detail {

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using name_ptr = std::unique_ptr<X509_NAME, decltype(&X509_NAME_free)>;
using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using kdf_ctx_ptr = std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)>;
using bignum_ptr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

// Both certificates are valid from a fixed past date to RFC 5280's "no expiration": a node whose
// clock is behind or ahead still accepts the others, and a running node never sees its
// certificate expire. (The leaf's key is new at every start; dates would protect nothing.)
constexpr const char* valid_from = "20000101000000Z";
constexpr const char* valid_until = "99991231235959Z";

grove::error openssl_failure(const std::string& what) {
  auto code = ERR_get_error();
  ERR_clear_error();
  char reason[256] = "no reason given";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  return grove::error(errc::invalid_argument, "cannot " + what + " for the secret-derived TLS: " + reason);
}

// The CA key: Ed25519 whose 32-byte seed is HKDF-SHA256(secret, info = cluster_ca_label).
expected<pkey_ptr> derive_ca_key(const std::string& secret) {
  kdf_ctx_ptr ctx{nullptr, &EVP_KDF_CTX_free};
  if (auto* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr)) {
    ctx.reset(EVP_KDF_CTX_new(kdf));
    EVP_KDF_free(kdf);
  }
  if (!ctx) return openssl_failure("set up HKDF");
  unsigned char seed[32];
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(secret.data()), secret.size()),
    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(cluster_ca_label),
                                      std::strlen(cluster_ca_label)),
    OSSL_PARAM_construct_end()};
  bool derived = EVP_KDF_derive(ctx.get(), seed, sizeof seed, params) == 1;
  pkey_ptr key{derived ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed) : nullptr,
               &EVP_PKEY_free};
  OPENSSL_cleanse(seed, sizeof seed);
  if (!key) return openssl_failure("derive the CA key");
  return key;
}

name_ptr make_name(const std::string& organization, const std::string& common_name) {
  name_ptr name{X509_NAME_new(), &X509_NAME_free};
  auto add = [&](const char* field, const std::string& value) {
    return X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_ASC,
                                      reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0)
           == 1;
  };
  if (!name || (!organization.empty() && !add("O", organization)) || !add("CN", common_name)) name.reset();
  return name;
}

bool add_extension(X509* issuer, X509* subject, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  bool ok = ext != nullptr && X509_add_ext(subject, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A v3 certificate for `key` named `subject`, issued by `issuer_name` (the extensions are added
// by the caller, then it is signed).
x509_ptr make_certificate(EVP_PKEY* key, const X509_NAME* subject, const X509_NAME* issuer_name, BIGNUM* serial) {
  x509_ptr cert{X509_new(), &X509_free};
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1
      || !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()))
      || X509_set_subject_name(cert.get(), subject) != 1 || X509_set_issuer_name(cert.get(), issuer_name) != 1
      || ASN1_TIME_set_string_X509(X509_getm_notBefore(cert.get()), valid_from) != 1
      || ASN1_TIME_set_string_X509(X509_getm_notAfter(cert.get()), valid_until) != 1
      || X509_set_pubkey(cert.get(), key) != 1)
    cert.reset();
  return cert;
}

// The CA certificate: every field fixed, so every node with the secret makes the same one.
expected<x509_ptr> make_ca_certificate(EVP_PKEY* ca_key) {
  auto name = make_name(cluster_ca_organization, cluster_ca_common_name);
  bignum_ptr serial{BN_new(), &BN_free};
  if (!name || !serial || BN_set_word(serial.get(), 1) != 1) return openssl_failure("name the CA");
  auto ca = make_certificate(ca_key, name.get(), name.get(), serial.get());
  if (!ca || !add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE")
      || !add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign")
      || !add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash")
      || X509_sign(ca.get(), ca_key, nullptr) <= 0)  // Ed25519 takes no digest
    return openssl_failure("make the CA certificate");
  return ca;
}

std::string hex(const unsigned char* data, std::size_t size, const char* separator) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    if (i > 0) out += separator;
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

// A fresh node certificate: a new key, a random serial and name, signed by the derived CA.
expected<std::pair<x509_ptr, pkey_ptr>> issue_leaf(X509* ca, EVP_PKEY* ca_key) {
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free};
  unsigned char random[16];
  if (!key || RAND_bytes(random, sizeof random) != 1) return openssl_failure("make the node key");
  random[0] &= 0x7f;  // a positive serial
  bignum_ptr serial{BN_bin2bn(random, sizeof random, nullptr), &BN_free};
  auto name = make_name("", "grove node " + hex(random + 12, 4, ""));
  if (!serial || !name) return openssl_failure("name the node certificate");
  auto leaf = make_certificate(key.get(), name.get(), X509_get_subject_name(ca), serial.get());
  if (!leaf || !add_extension(ca, leaf.get(), NID_basic_constraints, "critical,CA:FALSE")
      || !add_extension(ca, leaf.get(), NID_key_usage, "critical,digitalSignature")
      || !add_extension(ca, leaf.get(), NID_ext_key_usage, "serverAuth,clientAuth")
      || !add_extension(ca, leaf.get(), NID_subject_key_identifier, "hash")
      || !add_extension(ca, leaf.get(), NID_authority_key_identifier, "keyid:always")
      || X509_sign(leaf.get(), ca_key, nullptr) <= 0)
    return openssl_failure("issue the node certificate");
  return std::pair{std::move(leaf), std::move(key)};
}

template <class Write>
expected<std::string> pem(Write write, const std::string& what) {
  bio_ptr bio{BIO_new(BIO_s_mem()), &BIO_free};
  if (!bio || write(bio.get()) != 1) return openssl_failure("write the " + what);
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  std::string text(data, static_cast<std::size_t>(size));
  OPENSSL_cleanse(data, static_cast<std::size_t>(size));  // a key must not linger in freed memory
  return text;
}

// A sealed, close-on-exec memfd holding `text` (wiped from memory afterwards); its path.
expected<std::string> sealed_memfd(const char* name, std::string& text) {
  int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  auto fail = [&](const std::string& step) {
    auto e = grove::error(errc::io_error, "cannot " + step + " for the secret-derived TLS credentials: "
                                            + std::strerror(errno) + " (Linux with memfd_create and /proc needed)");
    OPENSSL_cleanse(text.data(), text.size());
    if (fd >= 0) ::close(fd);
    return e;
  };
  if (fd < 0) return fail("make an in-memory file");
  for (std::size_t done = 0; done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write an in-memory file");
    done += static_cast<std::size_t>(n);
  }
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return fail("seal an in-memory file");
  OPENSSL_cleanse(text.data(), text.size());
  return "/proc/self/fd/" + std::to_string(fd);
}

expected<derived_tls_files> issue_files(X509* ca, EVP_PKEY* ca_key, const std::string& fingerprint) {
  auto leaf = issue_leaf(ca, ca_key);
  if (!leaf) return leaf.error();
  auto ca_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, ca); }, "CA certificate");
  auto leaf_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, leaf->first.get()); }, "node certificate");
  auto key_pem =
    pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, leaf->second.get(), nullptr, nullptr, 0, nullptr, nullptr); },
        "node key");
  if (!ca_pem) return ca_pem.error();
  if (!leaf_pem) return leaf_pem.error();
  if (!key_pem) return key_pem.error();
  derived_tls_files files;
  files.ca_fingerprint = fingerprint;
  for (auto [text, name, path] : {std::tuple{&*ca_pem, "grove-cluster-ca", &files.ca_file},
                                  {&*leaf_pem, "grove-node-cert", &files.certificate},
                                  {&*key_pem, "grove-node-key", &files.key}}) {
    auto fd_path = sealed_memfd(name, *text);
    if (!fd_path) return fd_path.error();
    *path = std::move(*fd_path);
  }
  return files;
}

}  // namespace

expected<derived_tls_files> derive_tls_files(const std::string& secret) {
  ERR_clear_error();
  auto ca_key = derive_ca_key(secret);
  if (!ca_key) return ca_key.error();
  auto ca = make_ca_certificate(ca_key->get());
  if (!ca) return ca.error();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(ca->get(), EVP_sha256(), digest, &size) != 1) return openssl_failure("fingerprint the CA");
  auto fingerprint = hex(digest, size, ":");
  // One set of files per secret and process: the fds can never be closed (CAF keeps their paths).
  static std::mutex mutex;
  static std::map<std::string, derived_tls_files> issued;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = issued.find(fingerprint); it != issued.end()) return it->second;
  auto files = issue_files(ca->get(), ca_key->get(), fingerprint);
  if (files) issued.emplace(fingerprint, *files);
  return files;
}

}  // namespace grove::actors::detail
