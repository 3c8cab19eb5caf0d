// The text notation of a `>` or `<` line: bytes written with C escapes, and `{*}` globs in `<` text.
//
//   \r \n \t \\ \xHH   the escapes; every CR and LF on the wire is written out, so the line's own
//                      newline is never data
//   {*}                in `<` text: a glob (see pattern.h); a literal "{*}" is written "\x7b*}"
//   \x20               a space at the start or end of the text, which an editor could lose
//
// render_text() writes the canonical form (lower-case hex, printable ASCII as itself);
// parse_text() reads any valid form.
#pragma once

#include <string>
#include <string_view>

#include "transcript/pattern.h"

namespace medusa::transcript {

enum class line_kind { send, expect };

// Renders one line's text. In send text globs cannot occur and "{*}" needs no escape.
std::string render_text(const pattern& p, line_kind kind);
inline std::string render_text(std::string_view bytes, line_kind kind) {
    return render_text(pattern(std::string(bytes)), kind);
}

// Parses one line's text. On a bad escape returns false and sets `error` to the message, e.g.
// "bad escape \q" or "bad escape \x4 (\x needs two hex digits)".
bool parse_text(std::string_view text, line_kind kind, pattern& out, std::string& error);

}  // namespace medusa::transcript
