#include "transcript/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace medusa::transcript {

namespace {

enum class op : char { same = ' ', del = '-', add = '+' };

struct edit {
    op kind;
    std::size_t a, b;  // line indices (a for same/del, b for same/add)
};

// A longest-common-subsequence table over the lines between the common prefix and suffix. Replies
// differ in a few lines, so the table stays small; past `limit` cells the middle is shown as
// removed-then-added instead of aligned.
std::vector<edit> edits(std::size_t n, std::size_t m, const std::function<bool(std::size_t, std::size_t)>& same) {
    std::vector<edit> out;
    std::size_t pre = 0;
    while (pre < n && pre < m && same(pre, pre)) ++pre;
    std::size_t suf = 0;
    while (suf < n - pre && suf < m - pre && same(n - 1 - suf, m - 1 - suf)) ++suf;
    for (std::size_t i = 0; i < pre; ++i) out.push_back({op::same, i, i});
    std::size_t an = n - pre - suf, bm = m - pre - suf;
    constexpr std::size_t limit = 4'000'000;
    if (an * bm > limit) {
        for (std::size_t i = 0; i < an; ++i) out.push_back({op::del, pre + i, 0});
        for (std::size_t j = 0; j < bm; ++j) out.push_back({op::add, 0, pre + j});
    } else {
        // len[i][j]: LCS length of a[pre+i..] and b[pre+j..].
        std::vector<std::uint32_t> len((an + 1) * (bm + 1), 0);
        auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return len[i * (bm + 1) + j]; };
        for (std::size_t i = an; i-- > 0;) {
            for (std::size_t j = bm; j-- > 0;) {
                at(i, j) = same(pre + i, pre + j) ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
            }
        }
        std::size_t i = 0, j = 0;
        while (i < an || j < bm) {
            if (i < an && j < bm && same(pre + i, pre + j)) {
                out.push_back({op::same, pre + i++, pre + j++});
            } else if (j < bm && (i == an || at(i, j + 1) > at(i + 1, j))) {
                out.push_back({op::add, 0, pre + j++});
            } else {
                out.push_back({op::del, pre + i++, 0});
            }
        }
    }
    for (std::size_t k = 0; k < suf; ++k) out.push_back({op::same, n - suf + k, m - suf + k});
    return out;
}

}  // namespace

std::string unified_diff(const std::vector<std::string>& a, const std::vector<std::string>& b,
                         const std::function<bool(std::size_t, std::size_t)>& same,
                         std::string_view a_name, std::string_view b_name, std::size_t context) {
    std::vector<edit> e = edits(a.size(), b.size(), same);
    if (std::all_of(e.begin(), e.end(), [](const edit& x) { return x.kind == op::same; })) return "";

    std::string out = fmt::format("--- {}\n+++ {}\n", a_name, b_name);
    std::size_t k = 0;
    while (k < e.size()) {
        // Find the next change, then grow the hunk while changes are within 2 * context lines.
        while (k < e.size() && e[k].kind == op::same) ++k;
        if (k == e.size()) break;
        std::size_t begin = k >= context ? k - context : 0;
        std::size_t end = k;
        for (std::size_t gap = 0; end < e.size(); ++end) {
            gap = e[end].kind == op::same ? gap + 1 : 0;
            if (gap > 2 * context) {
                end = end + 1 - gap + context;  // keep `context` unchanged lines after the change
                break;
            }
        }
        end = std::min(end, e.size());
        if (end == e.size()) {
            std::size_t trailing = 0;
            while (trailing < end - k && e[end - 1 - trailing].kind == op::same) ++trailing;
            if (trailing > context) end -= trailing - context;
        }
        // Line numbers (1-based) and counts for the hunk header.
        std::size_t a_start = 0, b_start = 0, a_count = 0, b_count = 0;
        bool a_set = false, b_set = false;
        for (std::size_t x = begin; x < end; ++x) {
            if (e[x].kind != op::add) {
                if (!a_set) a_start = e[x].a, a_set = true;
                ++a_count;
            }
            if (e[x].kind != op::del) {
                if (!b_set) b_start = e[x].b, b_set = true;
                ++b_count;
            }
        }
        // An empty side is numbered by the line before it, as diff -u does.
        if (!a_set) {
            for (std::size_t x = begin; x-- > 0;) {
                if (e[x].kind != op::add) { a_start = e[x].a + 1; break; }
            }
        } else {
            ++a_start;
        }
        if (!b_set) {
            for (std::size_t x = begin; x-- > 0;) {
                if (e[x].kind != op::del) { b_start = e[x].b + 1; break; }
            }
        } else {
            ++b_start;
        }
        out += fmt::format("@@ -{},{} +{},{} @@\n", a_start, a_count, b_start, b_count);
        for (std::size_t x = begin; x < end; ++x) {
            const std::string& text = e[x].kind == op::add ? b[e[x].b] : a[e[x].a];
            out += static_cast<char>(e[x].kind);
            out += text;
            out += '\n';
        }
        k = end;
    }
    return out;
}

}  // namespace medusa::transcript
