// Errors and expected<T>: how every fallible call in Grove for CAF reports failure.
//
// The library does not throw for bad input. A call that can fail returns `expected<T>` (a value or
// an `error`), or `status` (= expected<void>). An `error` carries a machine-readable code and a
// message written for people (it names the group, type or file involved).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace grove {

enum class errc : std::uint8_t {
  invalid_argument,     // a caller passed a value the call does not accept
  truncated,            // encoded input ends before its declared length
  bad_magic,            // input is not a Grove encoding at all
  unsupported_version,  // encoded with a format version this build cannot read
  type_mismatch,        // encoded value is of another CRDT type than requested
  checksum_mismatch,    // encoded input was damaged
  malformed,            // checksum fine but the payload breaks the format's rules
  too_large,            // a size limit was exceeded
  compression_failed,   // zstd refused to compress or decompress
  io_error,             // the operating system reported an I/O failure
  closed,               // the object was closed; no call is accepted any more
  locked,               // another process holds a lock on the resource
  not_a_store,          // a file exists but is not a Grove store
  disk_full,            // no space left on the device
  permission_denied,    // the operating system refused access
  unavailable,          // a peer or actor did not answer
  not_found,            // what the call names does not exist (and the call does not create it)
};

/// Stable lower-case name of an error code, e.g. "checksum_mismatch".
const char* to_string(errc code) noexcept;

class error {
public:
  error(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// "code: message", for logs and command-line tools.
  std::string to_string() const;

  friend bool operator==(const error& a, const error& b) { return a.code_ == b.code_ && a.message_ == b.message_; }

private:
  errc code_;
  std::string message_;
};

/// A value of type T or an error. Minimal on purpose (C++17 has no std::expected).
template <class T>
class [[nodiscard]] expected {
public:
  expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  expected(grove::error err) : state_(std::in_place_index<1>, std::move(err)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// Precondition: !has_value().
  const grove::error& error() const { return std::get<1>(state_); }

private:
  std::variant<T, grove::error> state_;
};

/// Success or an error: the result of calls that return nothing.
template <>
class [[nodiscard]] expected<void> {
public:
  expected() = default;
  expected(grove::error err) : error_(std::move(err)) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }
  /// Precondition: !has_value().
  const grove::error& error() const { return *error_; }

private:
  std::optional<grove::error> error_;
};

using status = expected<void>;

}  // namespace grove
