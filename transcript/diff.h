// A unified diff of two line sequences, where "the same line" is decided by the caller: an expected
// line "< Date: {*}\r\n" and a received "< Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n" are the same.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::transcript {

// Returns the diff ("--- a_name", "+++ b_name", then "@@ -l,n +l,n @@" hunks whose lines start with
// ' ', '-' or '+'), or "" when every line is the same. Context lines show a's text.
std::string unified_diff(const std::vector<std::string>& a, const std::vector<std::string>& b,
                         const std::function<bool(std::size_t, std::size_t)>& same,
                         std::string_view a_name, std::string_view b_name, std::size_t context = 3);

}  // namespace medusa::transcript
