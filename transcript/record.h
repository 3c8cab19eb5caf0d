// The recording proxy: clients connect to it instead of the server, it passes every byte through
// unchanged, and each connection becomes one transcript (FORMAT.md) of what the client sent and
// what the server answered.
//
//   client ──> [client_side async_chat] ─push─> [server_side async_chat] ──> target server
//          <──                          <─push─                          <──
//
// Each connection is two async_chat channels in one socket_map, each with no terminator (every
// byte read is data), each pushing what it reads onto the other. Both directions are logged with
// the time they were read; when the connection ends the log becomes a transcript:
//   - client bytes become `>` lines; client reads that follow each other within
//     `pause_threshold` (and with no server bytes between) are one write, one `>` run;
//   - a longer client pause (since the last bytes in either direction) becomes `~ N`;
//   - server bytes become `<` lines; with protocol http the values of volatile headers (Date,
//     Last-Modified, Expires, Server, ETag and every `mask` header) become `{*}`;
//   - `<close>` when the server closed first; nothing when the client closed first.
//
// What each side sees is what it would see without the proxy: the same bytes, and the same end.
// A client that shuts down its write side (half-close) gets its shutdown passed on to the server
// once the bytes before it have gone; when the server closes, what is still queued for the client
// is sent, then the client's connection is closed.
//
// Back-pressure: a side that stops reading stops the proxy reading the other side. A channel's
// own high-water mark would stop it reading from the socket it writes to, which is the wrong side
// for a proxy, so the peer pauses instead (pause_reading() on the channel that produces, resumed
// when the queue drains below buffer_low).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "asyncore/address.h"
#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"
#include "transcript/transcript.h"

namespace medusa::transcript {

struct record_options {
    address target;                                  // the server (numeric address and port)
    std::string out_dir = ".";                       // where NAME.transcript files go
    std::string fixture = "docroot";                 // `@ fixture` of every transcript
    std::vector<std::string> mask;                   // more header names whose values become {*}
    std::chrono::milliseconds pause_threshold{50};   // longer client pauses become `~ N`
    protocol_kind protocol = protocol_kind::http;
    // Names: PREFIX-0001, PREFIX-0002... by connection order. Empty: for http the first request
    // line names the case ("GET /index.html HTTP/1.1" gives get_index_html), else "session-0001".
    std::string name_prefix;
    long max_connections = 0;                        // stop accepting after this many; 0: never
    // Queued bytes toward one side above which the other side is no longer read.
    std::size_t buffer_high = 256 * 1024;
    std::size_t buffer_low = 64 * 1024;
    // A connection that carries more than this is still proxied but not written (a transcript of
    // a 1 GB download helps nobody, and the log would hold all of it in memory).
    std::size_t max_record_bytes = 16 * 1024 * 1024;
};

// One read from one side, as the proxy saw it.
struct recorded_chunk {
    bool from_client = true;
    std::string bytes;
    clock::time_point at;
};

// One connection's traffic.
struct session_log {
    clock::time_point started;            // when the client connected
    std::vector<recorded_chunk> chunks;   // in the order they were read
    bool server_closed_first = false;     // the transcript ends in <close>
};

// The transcript of a session: steps as the header comment says, metadata title, fixture,
// protocol and source (the server's Server header value, else "recorded"). No name is set.
transcript make_transcript(const session_log& log, const record_options& options);

// The server's bytes as a pattern with the volatile header values of every response replaced by
// globs (`methods`: the requests' methods, for the framing of replies to HEAD). `extra` adds
// header names to the built-in set; names compare case-insensitively.
pattern mask_responses(std::string_view received, const std::vector<std::string>& methods,
                       const std::vector<std::string>& extra);

// A case name from the first request line of `sent`: "GET / HTTP/1.0" gives "get_root",
// "GET /a/b.txt?x=1 HTTP/1.1" gives "get_a_b_txt_x_1". Empty when `sent` does not start with
// a request line.
std::string name_from_request(std::string_view sent);

// The listener. Create it with make<recorder>(listen_address, options, map); each accepted client
// gets a connection to options.target. Keep the shared_ptr: the transcripts are written by it.
class recorder : public dispatcher {
public:
    // Binds and listens (port 0 picks a free one: read port()). Throws std::system_error.
    recorder(const address& listen_on, record_options options, socket_map& map = default_map());
    ~recorder() override;

    uint16_t port() const;
    const record_options& options() const { return options_; }

    // Stop accepting and end every open connection now (both sides closed), writing each
    // transcript. Call from the loop thread.
    void stop();
    // True once max_connections have been accepted (or stop() ran) and every one is written.
    bool finished() const;

    // The files written so far, in the order their connections ended.
    const std::vector<std::string>& written() const { return written_; }
    // Called with each path as it is written (e.g. to print it).
    std::function<void(const std::string& path)> on_written;

    void handle_accept() override;
    bool writable() override { return false; }

    // Internal: a connection has ended; writes its transcript (called by the session).
    class session;
    void session_done(session& s);

private:
    std::string unique_name(std::string base);

    record_options options_;
    std::vector<std::shared_ptr<session>> live_;
    std::vector<std::string> written_;
    std::set<std::string> used_names_;
    long accepted_ = 0;
    bool stopped_ = false;
};

}  // namespace medusa::transcript
