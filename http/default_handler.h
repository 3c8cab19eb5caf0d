// default_handler: serves files from a filesystem (medusa's default_handler.py).
//
// It matches every request, so install it first (handlers installed later go in front of it).
//   - GET and HEAD only (case-sensitive); any other method is 400, as medusa (QUIRKS row 6).
//   - The path is the URI's path, percent-decoded once (row 11), with query, ;params and
//     #fragment ignored and leading slashes stripped; the filesystem keeps it inside its root.
//   - A directory without a trailing slash is a 301 to "http://HOST/path/", HOST being the
//     request's Host header, else server_name:port (medusa left out the port: row 13). With the
//     slash, index.html then default.html is served; neither: 404 (no listings: row 14).
//   - If-Modified-Since, with medusa's "; length=N" extension (a different length means
//     modified): 304 when the file's mtime is not after the date (row 10).
//   - Last-Modified, Content-Length, and Content-Type by extension (mime.h). Files are looked up
//     through a file_cache: small ones are kept in memory and leave with the header block in one
//     writev; larger ones are sent with sendfile(2) from a descriptor kept open. A file changed
//     by another program is served stale for at most cache().max_age (1 s).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/counter.h"
#include "http/file_cache.h"
#include "http/filesys.h"
#include "http/handler.h"

namespace medusa::http {

class default_handler : public handler {
public:
    explicit default_handler(std::shared_ptr<os_filesystem> filesystem);

    // Names tried, in order, when a request names a directory.
    std::vector<std::string> directory_defaults = {"index.html", "default.html"};
    bool match(http_request&) override { return true; }
    void handle_request(std::shared_ptr<http_request> request) override;
    std::string status() override;

    os_filesystem& filesystem() { return *filesystem_; }
    // The open files and stats kept between requests (file_cache.h: how stale, how big). Files
    // up to cache().small_file_size are kept in memory and leave with the header block in one
    // writev; larger ones go by sendfile(2) from a descriptor kept open, which saves copying the
    // body twice (read into memory, then into the socket): a 16 KiB file costs less CPU by
    // sendfile, a 128 B one less from memory. bench/bare/bare_epoll makes the same cut at 8 KiB.
    file_cache& cache() { return cache_; }

    counter hit_counter;    // requests handled
    counter file_counter;   // files delivered
    counter cache_counter;  // 304 replies

private:
    std::shared_ptr<os_filesystem> filesystem_;
    file_cache cache_;
};

// medusa's IF_MODIFIED_SINCE regex, 'If-Modified-Since: ([^;]+)((; length=([0-9]+)$)|$)':
// the date part, and the length when present. nullopt when the value does not have that shape.
struct if_modified_since {
    std::string_view date;
    std::optional<uint64_t> length;
};
std::optional<if_modified_since> parse_if_modified_since(std::string_view value);

// HTML-escape &, <, >, " (for the status page's reprs).
std::string html_escape(std::string_view s);

}  // namespace medusa::http
