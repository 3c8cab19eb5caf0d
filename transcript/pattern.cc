#include "transcript/pattern.h"

#include <algorithm>

namespace medusa::transcript {

namespace {

bool is_line_end(char c) { return c == '\r' || c == '\n'; }

std::size_t find_line_end(std::string_view s, std::size_t from) {
    while (from < s.size() && !is_line_end(s[from])) ++from;
    return from;
}

// The literal pieces of one segment p.bytes[begin, end): a segment with n globs has n + 1 pieces
// (some possibly empty). `glob` is the index of the first glob not yet used; it moves past the
// globs of this segment (those at offsets begin..end).
std::vector<std::string_view> segment_pieces(const pattern& p, std::size_t begin, std::size_t end,
                                             std::size_t& glob) {
    std::vector<std::string_view> pieces;
    std::string_view bytes(p.bytes);
    std::size_t at = begin;
    while (glob < p.globs.size() && p.globs[glob] <= end) {
        std::size_t g = std::max(p.globs[glob], begin);
        pieces.push_back(bytes.substr(at, g - at));
        at = g;
        ++glob;
    }
    pieces.push_back(bytes.substr(at, end - at));
    return pieces;
}

// Inside one segment globs match anything, so the classic argument holds: the first piece anchors
// the start, the last piece the end, and each middle piece is best placed at its leftmost spot.
bool segment_matches(const std::vector<std::string_view>& pieces, std::string_view data) {
    if (pieces.size() == 1) return data == pieces[0];
    std::string_view first = pieces.front(), last = pieces.back();
    if (data.size() < first.size() + last.size()) return false;
    if (!data.starts_with(first) || !data.ends_with(last)) return false;
    std::size_t at = first.size(), limit = data.size() - last.size();
    for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
        std::string_view window = data.substr(at, limit - at);
        std::size_t found = window.find(pieces[i]);
        if (found == std::string_view::npos) return false;
        at += found + pieces[i].size();
    }
    return true;
}

// Whether `data`, the start of a segment, can grow into a match: after the first piece a glob can
// absorb whatever follows.
bool segment_viable(const std::vector<std::string_view>& pieces, std::string_view data) {
    std::string_view first = pieces.front();
    if (data.size() <= first.size()) return first.starts_with(data);
    return pieces.size() > 1 && data.starts_with(first);
}

}  // namespace

bool pattern::has_glob_in(std::size_t begin, std::size_t end) const {
    auto it = std::lower_bound(globs.begin(), globs.end(), begin);
    return it != globs.end() && *it <= end;
}

pattern pattern::slice(std::size_t begin, std::size_t end) const {
    pattern out;
    out.bytes = bytes.substr(begin, end - begin);
    for (std::size_t g : globs) {
        if ((g >= begin && g < end) || (g == end && end == bytes.size())) out.globs.push_back(g - begin);
    }
    return out;
}

void pattern::append(const pattern& other) {
    for (std::size_t g : other.globs) globs.push_back(bytes.size() + g);
    bytes += other.bytes;
}

bool matches(const pattern& p, std::string_view data) {
    std::string_view bytes(p.bytes);
    std::size_t pi = 0, di = 0, glob = 0;
    for (;;) {
        std::size_t ps = find_line_end(bytes, pi), ds = find_line_end(data, di);
        if (!segment_matches(segment_pieces(p, pi, ps, glob), data.substr(di, ds - di))) return false;
        if (ps == bytes.size() || ds == data.size()) return ps == bytes.size() && ds == data.size();
        if (bytes[ps] != data[ds]) return false;
        pi = ps + 1;
        di = ds + 1;
    }
}

bool could_still_match(const pattern& p, std::string_view data) {
    std::string_view bytes(p.bytes);
    std::size_t pi = 0, di = 0, glob = 0;
    for (;;) {
        std::size_t ps = find_line_end(bytes, pi), ds = find_line_end(data, di);
        auto pieces = segment_pieces(p, pi, ps, glob);
        if (ds == data.size()) return segment_viable(pieces, data.substr(di));
        if (!segment_matches(pieces, data.substr(di, ds - di))) return false;
        if (ps == bytes.size() || bytes[ps] != data[ds]) return false;
        pi = ps + 1;
        di = ds + 1;
    }
}

std::optional<std::size_t> match_prefix(const pattern& p, std::string_view data) {
    std::string_view bytes(p.bytes);
    std::size_t pi = 0, di = 0, glob = 0;
    for (;;) {
        std::size_t ps = find_line_end(bytes, pi), ds = find_line_end(data, di);
        auto pieces = segment_pieces(p, pi, ps, glob);
        if (ps == bytes.size()) {
            // The pattern's last segment: it may end in the middle of a data line.
            std::string_view seg = data.substr(di, ds - di);
            if (pieces.size() == 1) {
                if (!seg.starts_with(pieces[0])) return std::nullopt;
                return di + pieces[0].size();
            }
            if (!seg.starts_with(pieces.front())) return std::nullopt;
            std::size_t at = pieces.front().size();
            for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
                std::size_t found = seg.find(pieces[i], at);
                if (found == std::string_view::npos) return std::nullopt;
                at = found + pieces[i].size();
            }
            if (pieces.back().empty()) {
                // A trailing glob takes the rest of the line, known only once the line has ended.
                if (ds == data.size()) return std::nullopt;
                return ds;
            }
            std::size_t found = seg.find(pieces.back(), at);
            if (found == std::string_view::npos) return std::nullopt;
            return di + found + pieces.back().size();
        }
        if (ds == data.size()) return std::nullopt;
        if (!segment_matches(pieces, data.substr(di, ds - di)) || bytes[ps] != data[ds]) {
            return std::nullopt;
        }
        pi = ps + 1;
        di = ds + 1;
    }
}

std::vector<pattern> split_lines(const pattern& p, std::size_t wrap) {
    std::vector<pattern> lines;
    if (p.bytes.empty()) {
        if (!p.empty()) lines.push_back(p);
        return lines;
    }
    std::size_t begin = 0;
    for (std::size_t i = 0; i < p.bytes.size(); ++i) {
        if (p.bytes[i] == '\n' || i + 1 - begin >= wrap) {
            lines.push_back(p.slice(begin, i + 1));
            begin = i + 1;
        }
    }
    if (begin < p.bytes.size()) lines.push_back(p.slice(begin, p.bytes.size()));
    return lines;
}

}  // namespace medusa::transcript
