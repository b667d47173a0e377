// Bytes as text: how every tool and error message shows values, names and input that may hold any
// byte. Values are bytes; text output must neither lose them nor break on them (a JSON writer
// refuses bytes that are not UTF-8, and a newline inside a value would split a one-line answer).
//
// The escaping is lossless and its output is always valid UTF-8 without control characters:
//  - valid UTF-8 of printable characters stays as it is (so "café" shows as "café");
//  - a backslash becomes "\\";
//  - every other byte becomes "\xHH" (two lower-case hex digits): bytes that are not part of a
//    valid UTF-8 sequence, control characters (0x00-0x1f, 0x7f) and the C1 controls U+0080-U+009F
//    (each of their two bytes).
// unescape_bytes(escape_bytes(b)) == b for every b.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "grove/crdt/error.hpp"

namespace grove {

/// Lossless, printable, valid-UTF-8 form of any bytes (see above). Never throws except bad_alloc.
std::string escape_bytes(std::string_view bytes);

/// Reverses escape_bytes. Errors: invalid_argument for a backslash that starts neither "\\" nor
/// "\xHH".
expected<std::string> unescape_bytes(std::string_view text);

/// Input echoed in an error message: at most `limit` bytes of `text`, escaped, in single quotes;
/// a longer text is cut and followed by "... (N bytes)", so an error never repeats long input.
std::string quote_input(std::string_view text, std::size_t limit = 64);

/// Whether `bytes` is valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace grove
