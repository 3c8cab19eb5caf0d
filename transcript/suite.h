// A run of many transcripts: finding them, choosing them by fixture, skipping the cases whose
// recorded behaviour the port deliberately changes, replaying in parallel, and the JUnit report.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "transcript/replay.h"

namespace medusa::transcript {

// Files stay as given; a directory gives its *.transcript files (not recursive), sorted by name.
// Throws std::system_error for a path that does not exist.
std::vector<std::string> collect_files(const std::vector<std::string>& paths);

// The expect-diff file: one case per line, "NAME<spaces or tab>reason"; '#' starts a comment line.
// Maps name to reason. Throws parse_error ("file:line: ...") on a line with no reason.
std::map<std::string, std::string> read_skip_list(const std::string& path);

struct suite_options {
    replay_options replay;
    std::vector<std::string> fixtures;          // run only these fixtures; empty: all
    std::map<std::string, std::string> skips;   // case name -> reason
    int jobs = 1;
};

// Replays every selected file. Results come back in file order, and `on_result` is called for each
// in that order as soon as it and all before it are done (so output stays in order with --jobs).
// A file that does not parse is a failed case.
std::vector<case_result> run_suite(const std::vector<std::string>& files, const suite_options& options,
                                   const std::function<void(const case_result&)>& on_result);

// A JUnit XML report (one <testsuite>; a case's fixture is its classname).
std::string junit_xml(const std::vector<case_result>& results, std::string_view suite_name);

}  // namespace medusa::transcript
