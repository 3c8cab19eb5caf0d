// logger: see logger.h.
#include "http/logger.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace medusa::http {

logger::~logger() = default;

// ---- file_logger ---------------------------------------------------------------------------

file_logger::file_logger(FILE* f, bool flush) : file_(f), owned_(false), do_flush_(flush) {}

file_logger::file_logger(const std::string& path, bool flush)
    : file_(nullptr), owned_(path != "-"), do_flush_(flush) {
    if (!owned_) {
        file_ = stdout;
        return;
    }
    file_ = std::fopen(path.c_str(), "ae");  // "e": O_CLOEXEC, so CGI children do not inherit it
    if (!file_) throw std::system_error(errno, std::generic_category(), fmt::format("fopen({})", path));
}

file_logger::~file_logger() {
    if (owned_ && file_) std::fclose(file_);
}

void file_logger::log(std::string_view message) {
    if (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
        write_line(message);
        return;
    }
    scratch_.assign(message);
    scratch_.push_back('\n');
    write_line(scratch_);
}

void file_logger::write_line(std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), file_);
    maybe_flush();
}

void file_logger::maybe_flush() {
    if (do_flush_) std::fflush(file_);
}

void file_logger::flush() { std::fflush(file_); }

// ---- rotating_file_logger ------------------------------------------------------------------

rotating_file_logger::rotating_file_logger(const std::string& path, std::string freq, off_t maxsize,
                                           bool flush)
    : file_logger(path, flush), filename_(path), freq_(std::move(freq)), maxsize_(maxsize) {
    if (!freq_.empty() && freq_ != "daily" && freq_ != "weekly" && freq_ != "monthly")
        throw std::invalid_argument(
            fmt::format("rotating_file_logger: freq must be daily, weekly or monthly, not \"{}\"", freq_));
    rotate_when_ = next_backup();
}

// The next local midnight the schedule rotates at: tomorrow's, next Monday's, or the 1st of next
// month's. mktime() normalises the day past the end of the month and finds the DST offset.
time_t rotating_file_logger::next_backup() const {
    if (freq_.empty()) return 0;
    const time_t now = time(nullptr);
    struct tm t;
    localtime_r(&now, &t);
    t.tm_hour = t.tm_min = t.tm_sec = 0;
    t.tm_isdst = -1;
    if (freq_ == "daily") {
        t.tm_mday += 1;
    } else if (freq_ == "weekly") {
        const int monday_based = (t.tm_wday + 6) % 7;  // medusa's weekday: Monday is 0
        t.tm_mday += 7 - monday_based;
    } else {
        t.tm_mon += 1;
        t.tm_mday = 1;
    }
    return mktime(&t);
}

void rotating_file_logger::maybe_flush() {
    // As medusa: the line is written first, then the logger decides whether to rotate, so the line
    // that crosses maxsize ends the old file.
    if (rotate_when_ != 0 && time(nullptr) > rotate_when_) {
        rotate();
        rotate_when_ = next_backup();
    } else if (maxsize_ > 0) {
        // Flush first so the size on disk counts this line (medusa stats before flushing, so its
        // file grows one line past maxsize before it notices).
        std::fflush(file_);
        struct stat st;
        if (::stat(filename_.c_str(), &st) != 0 || st.st_size > maxsize_) rotate();
    }
    if (do_flush_) std::fflush(file_);
}

void rotating_file_logger::rotate() {
    std::fflush(file_);
    if (filename_ == "-") return;  // stdout cannot be moved aside
    const time_t now = time(nullptr);
    struct tm t;
    localtime_r(&now, &t);
    std::string newname =
        fmt::format("{}.ends{:04}{:02}{:02}", filename_, t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
    if (::access(newname.c_str(), F_OK) == 0)
        newname += fmt::format("-{:02}{:02}{:02}", t.tm_hour, t.tm_min, t.tm_sec);
    // A failed rename (the file was deleted under us) still ends in a fresh file below.
    ::rename(filename_.c_str(), newname.c_str());
    FILE* fresh = std::fopen(filename_.c_str(), "ae");
    if (!fresh) return;  // keep writing to the renamed file rather than lose lines
    if (owned_) std::fclose(file_);
    file_ = fresh;
    owned_ = true;
}

// ---- multi_logger --------------------------------------------------------------------------

multi_logger::multi_logger(std::vector<logger*> loggers) : loggers_(std::move(loggers)) {}

void multi_logger::add(logger& l) { loggers_.push_back(&l); }

void multi_logger::log(std::string_view message) {
    for (logger* l : loggers_) l->log(message);
}

// ---- tail_logger ---------------------------------------------------------------------------

tail_logger::tail_logger(logger& inner, std::size_t size) : inner_(&inner), size_(size) {}

tail_logger::tail_logger(std::size_t size) : inner_(nullptr), size_(size) {}

void tail_logger::log(std::string_view message) {
    std::string_view stripped = message;
    while (!stripped.empty() && (stripped.back() == '\r' || stripped.back() == '\n'))
        stripped.remove_suffix(1);
    if (size_ > 0) {
        if (messages_.size() == size_) {
            // Reuse the oldest string's buffer for the newest message.
            std::string recycled = std::move(messages_.front());
            messages_.pop_front();
            recycled.assign(stripped);
            messages_.push_back(std::move(recycled));
        } else {
            messages_.emplace_back(stripped);
        }
    }
    if (inner_) inner_->log(message);
}

std::vector<std::string> tail_logger::messages() const {
    return std::vector<std::string>(messages_.begin(), messages_.end());
}

// ---- unresolving_logger --------------------------------------------------------------------

void unresolving_logger::log(std::string_view ip, std::string_view message) {
    scratch_.clear();
    fmt::format_to(std::back_inserter(scratch_), "{}:{}", ip, message);
    inner_->log(scratch_);
}

}  // namespace medusa::http
