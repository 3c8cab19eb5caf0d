#include "http/default_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <utility>

#include "http/http_date.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/mime.h"

namespace medusa::http {

namespace {

// A path put back into a URL: bytes that cannot appear there literally are %-escaped, so a
// redirect to "a b/" is "a%20b/" and a '?' in a file name is not read as a query.
std::string quote_path(std::string_view path) {
    std::string out;
    for (unsigned char c : path) {
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("/-._~!$&'()*+,;=:@").find(char(c)) != std::string_view::npos;
        if (safe) {
            out.push_back(char(c));
        } else {
            fmt::format_to(std::back_inserter(out), "%{:02X}", unsigned(c));
        }
    }
    return out;
}

}  // namespace

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::optional<if_modified_since> parse_if_modified_since(std::string_view value) {
    if_modified_since ims;
    size_t semi = value.find(';');
    ims.date = value.substr(0, semi);
    if (ims.date.empty()) return std::nullopt;
    if (semi == std::string_view::npos) return ims;
    std::string_view rest = value.substr(semi);
    constexpr std::string_view prefix = "; length=";
    if (rest.size() <= prefix.size() || !iequals(rest.substr(0, prefix.size()), prefix))
        return std::nullopt;
    std::string_view digits = rest.substr(prefix.size());
    uint64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + uint64_t(c - '0');
    }
    // More digits than fit: a length no real file has.
    ims.length = digits.size() > 18 ? UINT64_MAX : n;
    return ims;
}

default_handler::default_handler(std::shared_ptr<os_filesystem> filesystem)
    : filesystem_(std::move(filesystem)), cache_(filesystem_) {}

void default_handler::handle_request(std::shared_ptr<http_request> request) {
    std::string_view command = request->command();
    if (command != "GET" && command != "HEAD") {
        request->error(400);
        return;
    }
    hit_counter.increment();

    // The path without its leading slashes: a view of the request's own (no copy).
    std::string_view path = request->split_uri().path;
    path.remove_prefix(std::min(path.find_first_not_of('/'), path.size()));

    // One cached lookup answers "directory, file or missing" and holds what the file is served
    // from (its bytes, or an open descriptor): a file served a moment ago costs no system call.
    // (Ages in the cache count in the loop's time of this pass: no clock read per request.)
    const auto now = request->server() ? request->server()->map().now() : medusa::clock::now();
    file_cache::file_ptr target = cache_.lookup(path, now);
    if (!target) {
        request->error(404);
        return;
    }
    if (target->is_dir()) {
        if (!path.empty() && path.back() != '/') {
            std::string host;
            if (auto h = request->get_header("Host"); h && !h->empty()) {
                host = *h;
            } else if (auto* s = request->server()) {
                host = fmt::format("{}:{}", s->server_name, s->port());
            } else {
                host = "localhost";
            }
            request->set("Location", fmt::format("http://{}/{}/", host, quote_path(path)));
            request->error(301);
            return;
        }
        file_cache::file_ptr index;
        for (const auto& name : directory_defaults) {
            std::string p(path);
            p += name;
            index = cache_.lookup(p, now);
            if (index && index->is_regular()) break;
            index.reset();
        }
        if (!index) {
            request->error(404);
            return;
        }
        target = std::move(index);
    } else if (!target->is_regular()) {
        request->error(404);
        return;
    }

    uint64_t file_length = uint64_t(target->st.st_size);
    time_t mtime = target->st.st_mtime;

    if (auto value = request->get_header("If-Modified-Since")) {
        if (auto ims = parse_if_modified_since(*value)) {
            bool length_match = !ims->length || *ims->length == file_length;
            auto ims_date = parse_http_date(ims->date);
            if (length_match && ims_date && *ims_date != 0 && mtime <= *ims_date) {
                cache_counter.increment();  // before done(): the client may see the reply first
                request->reply_code = 304;
                request->done();
                return;
            }
        }
    }

    // A file that exists but may not be read (mode 0): 404, as when the open fails.
    if (target->short_read) {
        // Shorter than its stat said (truncated meanwhile): the Content-Length would lie.
        request->error(500);
        return;
    }
    if (!target->readable()) {
        request->error(404);
        return;
    }
    // Last-Modified, Content-Length (file_length) and Content-Type (content_type_for(path)),
    // made when the file was cached.
    request->set(target->reply_headers);

    if (command == "GET") {
        if (target->has_body) {
            // Sent from the cache's copy, which the reply keeps alive (no copy of the bytes).
            request->push(std::shared_ptr<const std::string>(target, &target->body));
        } else {
            // Sent from the cache's descriptor, which the producer keeps open until done.
            int fd = target->fd;
            request->push(std::make_unique<file_producer>(std::move(target), fd, 0, file_length));
        }
    }
    file_counter.increment();
    request->done();
}

std::string default_handler::status() {
    std::string repr = fmt::format("<Default HTTP Request Handler ({} hits) at {:x}>",
                                   hit_counter.as_long(), reinterpret_cast<uintptr_t>(this));
    return fmt::format(
        "<li>{}<ul>  <li><b>Total Hits:</b> {}  <li><b>Files Delivered:</b> {}  <li><b>Cache "
        "Hits:</b> {}</ul>",
        html_escape(repr), hit_counter.as_long(), file_counter.as_long(),
        cache_counter.as_long());
}

}  // namespace medusa::http
