// posix_regex: a POSIX extended regular expression (regcomp/regexec) matched against a whole
// string, for the handlers that take a pattern from the user (medusa's put_handler and
// redirecting_handler take Python regexes; their common forms, "/upload/.*" or "/old/(.*)", are
// the same in POSIX ERE).
//
// Why not std::regex: it is slow to compile and match, and libstdc++'s instantiation trips
// -Wmaybe-uninitialized under the sanitizer build, which -Werror turns into a failed build.
#pragma once

#include <regex.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::http {

class posix_regex {
public:
    // Throws std::invalid_argument with regerror()'s text when the pattern does not compile.
    explicit posix_regex(const std::string& pattern, bool ignore_case = false);
    ~posix_regex();
    posix_regex(const posix_regex&) = delete;
    posix_regex& operator=(const posix_regex&) = delete;

    // The pattern's groups (1..n; an unmatched group is "") when it matches the whole of `s`,
    // nullopt otherwise. A string with a NUL byte never matches.
    std::optional<std::vector<std::string>> full_match(std::string_view s) const;

private:
    regex_t re_;
    size_t groups_;
};

}  // namespace medusa::http
