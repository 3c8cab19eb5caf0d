#include "cgi/cgi_handler.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <system_error>

#include "cgi/apply_reply.h"
#include "cgi/cgi_reply.h"
#include "cgi/child_reaper.h"
#include "cgi/header_scanner.h"
#include "cgi/pipe_channels.h"
#include "cgi/spawn.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"

namespace medusa::cgi {

using http::http_channel;
using http::http_request;

namespace {

// The script's body on its way to the client, shared by the job (which fills it from the
// stdout pipe) and the producer the channel pulls it through.
struct stream_state {
    std::string buffer;                  // read from the script, not yet taken by the channel
    bool ended = false;                  // the script's output is over (or abandoned)
    bool chunked = false;                // frame each piece as a chunk, end with last_chunk
    bool last_sent = false;
    bool close_at_end = false;           // the body came out short of its Content-Length
    std::optional<uint64_t> remaining;   // Content-Length framing: bytes the client still expects
    uint64_t produced = 0;               // bytes handed to the channel (for the NPH log line)
    std::weak_ptr<dispatcher> reader;    // the stdout pipe_reader, to resume when drained
    std::weak_ptr<http_channel> channel;
    std::function<void()> on_abandoned;  // the channel dropped the stream before its end

    void wake_channel() {
        if (auto ch = channel.lock()) ch->update_interest();
    }
};

// Pulls the script's body as the client takes it. ready() is false while the script has
// written nothing new: the channel then stalls on it until wake_channel().
class stream_producer : public producer {
public:
    explicit stream_producer(std::shared_ptr<stream_state> s) : s_(std::move(s)) {}
    ~stream_producer() override {
        if (!s_->ended && s_->on_abandoned) {
            auto f = std::move(s_->on_abandoned);
            s_->on_abandoned = nullptr;
            f();
        }
    }
    bool ready() const override { return !s_->buffer.empty() || s_->ended; }
    std::string more() override {
        if (!s_->buffer.empty()) {
            std::string out;
            if (s_->chunked) {
                append_chunk(out, s_->buffer);
                s_->buffer.clear();
            } else {
                out.swap(s_->buffer);
            }
            s_->produced += out.size();
            // Room again in the buffer: read the pipe again.
            if (auto r = s_->reader.lock()) r->update_interest();
            return out;
        }
        if (!s_->ended) return {};
        if (s_->chunked && !s_->last_sent) {
            s_->last_sent = true;
            s_->produced += last_chunk.size();
            return std::string(last_chunk);
        }
        if (s_->close_at_end) {
            // A body shorter than its Content-Length cannot be followed by another reply on
            // this connection: the client would read that reply as the rest of this body.
            s_->close_at_end = false;
            if (auto ch = s_->channel.lock()) ch->close();
        }
        return {};
    }

private:
    std::shared_ptr<stream_state> s_;
};

// Writes the access log line of a reply that bypasses http_request::done() (NPH) when the
// channel reaches it, that is when the reply has been handed to the socket.
class log_producer : public producer {
public:
    log_producer(std::shared_ptr<http_request> r, std::shared_ptr<stream_state> s)
        : r_(std::move(r)), s_(std::move(s)) {}
    std::string more() override {
        if (r_) {
            auto r = std::move(r_);
            r->log(s_->produced);
        }
        return {};
    }

private:
    std::shared_ptr<http_request> r_;
    std::shared_ptr<stream_state> s_;
};

bool starts_with_nph(std::string_view name) { return name.substr(0, 4) == "nph-"; }

std::string real_path(const std::string& p) {
    char buf[PATH_MAX];
    if (!::realpath(p.c_str(), buf))
        throw std::system_error(errno, std::generic_category(), fmt::format("realpath({})", p));
    return buf;
}

}  // namespace

// One running script: its pipes, its reaper, its reply. Lives in the handler's job set until the
// child has been reaped and its output is finished with.
class cgi_job : public std::enable_shared_from_this<cgi_job> {
public:
    cgi_job(cgi_handler& h, std::shared_ptr<http_request> r, std::string name)
        : handler_(&h), request_(std::move(r)), name_(std::move(name)),
          map_(&request_->channel()->map()) {
        channel_ = request_->channel();
        nph_ = starts_with_nph(name_);
    }

    void start(const spawn_options& so);
    void body_data(std::string_view data);
    void body_end();
    // The handler is going away: stop the script, let nothing call back.
    void detach();

private:
    void stdout_data(std::string_view data);
    void stdout_eof();
    void stderr_data(std::string_view data, bool eof);
    void exited(const child_exit& e);
    void on_head(const scan_result& result);
    void on_body(std::string_view data);
    void send_reply(const reply& rep, std::optional<uint64_t> content_length);
    void flush_reply();
    void local_redirect(const std::string& location);
    void channel_closed();
    void timed_out();
    void client_gone(std::string_view why);
    void stop_script();
    void close_pipes();
    void maybe_done();
    void log(std::string_view message) const;
    std::shared_ptr<stream_state> new_stream();

    cgi_handler* handler_;
    std::shared_ptr<http_request> request_;
    std::weak_ptr<http_channel> channel_;
    std::string name_;
    socket_map* map_;
    pid_t pid_ = -1;
    bool nph_ = false;

    std::shared_ptr<child_reaper> reaper_;
    std::shared_ptr<pipe_reader> out_, err_;
    std::shared_ptr<pipe_writer> in_;
    std::optional<header_scanner> scanner_;
    std::shared_ptr<stream_state> stream_;
    std::string err_line_;

    timer_id watchdog_ = 0;       // the timeout
    bool reply_started_ = false;  // something of the reply went to the channel
    bool output_over_ = false;    // stdout is finished with (end of file, or abandoned)
    bool discard_body_ = false;   // HEAD, 204, 304, 502: the script's body is read and dropped
    bool stopped_ = false;        // the script was told to stop
    bool client_paused_ = false;  // we paused the client's socket (stdin back-pressure)
    bool body_pending_ = false;   // the request body is still arriving
    bool done_pending_ = false;   // the reply is ready; request_->done() at the read's end
    bool done_ = false;
};

// The request body's consumer: hands the body to the job (which may have gone).
class body_collector : public http::collector {
public:
    explicit body_collector(std::weak_ptr<cgi_job> j) : job_(std::move(j)) {}
    void collect_incoming_data(std::string_view data) override {
        if (auto j = job_.lock()) j->body_data(data);
    }
    void found_terminator() override {
        if (auto j = job_.lock()) j->body_end();
    }

private:
    std::weak_ptr<cgi_job> job_;
};

void cgi_job::log(std::string_view message) const {
    write_log_line(fmt::format("cgi {}[{}]: {}", name_, pid_, message));
}

std::shared_ptr<stream_state> cgi_job::new_stream() {
    auto s = std::make_shared<stream_state>();
    s->reader = out_;
    s->channel = channel_;
    std::weak_ptr<cgi_job> weak = weak_from_this();
    s->on_abandoned = [weak] {
        if (auto j = weak.lock()) j->client_gone("connection closed during the reply");
    };
    return s;
}

void cgi_job::start(const spawn_options& so) {
    child_process c = spawn(so);  // throws: the handler answers 500
    pid_ = c.pid;
    handler_->scripts_started.increment();
    std::weak_ptr<cgi_job> weak = weak_from_this();
    socket_map& map = *map_;
    // The pipes first: if pidfd_open then fails, they are closed with the job.
    out_ = make<pipe_reader>(
        c.stdout_fd, [weak](std::string_view d) { if (auto j = weak.lock()) j->stdout_data(d); },
        [weak] { if (auto j = weak.lock()) j->stdout_eof(); }, map);
    out_->set_flush([weak] {
        if (auto j = weak.lock()) j->flush_reply();
    });
    err_ = make<pipe_reader>(
        c.stderr_fd, [weak](std::string_view d) { if (auto j = weak.lock()) j->stderr_data(d, false); },
        [weak] { if (auto j = weak.lock()) j->stderr_data({}, true); }, map);
    if (c.stdin_fd >= 0) in_ = make<pipe_writer>(c.stdin_fd, map);
    reaper_ = child_reaper::start(
        c.pid, [weak](const child_exit& e) { if (auto j = weak.lock()) j->exited(e); }, map);

    if (in_) in_->set_handlers(
        [weak] {
            // The script has read everything given so far: let the client send more.
            auto j = weak.lock();
            if (!j || !j->client_paused_) return;
            j->client_paused_ = false;
            if (auto ch = j->channel_.lock(); ch && !ch->closed()) ch->resume_reading();
        },
        [weak] {
            auto j = weak.lock();
            if (!j || !j->client_paused_) return;
            j->client_paused_ = false;
            if (auto ch = j->channel_.lock(); ch && !ch->closed()) ch->resume_reading();
        });
    body_pending_ = request_->has_body();
    if (body_pending_) {
        request_->set_collector(std::make_shared<body_collector>(weak));
    } else if (in_) {
        in_->finish();
    }

    // Output: bounded by the stream buffer (what waits for the client) once the reply is under
    // way; by the scanner's header limit before.
    size_t limit = handler_->options_.stdout_buffer;
    out_->set_gate([weak, limit] {
        auto j = weak.lock();
        if (!j || !j->stream_) return true;
        return j->stream_->buffer.size() < limit;
    });

    if (nph_) {
        // Non-parsed header: the script's bytes are the reply. They go to the channel directly,
        // in order behind whatever is queued, and the connection closes after them.
        stream_ = new_stream();
        reply_started_ = true;
        if (auto ch = channel_.lock()) {
            ch->push_with_producer(std::make_unique<stream_producer>(stream_));
            ch->push_with_producer(std::make_unique<log_producer>(request_, stream_));
            ch->close_when_done();
        }
    } else {
        header_scanner::limits lim;
        lim.max_header_bytes = handler_->options_.max_header_bytes;
        scanner_.emplace([this](const scan_result& r) { on_head(r); },
                         [this](std::string_view d) { on_body(d); }, lim);
    }

    // The client leaving (its channel closes before the reply is out) stops the script now;
    // the channel watches its socket for that even while it waits for this reply.
    request_->on_close([weak] {
        if (auto j = weak.lock()) j->channel_closed();
    });
    watchdog_ = map.call_later(handler_->options_.timeout, [weak] {
        if (auto j = weak.lock()) {
            j->watchdog_ = 0;
            j->timed_out();
        }
    });
}

// --- the request body -> stdin ---------------------------------------------------------------

void cgi_job::body_data(std::string_view data) {
    if (!in_ || in_->closed() || in_->failed()) return;  // the script stopped reading: drop
    in_->write(data);
    if (!client_paused_ && in_->queued() > handler_->options_.stdin_buffer) {
        if (auto ch = channel_.lock(); ch && !ch->closed()) {
            ch->pause_reading();
            client_paused_ = true;
        }
    }
}

void cgi_job::body_end() {
    body_pending_ = false;
    if (in_) in_->finish();
}

// --- stdout -> scanner -> reply --------------------------------------------------------------

void cgi_job::stdout_data(std::string_view data) {
    if (output_over_) return;
    if (nph_) {
        on_body(data);
        return;
    }
    auto keep = shared_from_this();
    scanner_->feed(data);
}

void cgi_job::stdout_eof() {
    if (output_over_) return;
    auto keep = shared_from_this();
    if (scanner_) scanner_->finish();  // may report the head (502, local redirect) now
    output_over_ = true;
    if (stream_) {
        stream_->ended = true;
        if (stream_->remaining && *stream_->remaining > 0) stream_->close_at_end = true;
        stream_->wake_channel();
    }
    flush_reply();
    maybe_done();
}

void cgi_job::on_head(const scan_result& result) {
    auto ch = channel_.lock();
    if (!ch || ch->closed()) return;
    if (result.kind == reply_kind::local_redirect) {
        const std::string* location = result.header("Location");
        local_redirect(location ? *location : std::string("/"));
        return;
    }
    if (result.kind == reply_kind::bad_gateway) {
        handler_->bad_gateway.increment();
        log(fmt::format("502: {}", describe(result.error)));
    }
    request_info info;
    info.version = request_->version();
    info.head = request_->command() == "HEAD";
    http::connection_tokens tokens;
    for (size_t i = 0; i < request_->head().field_count(); ++i) {
        auto f = request_->head().field(i);
        if (http::iequals(f.name, "Connection")) http::parse_connection(f.value, tokens);
    }
    info.keep_alive = request_->version_kind() == http::http_version::http11
                          ? !tokens.close
                          : request_->version_kind() == http::http_version::http10 &&
                                tokens.keep_alive && !tokens.close;
    std::string server(request_->get("Server").value_or(""));
    std::string date(request_->get("Date").value_or(""));
    info.server = server;
    info.date = date;
    send_reply(build_reply(result, info), result.content_length);
}

void cgi_job::send_reply(const reply& rep, std::optional<uint64_t> content_length) {
    apply_reply(*request_, rep);
    if (!rep.page.empty()) request_->push(rep.page);
    if (rep.pass_body) {
        stream_ = new_stream();
        stream_->chunked = rep.chunked;
        if (!rep.chunked && rep.keep_alive && content_length) stream_->remaining = *content_length;
        // The stream goes into the reply in flush_reply().
    } else {
        discard_body_ = true;
    }
    reply_started_ = true;
    // done() (which sends the head at once) waits for the end of this read event: the body
    // bytes read with the head, and the end of a short script's output, go out with it.
    done_pending_ = true;
    out_->update_interest();
}

void cgi_job::flush_reply() {
    if (!done_pending_) return;
    done_pending_ = false;
    if (stream_) {
        // What the script has written so far joins the head as a string, so that done() sends
        // both in one segment (a short script: the whole reply); the rest, if the output is not
        // over, follows through the stream producer.
        if (!stream_->buffer.empty()) {
            std::string first;
            if (stream_->chunked) {
                append_chunk(first, stream_->buffer);
                stream_->buffer.clear();
            } else {
                first.swap(stream_->buffer);
            }
            request_->push(std::move(first));
        }
        const bool complete = stream_->ended && !stream_->close_at_end;
        if (complete && stream_->chunked) {
            stream_->last_sent = true;
            request_->push(last_chunk);
        }
        if (!complete) request_->push(std::make_unique<stream_producer>(stream_));
    }
    // Also while the body is still arriving: the channel goes on feeding it to the script, and
    // a reply that closes the connection closes it only after the body's end.
    request_->done();
}

void cgi_job::on_body(std::string_view data) {
    if (discard_body_ || !stream_ || stream_->ended) return;
    if (stream_->remaining) {
        // Content-Length framing: what the script writes past its own length would be read
        // by the client as the start of the next reply.
        if (*stream_->remaining == 0) return;
        if (data.size() > *stream_->remaining) data = data.substr(0, size_t(*stream_->remaining));
        *stream_->remaining -= data.size();
    }
    bool was_empty = stream_->buffer.empty();
    stream_->buffer.append(data);
    if (was_empty) stream_->wake_channel();
}

void cgi_job::local_redirect(const std::string& location) {
    auto ch = channel_.lock();
    if (!ch || ch->closed()) return;
    reply_started_ = true;
    const int max = handler_->options_.max_internal_redirects;
    if (request_->internal_redirects() >= max) {
        log(fmt::format("local redirect to {}: more than {} deep", location, max));
        request_->error(500);
        return;
    }
    // The new request: the same version and headers (so the same keep-alive decision), without
    // those that describe a body (it has none).
    std::string method = request_->command() == "HEAD" ? "HEAD" : "GET";
    std::string text = request_->version().empty()
                           ? fmt::format("{} {} HTTP/1.0\r\n", method, location)
                           : fmt::format("{} {} HTTP/{}\r\n", method, location, request_->version());
    for (size_t i = 0; i < request_->head().field_count(); ++i) {
        auto f = request_->head().field(i);
        if (http::iequals(f.name, "Content-Length") || http::iequals(f.name, "Content-Type") ||
            http::iequals(f.name, "Transfer-Encoding") || http::iequals(f.name, "Expect"))
            continue;
        text.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    text.append("\r\n");
    http::request_parser parser(ch->server().limits);
    parser.feed(text);
    if (parser.state() != http::request_parser::status::complete) {
        log(fmt::format("local redirect to {}: not a valid request target", location));
        request_->error(500);
        return;
    }
    // Served on the same connection in this request's place: the reply goes out in order, and
    // the connection stays open if this request's would have.
    if (!ch->redispatch(request_, parser.take())) {
        log(fmt::format("local redirect to {}: the connection cannot serve it", location));
        ch->close();
    }
}

// --- stderr, exit, time ----------------------------------------------------------------------

void cgi_job::stderr_data(std::string_view data, bool eof) {
    constexpr size_t max_line = 4096;  // a longer line is logged in pieces
    err_line_.append(data);
    size_t start = 0;
    for (;;) {
        size_t nl = err_line_.find('\n', start);
        if (nl == std::string::npos) {
            if (err_line_.size() - start >= max_line) {
                log(std::string_view(err_line_).substr(start, max_line));
                start += max_line;
                continue;
            }
            break;
        }
        std::string_view line = std::string_view(err_line_).substr(start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        log(line);
        start = nl + 1;
    }
    err_line_.erase(0, start);
    if (eof && !err_line_.empty()) {
        log(err_line_);
        err_line_.clear();
    }
}

void cgi_job::exited(const child_exit& e) {
    auto keep = shared_from_this();
    if (!e.success()) log(e.describe());
    // A script that failed before its header block: read what is left in the pipe and end the
    // output now, even if something it started still holds the pipe open (the 502 comes now).
    if (!e.success() && !output_over_ && scanner_ && !scanner_->head_sent() && out_) {
        out_->drain();
        if (!output_over_) {
            stdout_eof();
            out_->detach();
            out_->close();
        }
    }
    maybe_done();
}

void cgi_job::channel_closed() {
    if (done_ || stopped_) return;
    auto keep = shared_from_this();
    if (!output_over_) {
        client_gone("client closed the connection");
    } else if (reaper_ && !reaper_->reaped()) {
        // The output is over (a short Content-Length closed the connection, or a local redirect
        // took over): nothing the script still does can reach anyone.
        stop_script();
    }
}

void cgi_job::timed_out() {
    if (done_ || stopped_) return;
    auto keep = shared_from_this();
    auto ch = channel_.lock();
    handler_->timeouts.increment();
    log(fmt::format("running longer than {} ms: stopping it", handler_->options_.timeout.count()));
    stop_script();
    if (!reply_started_) {
        request_->take_collector();
        request_->error(504);
    } else if (nph_ && stream_ && stream_->produced == 0 && stream_->buffer.empty()) {
        stream_->buffer = fmt::format(
            "HTTP/1.0 504 Gateway Time-out\r\nContent-Type: text/html\r\nConnection: close\r\n"
            "\r\n{}",
            http_request::error_page(504));
    } else if (!output_over_ && ch && !ch->closed()) {
        // The head has gone out and the body is not over: the reply cannot end properly.
        ch->close();
    }
    close_pipes();
    maybe_done();
}

void cgi_job::client_gone(std::string_view why) {
    if (stopped_ || done_) return;
    handler_->disconnects.increment();
    log(fmt::format("{}: stopping the script", why));
    stop_script();
    close_pipes();
    maybe_done();
}

void cgi_job::stop_script() {
    stopped_ = true;
    if (reaper_) reaper_->terminate(handler_->options_.kill_grace);
}

void cgi_job::close_pipes() {
    // Closing stdout's read end also stops a writer we did not start (the script's own
    // children): their next write fails with EPIPE.
    if (in_) in_->close();
    if (out_ && !out_->closed()) {
        out_->detach();
        out_->close();
    }
    if (err_ && !err_->closed()) {
        err_->detach();
        err_->close();
    }
    if (!output_over_) {
        output_over_ = true;
        if (stream_) {
            stream_->ended = true;
            stream_->on_abandoned = nullptr;
            stream_->wake_channel();
        }
    }
    if (client_paused_) {
        client_paused_ = false;
        if (auto ch = channel_.lock(); ch && !ch->closed()) ch->resume_reading();
    }
}

void cgi_job::maybe_done() {
    if (done_ || !output_over_ || !reaper_ || !reaper_->reaped()) return;
    done_ = true;
    if (watchdog_) map_->cancel(watchdog_);
    watchdog_ = 0;
    if (err_ && !err_->closed()) err_->drain();
    close_pipes();
    request_.reset();
    handler_->job_done(shared_from_this());
}

void cgi_job::detach() {
    done_ = true;
    if (stream_) stream_->on_abandoned = nullptr;  // the stream may outlive the handler
    stopped_ = true;
    if (watchdog_) map_->cancel(watchdog_);
    watchdog_ = 0;
    close_pipes();
    // The reaper stays in the map (or kills and reaps when closed), without calling back.
    if (reaper_) {
        reaper_->set_exit_handler(nullptr);
        reaper_->terminate(handler_->options_.kill_grace);
    }
}

// --- the handler -----------------------------------------------------------------------------

cgi_handler::cgi_handler(cgi_options o) : options_(std::move(o)) {
    real_directory_ = real_path(options_.directory);
    null_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "open(/dev/null)");
    options_.directory = real_directory_;
    while (options_.prefix.size() > 1 && options_.prefix.back() == '/') options_.prefix.pop_back();
}

cgi_handler::~cgi_handler() {
    for (const auto& j : jobs_) j->detach();
    if (null_fd_ >= 0) ::close(null_fd_);
}

bool cgi_handler::match(http::http_request& request) {
    std::string_view path = request.split_uri().path;
    const std::string& p = options_.prefix;
    return http::path_has_prefix(path, p) && (path.size() == p.size() || path[p.size()] == '/');
}

cgi_handler::target cgi_handler::resolve(std::string_view path) const {
    target t;
    std::string_view rest = path.substr(options_.prefix.size());  // "" or "/NAME/extra"
    if (!rest.empty()) rest.remove_prefix(1);
    size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    if (slash != std::string_view::npos) t.path_info = std::string(rest.substr(slash));
    // The folder itself ("/cgi-bin", "/cgi-bin/") is a directory: no listing.
    if (name.empty() && slash == std::string_view::npos) {
        t.refuse = 403;
        return t;
    }
    if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string_view::npos) {
        t.refuse = 404;
        return t;
    }
    t.name = name;
    t.script_name = fmt::format("{}/{}", options_.prefix, name);
    std::string file = fmt::format("{}/{}", real_directory_, name);
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0) {
        t.refuse = errno == EACCES ? 403 : 404;
        return t;
    }
    const bool link = S_ISLNK(st.st_mode);
    if (link && ::stat(file.c_str(), &st) != 0) {
        t.refuse = errno == EACCES ? 403 : 404;
        return t;
    }
    if (!S_ISREG(st.st_mode) || ::access(file.c_str(), X_OK) != 0) {
        t.refuse = 403;
        return t;
    }
    // Not a link: a name without '/' in the (real) folder is its own real path; no realpath(),
    // whose lstat per path component would cost more than the rest of this check.
    if (!link) {
        t.file = std::move(file);
        return t;
    }
    // A link inside the folder may lead out of it: only the folder's own files run.
    char real[PATH_MAX];
    if (!::realpath(file.c_str(), real)) {
        t.refuse = 404;
        return t;
    }
    std::string_view r(real);
    if (r.size() <= real_directory_.size() + 1 || r.compare(0, real_directory_.size(), real_directory_) != 0 ||
        r[real_directory_.size()] != '/' || r.find('/', real_directory_.size() + 1) != std::string_view::npos) {
        t.refuse = 403;
        return t;
    }
    t.file = std::move(file);
    return t;
}

void cgi_handler::handle_request(std::shared_ptr<http::http_request> request) {
    auto& r = *request;
    target t = resolve(r.split_uri().path);
    if (t.refuse) {
        r.error(t.refuse);
        return;
    }
    auto ch = r.channel();
    if (!ch) {
        r.error(500);
        return;
    }
    // The environment.
    request_meta m;
    m.method = r.command();
    m.request_uri = r.raw_uri();
    const auto& split = r.split_uri();
    m.path = split.path;
    m.query = split.query.empty() ? std::string_view() : split.query.substr(1);
    m.version = r.version();
    const auto& head = r.head();
    m.headers.reserve(head.field_count());
    for (size_t i = 0; i < head.field_count(); ++i) {
        auto f = head.field(i);
        m.headers.emplace_back(f.name, f.value);
    }
    std::string remote = ch->addr().host();
    m.remote_addr = remote;
    m.remote_port = ch->addr().port();
    http::http_server* server = r.server();
    std::string host(r.get_header("Host").value_or(""));
    if (!host.empty() && host.front() == '[') {
        host = host.substr(0, host.find(']') + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    m.server_name = !host.empty() ? std::string_view(host)
                                  : server ? std::string_view(server->server_name) : "";
    m.server_port = server ? server->port() : 0;
    std::string software(r.get("Server").value_or("Medusa/1.12"));
    m.server_software = software;
    m.script_name = t.script_name;
    m.path_info = t.path_info;
    std::string translated;
    if (!options_.document_root.empty() && !t.path_info.empty())
        translated = options_.document_root + t.path_info;
    m.path_translated = translated;
    m.document_root = options_.document_root;
    if (r.has_body() && !r.body_chunked()) {
        m.content_length = r.body_length();
    } else if (!r.body_chunked() && r.get_header("Content-Length")) {
        m.content_length = 0;
    }
    m.content_type = r.get_header("Content-Type").value_or("");

    spawn_options so;
    so.program = t.file;
    so.env = build_environment(m, options_.env);
    so.working_directory = real_directory_;
    // No body: stdin is /dev/null, not a pipe that would be closed at once.
    if (!r.has_body()) so.stdin_from = null_fd_;

    auto job = std::make_shared<cgi_job>(*this, request, t.name);
    try {
        job->start(so);
    } catch (const std::system_error& e) {
        write_log_line(fmt::format("cgi {}: cannot run: {}", t.name, e.what()));
        job->detach();
        r.take_collector();
        if (!r.is_done()) r.error(500);
        return;
    }
    jobs_.insert(std::move(job));
}

void cgi_handler::job_done(const std::shared_ptr<cgi_job>& job) { jobs_.erase(job); }

std::string cgi_handler::status() {
    return fmt::format(
        "<h2>CGI</h2><ul><li><b>Directory:</b> {} at {}/<li><b>Scripts started:</b> {}"
        "<li><b>Running:</b> {}<li><b>Bad gateway (502):</b> {}<li><b>Timeouts:</b> {}"
        "<li><b>Stopped for a disconnected client:</b> {}</ul>",
        html_escape(real_directory_), html_escape(options_.prefix), scripts_started.as_long(),
        jobs_.size(), bad_gateway.as_long(), timeouts.as_long(), disconnects.as_long());
}

std::shared_ptr<cgi_handler> install_cgi(http::http_server& server, const std::string& directory,
                                         const std::string& document_root) {
    cgi_options o;
    o.directory = directory;
    o.document_root = document_root;
    auto h = std::make_shared<cgi_handler>(std::move(o));
    server.install_handler(h);
    return h;
}

}  // namespace medusa::cgi
