#include "transcript/suite.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

namespace medusa::transcript {

namespace fs = std::filesystem;

namespace {

// The fixture named by a file that does not parse, so that it is reported in the right run.
std::string fixture_of_text(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("@ fixture:", 0) == 0) {
            std::string v = line.substr(10);
            v.erase(0, v.find_first_not_of(" \t"));
            v.erase(v.find_last_not_of(" \t\r") + 1);
            return v;
        }
    }
    return "docroot";
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default:
                // XML 1.0 forbids most control characters even as references.
                if (u < 0x20 && c != '\n' && c != '\t' && c != '\r') {
                    out += '?';
                } else {
                    out += c;
                }
        }
    }
    return out;
}

struct planned {
    std::string path;
    std::optional<transcript> t;  // empty when the file did not parse
    std::string error;
    std::string name, fixture;
};

case_result run_one(const planned& p, const suite_options& o) {
    case_result r;
    r.name = p.name;
    r.fixture = p.fixture;
    if (!p.t) {
        r.outcome = verdict::fail;
        r.message = p.error;
        return r;
    }
    if (auto skip = o.skips.find(p.name); skip != o.skips.end()) {
        r.outcome = verdict::skip;
        r.message = skip->second;
        return r;
    }
    return replay(*p.t, o.replay);
}

}  // namespace

std::vector<std::string> collect_files(const std::vector<std::string>& paths) {
    std::vector<std::string> files;
    for (const auto& path : paths) {
        std::error_code ec;
        auto status = fs::status(path, ec);
        if (ec || !fs::exists(status)) {
            throw std::system_error(ec ? ec : std::make_error_code(std::errc::no_such_file_or_directory),
                                    fmt::format("stat({})", path));
        }
        if (!fs::is_directory(status)) {
            files.push_back(path);
            continue;
        }
        std::vector<std::string> found;
        for (const auto& entry : fs::directory_iterator(path)) {
            if (entry.path().extension() == ".transcript" && !entry.is_directory()) found.push_back(entry.path().string());
        }
        std::sort(found.begin(), found.end());
        files.insert(files.end(), found.begin(), found.end());
    }
    return files;
}

std::map<std::string, std::string> read_skip_list(const std::string& path) {
    std::map<std::string, std::string> skips;
    std::istringstream in(read_text_file(path));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        std::size_t end = line.find_first_of(" \t", start);
        std::size_t reason = end == std::string::npos ? end : line.find_first_not_of(" \t", end);
        if (reason == std::string::npos) {
            throw parse_error(problem{path, n, "a skipped case needs a reason: \"NAME  reason\"", true});
        }
        std::string text = line.substr(reason);
        text.erase(text.find_last_not_of(" \t") + 1);
        skips[line.substr(start, end - start)] = text;
    }
    return skips;
}

std::vector<case_result> run_suite(const std::vector<std::string>& files, const suite_options& o,
                                   const std::function<void(const case_result&)>& on_result) {
    std::vector<planned> plan;
    for (const auto& path : files) {
        planned p;
        p.path = path;
        p.name = case_name(path);
        std::string text;
        try {
            text = read_text_file(path);
            p.t = parse(text, path);
            p.fixture = p.t->fixture();
        } catch (const std::exception& e) {
            p.error = e.what();
            p.fixture = fixture_of_text(text);
        }
        if (!o.fixtures.empty() &&
            std::find(o.fixtures.begin(), o.fixtures.end(), p.fixture) == o.fixtures.end()) {
            continue;
        }
        plan.push_back(std::move(p));
    }

    std::vector<case_result> results(plan.size());
    std::vector<bool> done(plan.size());
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < plan.size();) {
            case_result r = run_one(plan[i], o);
            std::lock_guard lock(mu);
            results[i] = std::move(r);
            done[i] = true;
            cv.notify_all();
        }
    };
    std::vector<std::thread> threads;
    int jobs = std::max(1, std::min<int>(o.jobs, static_cast<int>(plan.size())));
    for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
    for (std::size_t i = 0; i < plan.size(); ++i) {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done[i]; });
        case_result r = results[i];
        lock.unlock();
        if (on_result) on_result(r);
    }
    for (auto& t : threads) t.join();
    return results;
}

std::string junit_xml(const std::vector<case_result>& results, std::string_view suite_name) {
    std::size_t failures = 0, skipped = 0;
    double total = 0;
    for (const auto& r : results) {
        failures += r.outcome == verdict::fail;
        skipped += r.outcome == verdict::skip;
        total += r.elapsed.count() / 1000.0;
    }
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\">\n",
                       xml_escape(suite_name), results.size(), failures, skipped, total);
    for (const auto& r : results) {
        out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml_escape(r.fixture),
                           xml_escape(r.name), r.elapsed.count() / 1000.0);
        if (r.outcome == verdict::pass) {
            out += "/>\n";
        } else if (r.outcome == verdict::skip) {
            out += fmt::format(">\n      <skipped message=\"fixed: {}\"/>\n    </testcase>\n", xml_escape(r.message));
        } else {
            std::string summary = r.turn > 0 ? fmt::format("turn {}: {}", r.turn, r.message) : r.message;
            out += fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", xml_escape(summary),
                               xml_escape(r.diff));
        }
    }
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

}  // namespace medusa::transcript
