// Fuzz harness: the HTTP request parser (http/request_parser.h).
//
// Input: [limits][split seed][request bytes...]. The limits byte picks small limits (so 414 and
// 431 are reachable in a short input) or, with its top bit set, the defaults.
//
// Properties:
//   - the same bytes whole, cut at random points and cut into single bytes give the same
//     requests (line, parts, headers and where each ended), the same error and the same final
//     state: the parser is resumable;
//   - a parsed request is consistent with the helpers: crack_request() of its line gives its
//     parts and they rebuild the line; get_header() finds the first field of each name; names
//     carry no whitespace or colon, values no surrounding whitespace;
//   - split_uri() cuts any URI into parts that rebuild it; percent_decode() never grows a string
//     and undoes a full %XX encoding.
#pragma once

#include "http/request_parser.h"
#include "test/fuzz/harness_util.h"

namespace medusa::fuzz {

namespace request_parser_detail {

constexpr std::string_view target = "request_parser";

inline void check_split_uri(std::string_view uri) {
    http::uri_parts p = http::split_uri(uri);
    std::string joined = fmt::format("{}{}{}{}", p.path, p.params, p.query, p.fragment);
    require(joined == uri, target, fmt::format("split_uri parts do not rebuild '{}'", show(uri)));
    // A ';' in the path is part of a segment ("/..;/x"): only the last segment has params.
    require(p.path.find_first_of("?#") == std::string_view::npos, target, "split_uri: ?# in path");
    size_t semi = p.path.rfind(';');
    require(semi == std::string_view::npos || p.path.find('/', semi) != std::string_view::npos, target,
            "split_uri: ; in the last segment of the path");
    require(p.params.empty() || (p.params.front() == ';' && p.params.find_first_of("/?#") == std::string_view::npos),
            target, "split_uri: bad params");
    require(p.query.empty() || (p.query.front() == '?' && p.query.find('#') == std::string_view::npos), target,
            "split_uri: bad query");
    require(p.fragment.empty() || p.fragment.front() == '#', target, "split_uri: bad fragment");
}

inline void check_percent_decode(std::string_view s) {
    std::string once = http::percent_decode(s);
    require(once.size() <= s.size(), target, "percent_decode grew the string");
    if (s.find('%') == std::string_view::npos)
        require(once == s, target, "percent_decode changed a string without '%'");
    std::string encoded;
    for (char c : s.substr(0, 256)) encoded += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    require(http::percent_decode(encoded) == s.substr(0, 256), target,
            fmt::format("percent_decode does not undo %XX of '{}'", show(s)));
}

inline void check_crack(std::string_view line) {
    auto c = http::crack_request(line);
    if (!c) return;
    std::string rebuilt = fmt::format("{} {}", c->command, c->uri);
    if (c->has_version) rebuilt += fmt::format(" HTTP/{}", c->version);
    require(rebuilt == line, target, fmt::format("crack_request parts do not rebuild '{}'", show(line)));
    require(!c->command.empty() && !c->uri.empty(), target, "crack_request: an empty part");
    require(c->has_version || c->version.empty(), target, "crack_request: a version without has_version");
}

inline void check_request(const http::parsed_request& r) {
    auto c = http::crack_request(r.request_line());
    require(c.has_value(), target, "a parsed request whose line crack_request refuses");
    require(c->command == r.command() && c->uri == r.uri() && c->version == r.version() &&
                c->has_version == r.has_version(),
            target, "parsed request parts differ from crack_request's");
    check_crack(r.request_line());
    check_split_uri(r.uri());
    check_percent_decode(http::split_uri(r.uri()).path);
    for (size_t i = 0; i < r.field_count(); ++i) {
        http::header_field f = r.field(i);
        require(!f.name.empty() && f.name.find_first_of(" \t:") == std::string_view::npos, target,
                fmt::format("bad header name '{}'", show(f.name)));
        require(f.value.empty() || (f.value.front() != ' ' && f.value.front() != '\t' && f.value.back() != ' ' &&
                                    f.value.back() != '\t'),
                target, fmt::format("header value with surrounding whitespace '{}'", show(f.value)));
        require(f.value.find('\n') == std::string_view::npos, target, "LF inside a header value");
        std::string_view first;
        for (size_t j = 0; j <= i; ++j) {
            if (http::iequals(r.field(j).name, f.name)) {
                first = r.field(j).value;
                break;
            }
        }
        auto got = r.get_header(f.name);
        require(got.has_value() && *got == first, target,
                fmt::format("get_header('{}') is not the first such field", show(f.name)));
    }
}

inline std::string describe(const http::parsed_request& r, size_t offset) {
    std::string s = fmt::format("request@{} [{}] cmd[{}] uri[{}] ver[{}]{}\n", offset, show(r.request_line()),
                                show(r.command()), show(r.uri()), show(r.version()), r.has_version() ? "" : " (none)");
    for (size_t i = 0; i < r.field_count(); ++i)
        s += fmt::format("  [{}]: [{}]\n", show(r.field(i).name), show(r.field(i).value));
    return s;
}

// Parses every request in the stream, piece by piece, as http_channel does with pipelined input.
inline std::string run(const http::parse_limits& limits, const std::vector<std::string_view>& pieces) {
    http::request_parser p(limits);
    std::string log;
    size_t offset = 0;
    for (std::string_view piece : pieces) {
        while (!piece.empty()) {
            size_t used = p.feed(piece);
            require(used <= piece.size(), target, "feed() used more than it was given");
            offset += used;
            piece.remove_prefix(used);
            switch (p.state()) {
                case http::request_parser::status::complete: {
                    check_request(p.peek());
                    std::string d = describe(p.peek(), offset);
                    http::parsed_request r = p.take();
                    require(describe(r, offset) == d, target, "take() gave another request than peek()");
                    log += d;
                    require(p.state() == http::request_parser::status::request_line && !p.started(), target,
                            "take() did not reset the parser");
                    break;
                }
                case http::request_parser::status::empty:
                    return log + fmt::format("empty@{}\n", offset);
                case http::request_parser::status::error:
                    require(p.error_code() == 400 || p.error_code() == 414 || p.error_code() == 431, target,
                            fmt::format("error code {}", p.error_code()));
                    return log + fmt::format("error {} ({})\n", p.error_code(), p.error_reason());
                default:
                    require(piece.empty(), target, "feed() stopped early without finishing");
            }
        }
    }
    return log + fmt::format("pending state {} started {}\n", int(p.state()), p.started());
}

}  // namespace request_parser_detail

inline void request_parser(std::string_view input) {
    using namespace request_parser_detail;
    input_reader in(input);
    uint8_t sel = in.byte();
    uint8_t seed = in.byte();
    std::string_view data = in.rest();

    http::parse_limits limits;
    if ((sel & 0x80) == 0) limits = {size_t(4 + (sel & 0x0f) * 4), size_t(8 + ((sel >> 4) & 7) * 24)};

    // The helpers on the raw bytes, whatever the parser makes of them.
    check_crack(data.substr(0, data.find('\n')));
    check_split_uri(data);
    check_percent_decode(data);

    std::string whole = run(limits, {data});
    std::string cut = run(limits, split(data, seed, 1 + seed % 23));
    require(cut == whole, target,
            fmt::format("split parse differs.\nwhole:\n{}split:\n{}", whole, cut));
    if (data.size() <= 4096) {
        std::string bytes = run(limits, bytewise(data));
        require(bytes == whole, target, fmt::format("bytewise parse differs.\nwhole:\n{}bytewise:\n{}", whole, bytes));
    }
}

}  // namespace medusa::fuzz
