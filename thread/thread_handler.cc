#include "thread/thread_handler.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cgi/apply_reply.h"
#include "cgi/cgi_env.h"
#include "http/http_channel.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/keepalive.h"

namespace medusa::thread {

using http::http_request;

// --- the reply body on the loop side -------------------------------------------------------------

// The body of one script's reply, in the loop thread: the trigger_file's flushes queue here
// (deliver), behind the reply head, and the channel pulls them through stream_producer.
struct reply_stream {
    std::deque<producer_ptr> chunks;
    bool ended = false;         // the script has returned (or failed): no more chunks
    bool close_at_end = false;  // the body came out short, or the script failed mid-body
    // Nobody will pull the chunks: the stream_producer is gone (the channel closed with it
    // queued), or was never made (the request was finished without the script's reply). Chunks
    // are then dropped at once, which tells the script's writer its client has gone; kept, they
    // would hold their bytes in flight and leave a writer waiting for room for ever.
    bool abandoned = false;
    std::weak_ptr<async_chat> channel;

    void abandon() {
        abandoned = true;
        chunks.clear();
    }
};

namespace {

// Stalls (ready() false) while the script has written nothing new, so the channel sends the head
// at once and the body as it comes, and a pipelined request's reply waits behind it.
class stream_producer : public producer {
public:
    explicit stream_producer(std::shared_ptr<reply_stream> s) : s_(std::move(s)) {}
    // The loop thread (the channel's queue is dropped or finished there), like every other use
    // of the stream.
    ~stream_producer() override { s_->abandon(); }
    bool ready() const override { return !cut_ && (!s_->chunks.empty() || s_->ended); }
    std::string more() override {
        while (!s_->chunks.empty()) {
            std::string d = s_->chunks.front()->more();
            if (!d.empty()) return d;
            s_->chunks.pop_front();
        }
        if (s_->ended && s_->close_at_end) {
            // A reply cut short cannot be followed by another on this connection: the client
            // would read the next reply as the rest of this body. Closing here would drop the
            // bytes produced just before (still in the channel's queue), so stall instead —
            // nothing queued behind this producer goes out — and close once they are sent.
            s_->close_at_end = false;
            cut_ = true;
            // Never from here: the bytes of the previous more() are not in the queue yet.
            if (auto c = s_->channel.lock()) close_when_sent(c->map(), s_->channel, {});
        }
        return {};
    }

private:
    static void close_when_sent(socket_map& map, std::weak_ptr<async_chat> weak,
                                clock::duration delay) {
        map.call_later(delay, [&map, weak = std::move(weak)] {
            auto c = weak.lock();
            if (!c || c->closed()) return;
            if (c->pending_bytes() == 0)
                c->close();
            else
                close_when_sent(map, weak, std::chrono::milliseconds(10));
        });
    }

    std::shared_ptr<reply_stream> s_;
    bool cut_ = false;
};

}  // namespace

// --- script_output (worker thread) ---------------------------------------------------------------

struct script_output::request_context {
    std::string version;
    bool head = false;
    bool keep_alive = false;
    std::string server;
    std::string date;
};

script_output::script_output(trigger_file out, std::shared_ptr<const request_context> ctx,
                             std::weak_ptr<http_request> request)
    : out_(std::move(out)),
      ctx_(std::move(ctx)),
      request_(std::move(request)),
      stream_(std::make_shared<reply_stream>()),
      scanner_([this](const cgi::scan_result& r) { on_head(r); },
               [this](std::string_view body) { on_body(body); }) {
    // Body flushes go into the reply's stream, not straight onto the channel.
    out_.set_deliver([stream = stream_](async_chat& c, producer_ptr bytes) {
        if (stream->abandoned) return;  // `bytes` is dropped: the writer learns its client went
        stream->chunks.push_back(std::move(bytes));
        c.update_interest();
    });
}

void script_output::write(std::string_view data) {
    if (closed_) throw std::logic_error("script_output: write after the script returned");
    scanner_.feed(data);
}

void script_output::writelines(const std::vector<std::string>& lines) {
    for (const auto& l : lines) write(l);
}

void script_output::flush() {
    if (head_sent() && pass_body_) out_.flush();
}

void script_output::on_head(const cgi::scan_result& result) {
    cgi::request_info info{.version = ctx_->version,
                           .head = ctx_->head,
                           .keep_alive = ctx_->keep_alive,
                           .server = ctx_->server,
                           .date = ctx_->date};
    cgi::reply rep = cgi::build_reply(result, info);
    pass_body_ = rep.pass_body;
    chunked_ = rep.chunked;
    if (pass_body_ && !chunked_ && rep.keep_alive && result.content_length)
        remaining_ = *result.content_length;
    out_.flush_then([rep = std::move(rep), req = request_, stream = stream_](async_chat& c) {
        auto r = req.lock();
        if (!r || r->is_done()) {
            stream->abandon();
            return;
        }
        stream->channel = std::static_pointer_cast<async_chat>(c.shared_from_this());
        cgi::apply_reply(*r, rep);
        if (!rep.page.empty()) r->push(rep.page);
        if (rep.pass_body) r->push(std::make_unique<stream_producer>(stream));
        r->done();
    });
}

void script_output::on_body(std::string_view data) {
    if (!pass_body_) return;  // HEAD, 204, 304, 502: the script's body is not sent
    if (remaining_) {
        // Past its own Content-Length a body would be read as the next reply: cut it there.
        data = data.substr(0, std::min<uint64_t>(data.size(), *remaining_));
        *remaining_ -= data.size();
        if (data.empty()) return;
    }
    if (chunked_) {
        std::string framed;
        cgi::append_chunk(framed, data);
        out_.write(framed);
    } else {
        out_.write(data);
    }
}

void script_output::close() {
    if (closed_) return;
    closed_ = true;
    try {
        scanner_.finish();  // no header block at all: the 502 goes out now
        if (pass_body_ && chunked_) out_.write(cgi::last_chunk);
        const bool cut_short = remaining_ && *remaining_ > 0;
        out_.flush_then([stream = stream_, cut_short](async_chat& c) {
            stream->ended = true;
            stream->close_at_end = cut_short;
            c.update_interest();
        });
        out_.close();
    } catch (const connection_error&) {
        // The client has gone; nothing is left to finish.
    }
}

void script_output::abort() {
    if (closed_) return;
    closed_ = true;
    try {
        if (!head_sent()) {
            out_.flush_then([req = request_](async_chat&) {
                auto r = req.lock();
                if (r && !r->is_done()) r->error(500);
            });
        } else {
            // Part of the reply is out: end it by closing, so the client sees it was cut.
            out_.flush_then([stream = stream_](async_chat& c) {
                stream->ended = true;
                stream->close_at_end = true;
                c.update_interest();
            });
        }
        out_.close();
    } catch (const connection_error&) {
    }
}

// --- the request body (loop thread) --------------------------------------------------------------

// medusa's collector: gathers the body, then queues the script with it as stdin.
class script_handler::body_collector : public http::collector {
public:
    body_collector(std::shared_ptr<script_handler> h, std::weak_ptr<http_request> r)
        : handler_(std::move(h)), request_(std::move(r)) {}
    void collect_incoming_data(std::string_view data) override {
        if (too_large_) return;
        if (body_.size() + data.size() > handler_->max_body) {
            too_large_ = true;
            body_.clear();
            return;
        }
        body_.append(data);
    }
    void found_terminator() override {
        auto r = request_.lock();
        if (!r || r->is_done()) return;
        if (too_large_)
            r->error(413);
        else
            handler_->continue_request(r, std::move(body_));
    }

private:
    std::shared_ptr<script_handler> handler_;
    std::weak_ptr<http_request> request_;
    std::string body_;
    bool too_large_ = false;
};

// --- script_handler (loop thread) ----------------------------------------------------------------

namespace {

// "/pi/a/b" -> {"pi", "/a/b"}; "/pi" -> {"pi", "/"} (medusa's SCRIPT_NAME and PATH_INFO).
std::pair<std::string_view, std::string> split_script(std::string_view path) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    size_t slash = path.find('/');
    if (slash == std::string_view::npos) return {path, "/"};
    return {path.substr(0, slash), std::string(path.substr(slash))};
}

}  // namespace

script_handler::script_handler(worker_pool& pool, std::string document_root)
    : pool_(pool), document_root_(std::move(document_root)) {}

void script_handler::add_module(const std::string& name, script main) {
    std::string key = name;
    while (!key.empty() && key.front() == '/') key.erase(0, 1);
    if (key.empty() || key.find('/') != std::string::npos)
        throw std::invalid_argument(fmt::format("add_module({}): a module name is one path segment",
                                                name));
    modules_[key] = std::move(main);
}

const script* script_handler::find(http_request& request) const {
    auto name = split_script(request.split_uri().path).first;
    auto it = modules_.find(std::string(name));
    return it == modules_.end() ? nullptr : &it->second;
}

bool script_handler::match(http_request& request) {
    return find(request) != nullptr;
}

void script_handler::handle_request(std::shared_ptr<http_request> request) {
    // medusa's thread handler answers a POST or PUT without Content-Length with 411 (and then
    // left the connection stuck, QUIRKS row 27); the 411 stays, the connection goes on.
    // A chunked body has its length in its framing.
    std::string_view command = request->command();
    if ((command == "POST" || command == "PUT") && !request->body_chunked() &&
        !request->get_header("Content-Length")) {
        request->error(411);
        return;
    }
    if (request->has_body()) {
        request->set_collector(std::make_shared<body_collector>(shared_from_this(), request));
        return;
    }
    continue_request(request, std::string());
}

void script_handler::continue_request(const std::shared_ptr<http_request>& r, std::string body) {
    auto channel = r->channel();
    const script* main = find(*r);
    if (!channel || !main) {
        if (!r->is_done()) r->error(404);
        return;
    }

    // The environment (cgi_env.h, medusa style), built here while the request is at hand.
    const auto& split = r->split_uri();
    auto [name, path_info] = split_script(split.path);
    std::string script_name = fmt::format("/{}", name);
    std::string server_software(r->get("Server").value_or(""));
    std::string remote = channel->addr().host();
    cgi::request_meta m;
    m.method = r->command();
    m.request_uri = r->raw_uri();
    m.path = split.path;
    m.query = split.query.empty() ? split.query : split.query.substr(1);
    m.version = r->version();
    for (size_t i = 0; i < r->head().field_count(); ++i) {
        auto f = r->head().field(i);
        m.headers.emplace_back(f.name, f.value);
    }
    m.remote_addr = remote;
    m.remote_port = channel->addr().port();
    if (auto* s = r->server()) {
        m.server_name = s->server_name;
        m.server_port = s->port();
    }
    m.server_software = server_software;
    m.script_name = script_name;
    m.path_info = path_info;
    m.document_root = document_root_;
    if (r->has_body()) m.content_length = body.size();
    m.content_type = r->get_header("Content-Type").value_or("");
    environment env;
    for (const std::string& kv : cgi::build_environment(m, {cgi::env_style::medusa, {}})) {
        size_t eq = kv.find('=');
        env.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }

    // What the reply head needs, copied: the worker must not read the request.
    auto ctx = std::make_shared<script_output::request_context>();
    ctx->version = std::string(r->version());
    ctx->head = r->command() == "HEAD";
    http::connection_tokens tokens;
    for (size_t i = 0; i < r->head().field_count(); ++i) {
        auto f = r->head().field(i);
        if (http::iequals(f.name, "Connection")) http::parse_connection(f.value, tokens);
    }
    ctx->keep_alive = r->version_kind() == http::http_version::http11
                          ? !tokens.close
                          : r->version_kind() == http::http_version::http10 && tokens.keep_alive &&
                                !tokens.close;
    ctx->server = std::string(r->get("Server").value_or(""));
    ctx->date = std::string(r->get("Date").value_or(""));

    job j = [self = shared_from_this(), main = *main, env = std::move(env), body = std::move(body),
             ctx = std::shared_ptr<const script_output::request_context>(std::move(ctx)),
             trigger = trigger_for(channel->map()),
             weak_channel = std::weak_ptr<async_chat>(channel),
             weak_request = std::weak_ptr<http_request>(r)]() mutable {
        // medusa's request_loop_thread: main(env, stdin, stdout); stdout.close()
        script_output out(trigger_file(trigger, weak_channel, nullptr), ctx, weak_request);
        std::istringstream in(std::move(body));
        try {
            main(env, in, out);
            out.close();
        } catch (const connection_error&) {
            // The client hung up while the script was writing: nobody to answer.
        } catch (...) {
            self->failed.increment();
            out.abort();
            throw;  // the pool logs it and the worker goes on
        }
    };
    // Nothing in the job touches the client until it runs, so a refused job is simply dropped.
    if (!pool_.put(std::move(j))) {
        rejected.increment();
        r->error(503);
        return;
    }
    requests.increment();
}

std::string script_handler::status() {
    std::string names;
    for (const auto& [name, s] : modules_) names += fmt::format(" /{}", name);
    return fmt::format(
        "<h2>Script handler</h2><ul><li>Modules:{}</li><li>Requests queued: {}</li>"
        "<li>Refused (503): {}</li><li>Failed: {}</li><li>Waiting: {}</li></ul>",
        names, requests.as_long(), rejected.as_long(), failed.as_long(), pool_.queue().size());
}

}  // namespace medusa::thread
