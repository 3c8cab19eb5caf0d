// The replayer's side of the wire: one TCP connection driven with plain system calls and poll()
// timeouts. It does not use the event loop on purpose: a test client that shares code with the
// server under test would share its bugs.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace medusa::transcript {

using steady = std::chrono::steady_clock;

// Splits "HOST:PORT", "[::1]:PORT" or "localhost:PORT". Returns false with `error` set otherwise.
bool parse_target(std::string_view target, std::string& host, std::string& port, std::string& error);

class client {
public:
    // Connects to the first address of host:port that accepts within `timeout` (IPv4 or IPv6).
    // Throws std::system_error naming the call and the address, e.g. "connect(127.0.0.1:8080)".
    client(const std::string& host, const std::string& port, std::chrono::milliseconds timeout);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Writes all of `bytes` as one write where the kernel allows. While the socket is not writable,
    // whatever arrives is read into `received` so that a server that answers early cannot deadlock
    // the two sides. Throws std::system_error on failure or when `deadline` passes.
    void send_all(std::string_view bytes, steady::time_point deadline, std::string& received);

    // Waits until `deadline` for input; appends what arrives to `received`. Returns false on
    // timeout. End-of-file (or a reset) sets eof().
    bool read_some(steady::time_point deadline, std::string& received);

    bool eof() const { return eof_; }
    bool reset() const { return reset_; }  // the end came as a reset (RST), not a FIN

private:
    int fd_ = -1;
    bool eof_ = false, reset_ = false;
};

}  // namespace medusa::transcript
