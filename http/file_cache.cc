#include "http/file_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <utility>

#include "http/mime.h"

namespace medusa::http {

namespace {

// Read a small file whole. False on a read error or a file shorter than `size`.
bool read_all(int fd, size_t size, std::string& out) {
    out.resize(size);
    size_t got = 0;
    while (got < size) {
        ssize_t n = ::read(fd, out.data() + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += size_t(n);
    }
    return got == size;
}

// The same file, unchanged: what a revalidating stat compares against the entry's.
bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mode == b.st_mode && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
           a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
           a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

cached_file::~cached_file() {
    if (fd >= 0) ::close(fd);
}

file_cache::file_cache(std::shared_ptr<os_filesystem> filesystem)
    : filesystem_(std::move(filesystem)), generation_(filesystem_->generation()) {}

file_cache::file_ptr file_cache::open_file(std::string_view path) const {
    auto f = std::make_shared<cached_file>();
    // O_NONBLOCK: a FIFO in the docroot must not block the loop in open() until a writer comes
    // (it is then refused as not a regular file); on regular files Linux ignores the flag for
    // read(2) and sendfile(2), so serving is unchanged (nginx opens its files the same way).
    // O_NOCTTY: a terminal device in the docroot never becomes our controlling terminal.
    int fd = filesystem_->open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        // Refused (outside the root) or not readable: only a stat tells which. A directory we
        // may search but not list still counts as a directory.
        if (errno != EACCES) return nullptr;
        auto st = filesystem_->stat(path);
        if (!st) return nullptr;
        f->st = *st;
        return f;
    }
    if (::fstat(fd, &f->st) != 0) {
        ::close(fd);
        return nullptr;
    }
    if (!f->is_regular()) {
        ::close(fd);
        return f;
    }
    format_http_date(f->st.st_mtime, f->last_modified);
    f->content_type = content_type_for(path);
    char length[24];
    auto length_end = std::to_chars(length, length + sizeof length, uint64_t(f->st.st_size)).ptr;
    f->reply_headers.add("Last-Modified", std::string_view(f->last_modified, http_date_size));
    f->reply_headers.add("Content-Length", std::string_view(length, size_t(length_end - length)));
    f->reply_headers.add("Content-Type", f->content_type);
    if (uint64_t(f->st.st_size) <= small_file_size) {
        f->has_body = read_all(fd, size_t(f->st.st_size), f->body);
        f->short_read = !f->has_body;
        ::close(fd);
    } else {
        f->fd = fd;
    }
    return f;
}

file_cache::file_ptr file_cache::lookup(std::string_view path,
                                        std::chrono::steady_clock::time_point now) {
    if (!enabled) {
        misses.increment();
        return open_file(path);
    }
    // Something was written through the filesystem since we last looked: trust nothing kept.
    if (uint64_t g = filesystem_->generation(); g != generation_) {
        clear();
        generation_ = g;
    }
    if (auto* found = index_.find(path)) {
        auto it = *found;
        lru_.splice(lru_.begin(), lru_, it);  // most recently used
        if (now - it->checked < max_age) {
            hits.increment();
            return it->file;
        }
        auto st = filesystem_->stat(path);
        if (st && same_file(*st, it->file->st)) {
            it->checked = now;
            revalidations.increment();
            return it->file;
        }
        erase(it);
    }
    misses.increment();
    file_ptr f = open_file(path);
    // Kept: directories, and regular files we could read whole or hold open.
    if (f && (f->is_dir() || (f->is_regular() && f->readable()))) insert(path, f, now);
    return f;
}

void file_cache::insert(std::string_view path, file_ptr file,
                        std::chrono::steady_clock::time_point now) {
    if (max_entries == 0) return;
    if (file->fd >= 0 && max_descriptors == 0) return;
    if (file->body.size() > max_bytes) return;
    bytes_ += file->body.size();
    if (file->fd >= 0) ++descriptors_;
    lru_.push_front(node{std::string(path), std::move(file), now});
    index_.set(lru_.front().path, lru_.begin());
    evict();
}

void file_cache::erase(lru_list::iterator it) {
    bytes_ -= it->file->body.size();
    if (it->file->fd >= 0) --descriptors_;
    index_.erase(it->path);
    lru_.erase(it);
}

void file_cache::evict() {
    // From the least recently used end until every bound holds. The entry just inserted is at
    // the front and fits each bound alone, so it stays.
    while (!lru_.empty() && (index_.size() > max_entries || bytes_ > max_bytes))
        erase(std::prev(lru_.end()));
    // Too many descriptors held: drop the least recently used entries that hold one.
    for (auto it = lru_.end(); descriptors_ > max_descriptors && it != lru_.begin();) {
        auto victim = std::prev(it);
        if (victim->file->fd >= 0)
            erase(victim);  // `it` stays valid: list iterators survive erasing others
        else
            it = victim;
    }
}

void file_cache::invalidate(std::string_view path) {
    if (auto* found = index_.find(path)) erase(*found);
}

void file_cache::clear() {
    index_.clear();
    lru_.clear();
    bytes_ = 0;
    descriptors_ = 0;
}

}  // namespace medusa::http
