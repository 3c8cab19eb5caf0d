// The recording proxy (see record.h): two async_chat channels per connection, the session that
// logs both directions, and the conversion of a log into a transcript.
#include "transcript/record.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "asyncore/async_chat.h"
#include "transcript/http_framing.h"

namespace medusa::transcript {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Headers whose values change from one run of the same server to the next.
constexpr std::string_view volatile_headers[] = {"date", "last-modified", "expires", "server", "etag"};

// The first line of `bytes` without its line end.
std::string_view first_line(std::string_view bytes) {
    std::size_t lf = bytes.find('\n');
    std::string_view line = bytes.substr(0, lf);
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
}

// `text` as one metadata line: control bytes would end the line or hide in it.
std::string one_line(std::string_view text) {
    std::string out;
    for (char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

struct byte_range {
    std::size_t begin, end;
};

// The server bytes [begin, end) as a pattern, each masked range in it replaced by one glob.
pattern masked_slice(std::string_view all, const std::vector<byte_range>& masks, std::size_t begin,
                     std::size_t end) {
    pattern p;
    std::size_t at = begin;
    for (const auto& m : masks) {
        if (m.end <= begin || m.begin >= end) continue;
        std::size_t from = std::max(m.begin, begin), to = std::min(m.end, end);
        p.append_bytes(all.substr(at, from - at));
        if (p.globs.empty() || p.globs.back() != p.bytes.size()) p.append_glob();
        at = to;
    }
    p.append_bytes(all.substr(at, end - at));
    return p;
}

// Where the volatile header values of every response in `received` are.
std::vector<byte_range> find_masks(std::string_view received, const std::vector<std::string>& methods,
                                   const std::vector<std::string>& extra) {
    std::vector<std::string> names(std::begin(volatile_headers), std::end(volatile_headers));
    for (const auto& e : extra) names.push_back(lower(e));
    std::vector<byte_range> masks;
    split_result split = split_responses(pattern(std::string(received)), methods, 0, true);
    for (const http_response& r : split.responses) {
        std::size_t at = r.begin + r.status_line.bytes.size();
        for (const pattern& h : r.header_lines) {
            std::string_view line = received.substr(at, h.bytes.size());
            std::size_t line_start = at;
            at += h.bytes.size();
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            if (std::find(names.begin(), names.end(), lower(line.substr(0, colon))) == names.end()) continue;
            std::size_t vbegin = colon + 1;
            while (vbegin < line.size() && (line[vbegin] == ' ' || line[vbegin] == '\t')) ++vbegin;
            std::size_t vend = line.size();
            while (vend > vbegin && (line[vend - 1] == '\n' || line[vend - 1] == '\r')) --vend;
            if (vend > vbegin) masks.push_back({line_start + vbegin, line_start + vend});
        }
    }
    return masks;
}

}  // namespace

pattern mask_responses(std::string_view received, const std::vector<std::string>& methods,
                       const std::vector<std::string>& extra) {
    return masked_slice(received, find_masks(received, methods, extra), 0, received.size());
}

std::string name_from_request(std::string_view sent) {
    std::string_view line = first_line(sent);
    std::size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string_view::npos) return {};
    std::string_view method = line.substr(0, sp);
    for (char c : method)
        if (!std::isupper(static_cast<unsigned char>(c))) return {};
    std::string_view target = line.substr(sp + 1);
    target = target.substr(0, target.find(' '));
    std::string path;
    for (char c : target) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            path += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else if (!path.empty() && path.back() != '_')
            path += '_';
        if (path.size() >= 60) break;
    }
    while (!path.empty() && path.back() == '_') path.pop_back();
    return lower(method) + "_" + (path.empty() ? "root" : path);
}

transcript make_transcript(const session_log& log, const record_options& options) {
    std::string sent, received;
    for (const auto& c : log.chunks) (c.from_client ? sent : received) += c.bytes;
    const bool http = options.protocol == protocol_kind::http;
    std::vector<std::string> methods;
    std::vector<byte_range> masks;
    std::optional<std::string> server;
    if (http) {
        methods = request_methods(sent);
        masks = find_masks(received, methods, options.mask);
        split_result split = split_responses(pattern(received), methods, 0, true);
        if (!split.responses.empty()) server = split.responses.front().header("Server");
    }

    transcript t;
    std::string title;
    if (http && !methods.empty()) {
        title = one_line(first_line(sent));
        if (methods.size() > 1) title += fmt::format(" (and {} more requests)", methods.size() - 1);
    } else {
        title = fmt::format("{} bytes sent, {} received", sent.size(), received.size());
    }
    t.set("title", title + ", recorded through medusa-transcript record");
    t.set("fixture", options.fixture);
    t.set("protocol", http ? "http" : "raw");
    t.set("source", server ? one_line(*server) : "recorded");

    clock::time_point last = log.started;
    std::size_t received_at = 0;
    for (const auto& c : log.chunks) {
        if (c.from_client) {
            auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(c.at - last);
            if (gap > options.pause_threshold) t.add(step::pause(static_cast<int>(gap.count())));
            t.add(step::send(c.bytes));  // joins the send before it: one write
        } else {
            std::size_t end = received_at + c.bytes.size();
            t.add(step::expect(http ? masked_slice(received, masks, received_at, end)
                                    : pattern(c.bytes)));
            received_at = end;
        }
        last = c.at;
    }
    if (log.server_closed_first) t.add(step::close());
    return t;
}

// --- the channels ----------------------------------------------------------------------------------

namespace {
class proxy_channel;
}

class recorder::session {
public:
    session(std::shared_ptr<recorder> owner, long n) : number(n), owner_(std::move(owner)) {
        log.started = clock::now();
    }

    void set_channels(std::weak_ptr<proxy_channel> client, std::weak_ptr<proxy_channel> server) {
        client_ = std::move(client);
        server_ = std::move(server);
    }

    void record(bool from_client, std::string_view data) {
        if (done_ || oversize) return;
        recorded_ += data.size();
        if (recorded_ > owner_->options().max_record_bytes) {
            oversize = true;
            log.chunks.clear();
            log.chunks.shrink_to_fit();
            return;
        }
        log.chunks.push_back({from_client, std::string(data), clock::now()});
    }

    // One side's socket reached end-of-file.
    void saw_eof(bool from_client) {
        if (from_client)
            client_eof_ = true;
        else if (!client_eof_)
            log.server_closed_first = true;
    }

    void channel_closed(bool client_side) {
        (client_side ? client_closed_ : server_closed_) = true;
        if (client_closed_ && server_closed_) finish();
    }

    // Close both sides now (recorder::stop, or one side failed).
    void end_now();

    void finish() {
        if (done_) return;
        done_ = true;
        auto owner = std::move(owner_);  // breaks the owner <-> session cycle
        owner->session_done(*this);
    }

    long number;
    session_log log;
    bool oversize = false;

private:
    std::shared_ptr<recorder> owner_;
    std::weak_ptr<proxy_channel> client_, server_;
    std::size_t recorded_ = 0;
    bool client_eof_ = false, client_closed_ = false, server_closed_ = false, done_ = false;
};

namespace {

// One side of a proxied connection: everything it reads is logged and pushed to its peer.
class proxy_channel : public async_chat {
public:
    using session_ptr = std::shared_ptr<recorder::session>;

    // The client's side, from an accepted descriptor.
    proxy_channel(int fd, session_ptr s, const record_options& o, socket_map& map)
        : async_chat(fd, map), session_(std::move(s)), client_side_(true), buffer_high_(o.buffer_high), buffer_low_(o.buffer_low) {
        setup();
    }
    // The server's side, connecting to the target.
    proxy_channel(session_ptr s, const record_options& o, socket_map& map)
        : async_chat(map), session_(std::move(s)), client_side_(false), buffer_high_(o.buffer_high), buffer_low_(o.buffer_low) {
        setup();
        create_socket(o.target.family());
        connect(o.target);
    }

    void set_peer(const std::shared_ptr<proxy_channel>& p) { peer_ = p; }

    void collect_incoming_data(std::string_view data) override {
        auto p = peer_.lock();
        if (!p || p->closed() || p->write_shut_) return;  // the other side has gone: nowhere to go
        session_->record(client_side_, data);
        p->push(data);
        // The peer's socket is not taking bytes as fast as this one gives them: stop reading here
        // until it drains (the peer resumes us from its handle_write).
        if (!p->closed() && p->pending_bytes() > buffer_high_) pause_reading();
    }
    void found_terminator() override {}

    bool readable() override {
        // After end-of-file nothing more comes; after the peer has gone nothing can be passed on
        // (reading would only throw the bytes away, and a client's close must stay the client's).
        auto p = peer_.lock();
        return !eof_ && p && !p->closed() && !p->write_shut_ && async_chat::readable();
    }
    bool writable() override { return async_chat::writable() || (shutdown_pending_ && !write_shut_); }

    void handle_read() override {
        // handle_close() from inside a read is the peer's end-of-file (or reset); from anywhere
        // else it is a failure (a send to a vanished peer, a refused connect).
        reading_ = true;
        struct reset {
            bool& flag;
            ~reset() { flag = false; }
        } guard{reading_};
        async_chat::handle_read();
    }

    void handle_write() override {
        async_chat::handle_write();
        after_send();
    }

    void handle_connect() override {}  // what the client sent meanwhile is queued; it goes now

    void handle_close() override {
        if (!reading_) {
            fail();
            return;
        }
        eof_ = true;
        update_interest();
        session_->saw_eof(client_side_);
        auto p = peer_.lock();
        if (client_side_) {
            // Half-close: the server gets our end-of-file after the bytes queued before it. The
            // client's own side stays open for the rest of the server's reply.
            if (p && !p->closed()) p->shutdown_when_done();
            if (!p || p->closed()) close();
        } else {
            // The server has finished: the client gets what is queued, then the close.
            close();
            if (p && !p->closed()) p->close_when_done();
        }
    }

    void handle_error(std::exception_ptr e) override {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            log_info(fmt::format("record: {} side of connection {}: {}", client_side_ ? "client" : "server",
                                 session_->number, x.what()),
                     "error");
        } catch (...) {
            log_info("record: unknown exception", "error");
        }
        fail();
    }

    void close() override {
        async_chat::close();
        if (closed_reported_) return;
        closed_reported_ = true;
        session_->channel_closed(client_side_);
        // The peer was waiting for us to drain before reading again; it never will now.
        if (auto p = peer_.lock(); p && !p->closed()) p->update_interest();
    }

    void shutdown_when_done() {
        shutdown_pending_ = true;
        after_send();
        update_interest();
    }

private:
    void setup() {
        set_terminator(nullptr);
        ac_in_buffer_size = 16384;
        // See record.h: the peer pauses instead of this channel.
        high_water_mark = UINT32_MAX;  // never, in practice
    }

    // Both sides end together when something goes wrong.
    void fail() {
        auto p = peer_.lock();
        close();
        if (p) p->close();
    }

    void after_send() {
        if (closed()) return;
        if (shutdown_pending_ && !write_shut_ && connected() && output_empty()) {
            write_shut_ = true;
            ::shutdown(fileno(), SHUT_WR);
            update_interest();
        }
        auto p = peer_.lock();
        if (p && !p->closed() && p->reading_paused() && pending_bytes() < buffer_low_)
            p->resume_reading();
    }

    session_ptr session_;
    bool client_side_;
    std::size_t buffer_high_, buffer_low_;  // copies: the recorder may go before this channel
    std::weak_ptr<proxy_channel> peer_;
    bool reading_ = false;
    bool eof_ = false;
    bool shutdown_pending_ = false;
    bool write_shut_ = false;
    bool closed_reported_ = false;
};

}  // namespace

void recorder::session::end_now() {
    auto c = client_.lock();
    auto s = server_.lock();
    if (c) c->close();
    if (s) s->close();
}

// --- the recorder --------------------------------------------------------------------------------

recorder::recorder(const address& listen_on, record_options options, socket_map& map)
    : dispatcher(map), options_(std::move(options)) {
    create_socket(listen_on.family());
    set_reuse_addr();
    bind(listen_on);
    listen(128);
}

recorder::~recorder() = default;

uint16_t recorder::port() const { return address::local_of(fileno()).port(); }

void recorder::handle_accept() {
    auto conn = accept();
    if (!conn) return;
    ++accepted_;
    auto self = std::static_pointer_cast<recorder>(shared_from_this());
    auto s = std::make_shared<session>(self, accepted_);
    live_.push_back(s);
    std::shared_ptr<proxy_channel> client, server;
    try {
        client = make<proxy_channel>(conn->fd, s, options_, map());
        server = make<proxy_channel>(s, options_, map());
        client->set_peer(server);
        server->set_peer(client);
        s->set_channels(client, server);
    } catch (const std::exception& e) {
        log_info(fmt::format("record: connection {}: {}", accepted_, e.what()), "error");
        if (client) client->close();
        if (server) server->close();
        s->finish();
    }
    if (options_.max_connections > 0 && accepted_ >= options_.max_connections) close();
}

void recorder::stop() {
    stopped_ = true;
    if (!closed()) close();
    auto live = live_;  // end_now() takes each out of live_
    for (auto& s : live) s->end_now();
}

bool recorder::finished() const {
    bool accepting_done = stopped_ || (options_.max_connections > 0 && accepted_ >= options_.max_connections);
    return accepting_done && live_.empty();
}

std::string recorder::unique_name(std::string base) {
    std::string name = base;
    for (int n = 2;; ++n) {
        std::error_code ec;
        if (!used_names_.contains(name) &&
            !std::filesystem::exists(std::filesystem::path(options_.out_dir) / (name + ".transcript"), ec))
            break;
        name = fmt::format("{}_{}", base, n);
    }
    used_names_.insert(name);
    return name;
}

void recorder::session_done(session& s) {
    // Take it out of the live list; the channels still hold it while this runs.
    std::erase_if(live_, [&](const std::shared_ptr<session>& p) { return p.get() == &s; });
    if (s.oversize) {
        log_info(fmt::format("record: connection {} carried more than {} bytes; no transcript written",
                             s.number, options_.max_record_bytes));
        return;
    }
    if (s.log.chunks.empty()) return;  // nothing went either way (a port probe): nothing to replay

    std::string base;
    if (!options_.name_prefix.empty()) {
        base = fmt::format("{}-{:04}", options_.name_prefix, s.number);
    } else {
        if (options_.protocol == protocol_kind::http) {
            std::string sent;
            for (const auto& c : s.log.chunks)
                if (c.from_client) sent += c.bytes;
            base = name_from_request(sent);
        }
        if (base.empty()) base = fmt::format("session-{:04}", s.number);
    }
    std::string name = unique_name(base);
    transcript t = make_transcript(s.log, options_);
    t.name = name;
    std::string path = (std::filesystem::path(options_.out_dir) / (name + ".transcript")).string();
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << write(t);
        out.close();
        if (!out) {
            log_info(fmt::format("record: cannot write {}: {}", tmp, std::generic_category().message(errno)),
                     "error");
            return;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        log_info(fmt::format("record: rename({}): {}", path, ec.message()), "error");
        return;
    }
    written_.push_back(path);
    if (on_written) on_written(path);
}

}  // namespace medusa::transcript
