#include "transcript/notation.h"

#include <fmt/format.h>

namespace medusa::transcript {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void escape_byte(std::string& out, unsigned char c) {
    switch (c) {
        case '\r': out += "\\r"; return;
        case '\n': out += "\\n"; return;
        case '\t': out += "\\t"; return;
        case '\\': out += "\\\\"; return;
        default: break;
    }
    if (c < 0x20 || c >= 0x7f) {
        out += fmt::format("\\x{:02x}", c);
    } else {
        out += static_cast<char>(c);
    }
}

}  // namespace

std::string render_text(const pattern& p, line_kind kind) {
    std::string out;
    std::string_view bytes(p.bytes);
    std::size_t glob = 0;
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
        while (glob < p.globs.size() && p.globs[glob] == i) {
            out += "{*}";
            ++glob;
        }
        if (i == bytes.size()) break;
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        bool at_edge = (i == 0 && !p.has_glob_in(0, 0)) ||
                       (i + 1 == bytes.size() && !p.has_glob_in(bytes.size(), bytes.size()));
        if (c == ' ' && at_edge) {
            out += "\\x20";
        } else if (c == '{' && kind == line_kind::expect && bytes.substr(i + 1, 2) == "*}" &&
                   !p.has_glob_in(i + 1, i + 2)) {
            // Only a "{*}" made of data bytes would read back as a glob.
            out += "\\x7b";
        } else {
            escape_byte(out, c);
        }
    }
    return out;
}

bool parse_text(std::string_view text, line_kind kind, pattern& out, std::string& error) {
    out = pattern();
    for (std::size_t i = 0; i < text.size();) {
        char c = text[i];
        if (kind == line_kind::expect && text.substr(i, 3) == "{*}") {
            out.append_glob();
            i += 3;
            continue;
        }
        if (c != '\\') {
            out.bytes += c;
            ++i;
            continue;
        }
        if (i + 1 == text.size()) {
            error = "bad escape \\ at the end of the line (write \\\\ for a backslash)";
            return false;
        }
        char e = text[i + 1];
        switch (e) {
            case 'r': out.bytes += '\r'; i += 2; continue;
            case 'n': out.bytes += '\n'; i += 2; continue;
            case 't': out.bytes += '\t'; i += 2; continue;
            case '\\': out.bytes += '\\'; i += 2; continue;
            case 'x': {
                int hi = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
                int lo = i + 3 < text.size() ? hex_value(text[i + 3]) : -1;
                if (hi < 0 || lo < 0) {
                    error = fmt::format("bad escape {} (\\x needs two hex digits)",
                                        text.substr(i, std::min<std::size_t>(4, text.size() - i)));
                    return false;
                }
                out.bytes += static_cast<char>(hi * 16 + lo);
                i += 4;
                continue;
            }
            default:
                error = fmt::format("bad escape \\{}", e);
                return false;
        }
    }
    return true;
}

}  // namespace medusa::transcript
