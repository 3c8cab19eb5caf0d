#include "transcript/transcript.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "transcript/http_framing.h"
#include "transcript/notation.h"

namespace medusa::transcript {

namespace {

constexpr std::string_view known_keys[] = {"title", "fixture", "protocol", "source"};

// Blanks off both ends: spaces and tabs, or another set.
std::string_view trim(std::string_view s, std::string_view blanks = " \t") {
    while (!s.empty() && blanks.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    while (!s.empty() && blanks.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    return s;
}

bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

class parser {
public:
    explicit parser(std::string_view file) : file_(file) { t_.path = file_; t_.name = case_name(file); }

    void run(std::string_view text) {
        int number = 0;
        while (!text.empty()) {
            std::size_t nl = text.find('\n');
            std::string_view line = text.substr(0, nl);
            text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
            ++number;
            if (line.ends_with('\r')) {
                // All of them: "# h\r\r" must not keep a CR that write() would emit and the next
                // parse strip (a fuzzer-found round-trip break, kept in test/fuzz/regressions/).
                while (line.ends_with('\r')) line.remove_suffix(1);
                // Once per file: every line of a CRLF file would say the same.
                if (!crlf_reported_) {
                    report(number, "line ends with CR (the file has CRLF line ends; write CR as \\r)", false);
                }
                crlf_reported_ = true;
            }
            parse_line(number, line);
        }
        finish();
    }

    transcript& result() { return t_; }
    std::vector<problem>& problems() { return problems_; }

private:
    void report(int line, std::string message, bool fatal) {
        problems_.push_back({file_, line, std::move(message), fatal});
    }

    void parse_line(int n, std::string_view line) {
        if (trim(line).empty()) return;
        if (line.front() == '#') {
            t_.comments.emplace_back(line.substr(1));
            return;
        }
        if (line.front() == '@') return parse_metadata(n, line);
        if (line == "<close>") return add(n, step::close());
        if (line.front() == '>' || line.front() == '<') {
            line_kind kind = line.front() == '>' ? line_kind::send : line_kind::expect;
            if (line.size() > 1 && line[1] != ' ') {
                report(n, fmt::format("unknown line prefix '{}' ('{}' must be followed by a space)",
                                      line.substr(0, 2), line.front()),
                       true);
                return;
            }
            if (kind == line_kind::send) seen_send_ = true;  // even if its text is bad
            std::string_view text = line.size() > 1 ? line.substr(2) : std::string_view();
            check_raw_text(n, text);
            pattern bytes;
            std::string error;
            if (!parse_text(text, kind, bytes, error)) {
                report(n, error, true);
                return;
            }
            if (kind == line_kind::send) {
                return add(n, {step_kind::send, std::move(bytes), 0, n});
            }
            if (!seen_send_ && first_early_expect_ == 0) first_early_expect_ = n;
            return add(n, {step_kind::expect, std::move(bytes), 0, n});
        }
        if (line.front() == '~') return parse_pause(n, line);
        report(n, fmt::format("unknown line prefix '{}'", line.substr(0, 1)), true);
    }

    void parse_metadata(int n, std::string_view line) {
        std::string_view rest = line.substr(1);
        std::size_t colon = rest.find(':');
        std::string_view key = colon == std::string_view::npos ? std::string_view() : trim(rest.substr(0, colon));
        bool key_ok = !key.empty();
        for (char c : key) key_ok = key_ok && is_key_char(c);
        if (!key_ok || rest.empty() || rest.front() != ' ') {
            report(n, "bad metadata line (write \"@ key: value\")", true);
            return;
        }
        // CRs go with the blanks: "@ k: v\r\r " would otherwise keep CRs that write() ends the
        // line with and the next parse strips (a fuzzer-found round-trip break).
        std::string value(trim(rest.substr(colon + 1), " \t\r"));
        if (!t_.steps.empty()) {
            report(n, fmt::format("metadata '{}' after the first step (put `@` lines before the first `>`)", key),
                   false);
        }
        if (!is_known_key(key)) report(n, fmt::format("unknown metadata key '{}'", key), false);
        if (t_.get(key)) report(n, fmt::format("metadata key '{}' given twice", key), false);
        if (key == "protocol" && value != "http" && value != "raw") {
            report(n, fmt::format("protocol must be 'http' or 'raw', not '{}'", value), true);
        }
        t_.metadata.push_back({std::string(key), std::move(value)});
    }

    void parse_pause(int n, std::string_view line) {
        std::string_view digits = line.size() > 2 && line[1] == ' ' ? trim(line.substr(2)) : std::string_view();
        int ms = 0;
        bool ok = !digits.empty() && digits.size() <= 7;
        for (char c : digits) {
            ok = ok && c >= '0' && c <= '9';
            if (ok) ms = ms * 10 + (c - '0');
        }
        if (!ok) {
            report(n, "bad pause (write \"~ N\", N a number of milliseconds)", true);
            return;
        }
        add(n, {step_kind::pause, {}, ms, n});
    }

    // Replayable but fragile text: an editor may strip a trailing space or expand a tab.
    void check_raw_text(int n, std::string_view text) {
        if (!text.empty() && text.front() == ' ') report(n, "space at the start of the text (write \\x20)", false);
        if (!text.empty() && text.back() == ' ') report(n, "space at the end of the text (write \\x20)", false);
        for (char c : text) {
            unsigned char u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f) {
                report(n, fmt::format("raw control byte 0x{:02x} in the text (write it as an escape)", u), false);
                break;
            }
        }
    }

    void add(int n, step s) {
        if (closed_) {
            report(n, "nothing may follow <close>", true);
            return;
        }
        if (s.kind == step_kind::close) closed_ = true;
        s.line = n;
        t_.add(std::move(s));
    }

    void finish() {
        if (first_early_expect_ != 0 && t_.protocol() == protocol_kind::http) {
            report(first_early_expect_, "`<` before any `>`: an HTTP server never speaks first", false);
        }
        if (t_.protocol() == protocol_kind::http) check_http_framing();
        std::stable_sort(problems_.begin(), problems_.end(),
                         [](const problem& a, const problem& b) { return a.line < b.line; });
    }

    // Each expectation must split into whole responses, or the replayer could never be satisfied:
    // "Content-Length: 115" over a 114-byte body is a transcript bug, not a server bug.
    void check_http_framing() {
        std::string sent;
        std::size_t answered = 0;
        for (const step& s : t_.steps) {
            if (s.kind == step_kind::send) sent += s.bytes.bytes;
            if (s.kind != step_kind::expect) continue;
            auto methods = request_methods(sent);
            split_result r = split_responses(s.bytes, methods, answered, true);
            if (!r.problem.empty()) report(s.line, r.problem, false);
            answered += r.requests_answered;
        }
    }

    std::string file_;
    transcript t_;
    std::vector<problem> problems_;
    bool seen_send_ = false, closed_ = false, crlf_reported_ = false;
    int first_early_expect_ = 0;
};

}  // namespace

std::optional<std::string> transcript::get(std::string_view key) const {
    for (const auto& m : metadata) {
        if (m.key == key) return m.value;
    }
    return std::nullopt;
}

void transcript::add(step s) {
    if (!steps.empty() && steps.back().kind == s.kind &&
        (s.kind == step_kind::send || s.kind == step_kind::expect)) {
        steps.back().bytes.append(s.bytes);
        return;
    }
    steps.push_back(std::move(s));
}

void transcript::set(std::string_view key, std::string value) {
    for (auto& m : metadata) {
        if (m.key == key) {
            m.value = std::move(value);
            return;
        }
    }
    metadata.push_back({std::string(key), std::move(value)});
}

protocol_kind transcript::protocol() const {
    return get("protocol") == std::optional<std::string>("raw") ? protocol_kind::raw : protocol_kind::http;
}

bool is_known_key(std::string_view key) {
    for (auto k : known_keys) {
        if (k == key) return true;
    }
    return false;
}

std::string problem::to_string() const { return fmt::format("{}:{}: {}", file, line, message); }

transcript parse(std::string_view text, std::string_view file) {
    parser p(file);
    p.run(text);
    for (const problem& pr : p.problems()) {
        if (pr.fatal) throw parse_error(pr);
    }
    return std::move(p.result());
}

std::vector<problem> lint(std::string_view text, std::string_view file) {
    parser p(file);
    p.run(text);
    return std::move(p.problems());
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), fmt::format("open({})", path));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

transcript read_file(const std::string& path) { return parse(read_text_file(path), path); }

std::string write(const transcript& t) {
    std::string out;
    for (const auto& c : t.comments) out += fmt::format("#{}\n", c);
    for (const auto& m : t.metadata) out += fmt::format("@ {}: {}\n", m.key, m.value);
    bool header = !out.empty();
    step_kind previous = step_kind::send;
    bool first = true;
    for (const step& s : t.steps) {
        bool new_turn = !first && (previous == step_kind::expect || previous == step_kind::close) &&
                        (s.kind == step_kind::send || s.kind == step_kind::pause);
        if ((first && header) || new_turn) out += '\n';
        switch (s.kind) {
            case step_kind::send:
            case step_kind::expect: {
                bool send = s.kind == step_kind::send;
                auto lines = split_lines(s.bytes);
                if (lines.empty()) out += send ? ">\n" : "<\n";
                for (const auto& l : lines) {
                    out += fmt::format("{} {}\n", send ? '>' : '<',
                                       render_text(l, send ? line_kind::send : line_kind::expect));
                }
                break;
            }
            case step_kind::pause: out += fmt::format("~ {}\n", s.pause_ms); break;
            case step_kind::close: out += "<close>\n"; break;
        }
        previous = s.kind;
        first = false;
    }
    return out;
}

std::string case_name(std::string_view path) {
    std::size_t slash = path.rfind('/');
    if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
    if (path.ends_with(".transcript")) path.remove_suffix(std::string_view(".transcript").size());
    return std::string(path);
}

}  // namespace medusa::transcript
