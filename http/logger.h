// logger: where the server's log lines go (medusa's logger.py).
//
// The interface is one call, log(message). medusa's rules for line ends, kept here:
//   - file_logger writes the message as given and adds "\n" only when it does not already end in
//     "\r" or "\n" (medusa's file_logger.log). So "GET / 200\n" and "GET / 200" both become one
//     line, and a message that ends in "\r\n" is written untouched. An empty message becomes "\n"
//     (medusa would raise on it).
//   - tail_logger keeps each message with every trailing "\r" and "\n" removed (medusa's
//     strip_eol), so the status page shows bare lines, and passes the message on unchanged.
//   - unresolving_logger turns (ip, message) into "ip:message" for the logger it wraps; the
//     server's request line starts its message with the port, which gives "127.0.0.1:51234 - - [..".
//
// Loggers are called from the loop thread. A file_logger still writes each line with a single
// fwrite (and, when flushing, a single write(2) for lines that fit stdio's buffer), so lines from
// several processes appending to one file, or from a worker's printf on stdout, do not interleave
// inside a line.
//
// medusa's socket_logger and resolving_logger (which needs its DNS resolver) are not ported.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdio>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace medusa::http {

class logger {
public:
    virtual ~logger();
    virtual void log(std::string_view message) = 0;
    // False when messages go nowhere: callers may then skip formatting them.
    virtual bool enabled() const { return true; }
};

// Drops everything: for servers and tests that want no log.
class null_logger : public logger {
public:
    void log(std::string_view) override {}
    bool enabled() const override { return false; }
};

// file_logger(file, flush=true): writes to a FILE* it does not own (stdout, for the demo), or to
// a file it opens in append mode and closes when destroyed. With flush, every line is flushed at
// once, so `tail -f` sees it; without, stdio buffers (faster, but a crash loses the tail).
class file_logger : public logger {
public:
    explicit file_logger(FILE* f, bool flush = true);
    // Opens `path` for appending ("-" means stdout, as in medusa). Throws std::system_error
    // "fopen(path)" when it cannot.
    explicit file_logger(const std::string& path, bool flush = true);
    ~file_logger() override;
    file_logger(const file_logger&) = delete;
    file_logger& operator=(const file_logger&) = delete;

    void log(std::string_view message) override;
    void flush();

protected:
    // Writes `line` (already ending in a newline) in one fwrite, then maybe_flush().
    void write_line(std::string_view line);
    // Called after every line; rotating_file_logger rotates here, as medusa's does.
    virtual void maybe_flush();

    FILE* file_;
    bool owned_;
    bool do_flush_;

private:
    std::string scratch_;  // message + "\n", reused so a line costs no allocation once warm
};

// rotating_file_logger(path, freq, maxsize): a file_logger that moves its file aside and starts a
// new one, by renaming (fast: the loop never waits for a copy or a gzip):
//   - freq "daily", "weekly" or "monthly": at the first line after local midnight, after the next
//     Monday's midnight, or after the 1st of the next month's midnight;
//   - maxsize > 0: after a line that leaves the file larger than maxsize bytes.
// Both can be set; with neither the file never rotates. The old file becomes
// "PATH.endsYYYYMMDD" (today's local date), or "PATH.endsYYYYMMDD-HHMMSS" when that exists.
// If the new file cannot be opened the logger keeps writing to the renamed one: a line is never
// lost to a rotation. Throws std::invalid_argument for another freq.
class rotating_file_logger : public file_logger {
public:
    explicit rotating_file_logger(const std::string& path, std::string freq = "",
                                  off_t maxsize = 0, bool flush = true);
    // Rotate now (what the schedule and the size limit call).
    void rotate();
    const std::string& filename() const { return filename_; }

protected:
    void maybe_flush() override;

private:
    time_t next_backup() const;

    std::string filename_;
    std::string freq_;
    off_t maxsize_;
    time_t rotate_when_;  // 0: no date-based rotation
};

// multi_logger(loggers): gives every message to each logger in turn. It does not own them: each
// must outlive the multi_logger.
class multi_logger : public logger {
public:
    explicit multi_logger(std::vector<logger*> loggers = {});
    void add(logger& l);
    void log(std::string_view message) override;

private:
    std::vector<logger*> loggers_;
};

// tail_logger(inner, size=500): keeps the last `size` messages (line ends stripped) for the
// status page and passes each message on to `inner`, which must outlive it. Without an inner
// logger it only keeps them.
class tail_logger : public logger {
public:
    explicit tail_logger(logger& inner, std::size_t size = 500);
    explicit tail_logger(std::size_t size = 500);
    void log(std::string_view message) override;
    // The kept messages, oldest first.
    std::vector<std::string> messages() const;
    std::size_t size() const { return size_; }

private:
    logger* inner_;
    std::size_t size_;
    std::deque<std::string> messages_;
};

// unresolving_logger(inner): the server's logger when no DNS resolver is used. log(ip, message)
// writes "ip:message" to `inner`, which must outlive it.
class unresolving_logger {
public:
    explicit unresolving_logger(logger& inner) : inner_(&inner) {}
    void log(std::string_view ip, std::string_view message);
    logger& inner() const { return *inner_; }
    bool enabled() const { return inner_->enabled(); }

private:
    logger* inner_;
    std::string scratch_;
};

}  // namespace medusa::http
