#include "http/posix_regex.h"

#include <fmt/format.h>

#include <stdexcept>

namespace medusa::http {

posix_regex::posix_regex(const std::string& pattern, bool ignore_case) {
    // Anchor both ends; the outer group is number 1, so the pattern's own groups start at 2.
    std::string anchored = "^(" + pattern + ")$";
    int rc = regcomp(&re_, anchored.c_str(), REG_EXTENDED | (ignore_case ? REG_ICASE : 0));
    if (rc != 0) {
        char why[256];
        regerror(rc, &re_, why, sizeof why);
        throw std::invalid_argument(fmt::format("bad pattern '{}': {}", pattern, why));
    }
    groups_ = re_.re_nsub;
}

posix_regex::~posix_regex() { regfree(&re_); }

std::optional<std::vector<std::string>> posix_regex::full_match(std::string_view s) const {
    if (s.find('\0') != std::string_view::npos) return std::nullopt;
    std::string text(s);
    std::vector<regmatch_t> m(groups_ + 1);
    if (regexec(&re_, text.c_str(), m.size(), m.data(), 0) != 0) return std::nullopt;
    std::vector<std::string> out;
    for (size_t i = 2; i < m.size(); ++i) {
        if (m[i].rm_so < 0) {
            out.emplace_back();
        } else {
            out.push_back(text.substr(size_t(m[i].rm_so), size_t(m[i].rm_eo - m[i].rm_so)));
        }
    }
    return out;
}

}  // namespace medusa::http
