// file_cache: open files and their stat, kept between requests (lighttpd's stat cache, nginx's
// open_file_cache), so that a file served a moment ago is served again without open(), fstat(),
// read() or close(): a 128-byte reply then costs the loop one recv and one send.
//
// What an entry holds, per path looked up (keys are the paths exactly as the handler gives them):
//   - a regular file: its stat and its Last-Modified date, and either its whole content (files up
//     to small_file_size; the descriptor is closed at once) or its open descriptor (larger files,
//     sent with sendfile(2) from the shared descriptor at explicit offsets);
//   - a directory: its stat (the default handler only needs to know it is one).
// A missing path, or one that exists but may not be read, is looked up every time and not kept.
//
// How stale it may be: an entry is trusted for max_age (1 s by default) after it was last
// checked. The first lookup after that stats the path again (one call, confined to the root like
// every access of os_filesystem) and keeps the entry only if device, inode, size, mode, mtime and
// ctime are all unchanged; otherwise the path is opened afresh. A change made through the same
// os_filesystem (a PUT, an unlink, a rename: its generation()) drops every entry at once. So a
// file changed behind the server's back is served stale for at most max_age, and one changed
// through the server never is. Confinement is not weakened: only descriptors opened by the
// confined open() are ever served, and a path whose stat is refused (a link swapped to point
// outside the root) loses its entry at the next check.
//
// Bounded: at most max_entries entries and max_bytes of cached content, least recently used
// dropped first; each entry holds at most one descriptor, and at most max_descriptors entries
// hold one (so the cache never eats the process's descriptor limit).
//
// Loop thread only, like the handler that owns it: no locks.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "http/counter.h"
#include "http/filesys.h"
#include "http/header_list.h"
#include "http/http_date.h"
#include "http/path_index.h"

namespace medusa::http {

// One looked-up path. Immutable once made; shared by the cache and the replies sending it.
struct cached_file {
    struct stat st {};
    // Regular files only. Exactly one of these is set for a readable file: body when
    // has_body (small files), fd otherwise. Neither: the file exists but may not be read.
    int fd = -1;
    bool has_body = false;
    std::string body;
    // A small file that came out shorter than its stat said (truncated while being read).
    bool short_read = false;
    char last_modified[http_date_size] = {};  // format_http_date(st.st_mtime), no NUL
    // content_type_for() the path it was looked up by (a name in the static MIME table).
    std::string_view content_type;
    // Regular files: the headers a reply of the whole file carries (Last-Modified,
    // Content-Length, Content-Type, in that order), made once for every reply of it.
    header_list reply_headers;

    cached_file() = default;
    cached_file(const cached_file&) = delete;
    cached_file& operator=(const cached_file&) = delete;
    ~cached_file();

    bool is_dir() const { return S_ISDIR(st.st_mode); }
    bool is_regular() const { return S_ISREG(st.st_mode); }
    bool readable() const { return has_body || fd >= 0; }
};

class file_cache {
public:
    using file_ptr = std::shared_ptr<const cached_file>;

    explicit file_cache(std::shared_ptr<os_filesystem> filesystem);
    file_cache(const file_cache&) = delete;
    file_cache& operator=(const file_cache&) = delete;

    // Tunables; changing them affects entries made from then on (clear() to start over).
    std::chrono::milliseconds max_age{1000};
    size_t small_file_size = 8 * 1024;  // files up to this size are kept in memory
    size_t max_entries = 1024;
    uint64_t max_bytes = 16u << 20;  // of cached content
    size_t max_descriptors = 128;    // entries holding an open descriptor
    bool enabled = true;             // false: every lookup opens the path afresh

    // What `path` (relative to the filesystem's root or its wd, as os_filesystem::open takes it)
    // names: nullptr when it does not exist or is refused. `now` is what an entry's age is
    // measured against: a handler passes its loop's time of the pass (socket_map::now()), which
    // spares a clock read per request (entries then stay at most max_age plus the pass's length).
    file_ptr lookup(std::string_view path, std::chrono::steady_clock::time_point now);
    file_ptr lookup(std::string_view path) { return lookup(path, std::chrono::steady_clock::now()); }

    // Forget one path, or everything.
    void invalidate(std::string_view path);
    void clear();

    size_t size() const { return index_.size(); }
    uint64_t bytes() const { return bytes_; }
    size_t descriptors() const { return descriptors_; }
    os_filesystem& filesystem() { return *filesystem_; }

    counter hits;           // answered from an entry still within max_age
    counter revalidations;  // answered from an entry after a stat showed it unchanged
    counter misses;         // opened afresh

private:
    struct node {
        std::string path;
        file_ptr file;
        std::chrono::steady_clock::time_point checked;
    };
    using lru_list = std::list<node>;

    // The confined open and fstat (and read, for a small file) of `path`.
    file_ptr open_file(std::string_view path) const;
    void insert(std::string_view path, file_ptr file, std::chrono::steady_clock::time_point now);
    void erase(lru_list::iterator it);
    void evict();

    std::shared_ptr<os_filesystem> filesystem_;
    uint64_t generation_;
    lru_list lru_;  // most recently used first
    // Looked up by a string_view (the path as the request holds it: no copy per lookup), keyed
    // by views of the nodes' own paths.
    path_index<lru_list::iterator> index_;
    uint64_t bytes_ = 0;
    size_t descriptors_ = 0;
};

}  // namespace medusa::http
