#include "transcript/matcher.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "transcript/diff.h"
#include "transcript/http_framing.h"
#include "transcript/notation.h"

namespace medusa::transcript {

namespace {

// One line of a diff side: a piece of the wire, or the end of the connection.
struct shown_line {
    pattern bytes;
    bool close = false;
};

bool same_line(const shown_line& expected, const shown_line& received) {
    if (expected.close || received.close) return expected.close == received.close;
    return matches(expected.bytes, received.bytes.bytes);
}

std::string show(const shown_line& l) {
    return l.close ? "<close>" : "< " + render_text(l.bytes, line_kind::expect);
}

void add_lines(std::vector<shown_line>& out, const pattern& p) {
    for (auto& l : split_lines(p)) out.push_back({std::move(l), false});
}

std::string header_name(std::string_view line) {
    std::string name(line.substr(0, line.find(':')));
    for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return name;
}

// Pairs expected header lines with received ones (a maximum bipartite matching: "X: {*}" must not
// take the only line that "X: a" could match). pair[i] is the received index for expected i.
std::vector<std::optional<std::size_t>> pair_headers(const std::vector<pattern>& expected,
                                                     const std::vector<pattern>& received) {
    std::size_t n = expected.size(), m = received.size();
    std::vector<std::vector<bool>> fits(n, std::vector<bool>(m));
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < m; ++j) fits[i][j] = matches(expected[i], received[j].bytes);
    }
    std::vector<std::optional<std::size_t>> owner(m);  // received j -> expected i
    std::function<bool(std::size_t, std::vector<bool>&)> augment = [&](std::size_t i, std::vector<bool>& seen) {
        for (std::size_t j = 0; j < m; ++j) {
            if (!fits[i][j] || seen[j]) continue;
            seen[j] = true;
            if (!owner[j] || augment(*owner[j], seen)) {
                owner[j] = i;
                return true;
            }
        }
        return false;
    };
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<bool> seen(m);
        augment(i, seen);
    }
    std::vector<std::optional<std::size_t>> pair(n);
    for (std::size_t j = 0; j < m; ++j) {
        if (owner[j]) pair[*owner[j]] = j;
    }
    return pair;
}

struct response_verdict {
    std::string problem;  // empty when the two responses match
    std::vector<shown_line> expected_lines, received_lines;
};

const pattern& shown_body(const http_response& r, bool strict) { return strict ? r.body : r.payload; }

response_verdict compare_response(const http_response& e, const http_response* r, bool strict) {
    response_verdict v;
    v.expected_lines.push_back({e.status_line});
    for (const auto& h : e.header_lines) v.expected_lines.push_back({h});
    v.expected_lines.push_back({e.blank_line});
    add_lines(v.expected_lines, shown_body(e, strict));
    if (!r) {
        v.problem = "missing";
        return v;
    }

    v.received_lines.push_back({r->status_line});
    auto pair = pair_headers(e.header_lines, r->header_lines);
    std::vector<bool> used(r->header_lines.size());
    for (const auto& p : pair) {
        if (p) used[*p] = true;
    }
    // Received headers in the expected order; a differing value is placed beside the expected line
    // of the same name, so the diff shows the two next to each other.
    for (std::size_t i = 0; i < e.header_lines.size(); ++i) {
        std::optional<std::size_t> j = pair[i];
        if (!j) {
            std::string name = header_name(e.header_lines[i].bytes);
            for (std::size_t k = 0; k < r->header_lines.size() && !j; ++k) {
                if (!used[k] && header_name(r->header_lines[k].bytes) == name) j = k;
            }
            if (j) used[*j] = true;
        }
        if (j) v.received_lines.push_back({r->header_lines[*j]});
    }
    for (std::size_t k = 0; k < r->header_lines.size(); ++k) {
        if (!used[k]) v.received_lines.push_back({r->header_lines[k]});
    }
    if (!r->blank_line.empty()) v.received_lines.push_back({r->blank_line});
    add_lines(v.received_lines, shown_body(*r, strict));

    bool headers_ok = e.header_lines.size() == r->header_lines.size() &&
                      std::all_of(pair.begin(), pair.end(), [](const auto& p) { return p.has_value(); });
    if (!r->complete) {
        v.problem = "incomplete";
    } else if (!matches(e.status_line, r->status_line.bytes)) {
        v.problem = "status line differs";
    } else if (!headers_ok) {
        v.problem = "header block differs";
    } else if (!matches(e.blank_line, r->blank_line.bytes)) {
        v.problem = "header block ends differently";
    } else if (!matches(shown_body(e, strict), shown_body(*r, strict).bytes)) {
        v.problem = strict || e.framing != body_framing::chunked ? "body differs" : "body differs (chunk framing removed)";
    }
    return v;
}

std::string render_diff(const std::vector<shown_line>& expected, const std::vector<shown_line>& received,
                        std::string_view title) {
    std::vector<std::string> a, b;
    for (const auto& l : expected) a.push_back(show(l));
    for (const auto& l : received) b.push_back(show(l));
    return unified_diff(a, b, [&](std::size_t i, std::size_t j) { return same_line(expected[i], received[j]); },
                        title, "received");
}

turn_outcome compare_http(const turn_spec& spec, std::string_view received, bool eof, std::string_view title) {
    turn_outcome out;
    split_result exp = split_responses(spec.expected, spec.methods, spec.first_request, true);
    pattern got{std::string(received)};
    split_result rec = split_responses(got, spec.methods, spec.first_request, eof, exp.responses.size());
    out.responses_expected = exp.responses.size();
    out.responses_received = rec.responses.size();
    if (out.responses_received > 0 && !rec.responses.back().complete) --out.responses_received;
    out.consumed = rec.consumed;
    out.requests_answered = rec.requests_answered;

    std::vector<shown_line> expected_lines, received_lines;
    for (std::size_t i = 0; i < exp.responses.size(); ++i) {
        const http_response* r = i < rec.responses.size() ? &rec.responses[i] : nullptr;
        response_verdict v = compare_response(exp.responses[i], r, spec.strict);
        expected_lines.insert(expected_lines.end(), v.expected_lines.begin(), v.expected_lines.end());
        received_lines.insert(received_lines.end(), v.received_lines.begin(), v.received_lines.end());
        if (v.problem.empty() || !out.message.empty()) continue;
        if (v.problem == "missing" || v.problem == "incomplete") {
            out.incomplete = true;
            out.message = fmt::format("response {} of {} has not arrived in full", i + 1, exp.responses.size());
        } else {
            out.message = fmt::format("response {}: {}", i + 1, v.problem);
        }
    }
    // Whatever came beyond the expected responses (or did not split into responses at all).
    std::size_t shown_to = rec.responses.empty() ? 0 : rec.responses.back().end;
    add_lines(received_lines, got.slice(shown_to, got.bytes.size()));
    if (spec.close_follows) expected_lines.push_back({{}, true});
    if (eof) received_lines.push_back({{}, true});
    out.ok = out.message.empty();
    out.diff = render_diff(expected_lines, received_lines, title);
    return out;
}

turn_outcome compare_raw(const turn_spec& spec, std::string_view received, bool eof, std::string_view title) {
    turn_outcome out;
    auto end = match_prefix(spec.expected, received);
    if (end && matches(spec.expected, received.substr(0, *end))) {
        out.ok = true;
        out.consumed = *end;
    } else {
        out.consumed = received.size();
        out.incomplete = could_still_match(spec.expected, received);
        out.message = out.incomplete ? "the expected bytes have not arrived in full" : "the bytes differ";
    }
    std::vector<shown_line> expected_lines, received_lines;
    add_lines(expected_lines, spec.expected);
    add_lines(received_lines, pattern(std::string(received)));
    if (spec.close_follows) expected_lines.push_back({{}, true});
    if (eof) received_lines.push_back({{}, true});
    out.diff = render_diff(expected_lines, received_lines, title);
    return out;
}

}  // namespace

bool turn_settled(const turn_spec& spec, std::string_view received, bool eof) {
    if (eof) return true;
    if (spec.proto == protocol_kind::raw) {
        return match_prefix(spec.expected, received).has_value() || !could_still_match(spec.expected, received);
    }
    split_result exp = split_responses(spec.expected, spec.methods, spec.first_request, true);
    split_result rec = split_responses(pattern(std::string(received)), spec.methods, spec.first_request, false,
                                       exp.responses.size());
    std::size_t complete = 0;
    for (std::size_t i = 0; i < rec.responses.size() && rec.responses[i].complete; ++i) {
        ++complete;
        // A complete response that already differs settles the turn: no need to wait for the rest.
        if (!compare_response(exp.responses[i], &rec.responses[i], spec.strict).problem.empty()) return true;
    }
    return complete >= exp.responses.size();
}

turn_outcome compare_turn(const turn_spec& spec, std::string_view received, bool eof, std::string_view diff_title) {
    return spec.proto == protocol_kind::raw ? compare_raw(spec, received, eof, diff_title)
                                       : compare_http(spec, received, eof, diff_title);
}

}  // namespace medusa::transcript
