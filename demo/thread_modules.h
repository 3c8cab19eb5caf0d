// thread_modules: what `medusa-demo --threads N` mounts, as medusa's demo did with its thread
// handler: two script modules run on N worker threads, and a hand-off example.
//
//   /echo[/more][?query]  the script's environment, one NAME=value line each, then its stdin
//                         (the request body: `curl --data hello http://host/echo`)
//   /pi                   200 digits of pi, one line of 10 every 50 ms (a slow script: the
//                         loop keeps serving other clients meanwhile; curl -N shows the lines
//                         arrive one by one)
//   /handoff              a handler that takes the socket out of the loop (thread/handoff_handler.h) and
//                         answers from a worker with blocking send(), through the same header
//                         scanner the scripts' stdout uses, then closes
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <istream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/handler.h"
#include "http/http_channel.h"
#include "http/http_date.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "http/status_handler.h"
#include "thread/handoff_handler.h"
#include "thread/request_queue.h"
#include "thread/thread_handler.h"

namespace medusa::demo {

// The first `n` decimal digits of pi ("31415..."), by the Rabinowitz-Wagon spigot: pi in a
// mixed-radix base (1/3, 2/5, 3/7, ...) whose digits all start at 2; multiplying by 10 and
// carrying from right to left releases one decimal digit per round. A released 9 may still be
// raised by a later carry (…2 9 9 + carry → …3 0 0), so 9s are held back until a digit that is
// not 9 settles them.
inline std::string pi_digits(size_t n) {
    size_t len = (n + 10) * 10 / 3 + 1;  // room for a few digits more than asked: held-back 9s
    std::vector<unsigned> a(len, 2);
    std::string out;
    unsigned predigit = 0;
    size_t nines = 0;
    bool first = true;
    while (out.size() < n) {
        unsigned q = 0;
        for (size_t i = len; i > 0; --i) {
            unsigned x = 10 * a[i - 1] + q * unsigned(i);
            unsigned den = unsigned(2 * i - 1);
            a[i - 1] = x % den;
            q = x / den;
        }
        a[0] = q % 10;
        q /= 10;
        if (q == 9) {
            ++nines;
        } else if (q == 10) {
            out += char('0' + predigit + 1);
            out.append(nines, '0');
            predigit = 0;
            nines = 0;
        } else {
            if (!first) out += char('0' + predigit);
            first = false;
            predigit = q;
            out.append(nines, '9');
            nines = 0;
        }
    }
    out.resize(n);
    return out;
}

// /pi: a script that takes a while, streamed as it goes.
inline void pi_module(const thread::environment&, std::istream&, thread::script_output& out) {
    constexpr size_t digits = 200;
    std::string pi = pi_digits(digits);
    out.write("Content-Type: text/plain\r\n\r\n");
    for (size_t i = 0; i < digits; i += 10) {
        out.write(fmt::format("{}\n", std::string_view(pi).substr(i, 10)));
        out.flush();  // each line reaches the client now, not at the end
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// /echo: the environment, then the input.
inline void echo_module(const thread::environment& env, std::istream& in,
                        thread::script_output& out) {
    std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    out.write("Content-Type: text/plain\r\n\r\n");
    for (const auto& [k, v] : env) out.write(fmt::format("{}={}\n", k, v));
    out.write(fmt::format("\n{} bytes of input:\n", data.size()));
    out.write(data);
}

// /handoff: the socket leaves the loop; a worker writes the reply with blocking send()s
// (thread/handoff_handler.h: the base does the hand-off, the header scan, the close and the log).
class handoff_handler : public thread::handoff_handler {
public:
    explicit handoff_handler(thread::worker_pool& pool) : thread::handoff_handler(pool, "/handoff") {}

    void serve(thread::handoff_request& r) override {  // a worker thread
        r.write("Content-Type: text/plain\r\n\r\n");
        r.write(fmt::format("{} was answered by a worker thread that owns the socket.\n", r.uri()));
        r.write(fmt::format("The loop had read {} bytes past the request.\n", r.already_read().size()));
    }
};

// Mount /echo and /pi on `pool`, and /handoff (whose replies also run on `pool`).
inline void install_thread_modules(http::http_server& server, thread::worker_pool& pool,
                                   http::status_extension& status) {
    auto scripts = std::make_shared<thread::script_handler>(pool);
    scripts->add_module("echo", echo_module);
    scripts->add_module("pi", pi_module);
    server.install_handler(scripts);
    status.add(http::status_extension::source(scripts));
    server.install_handler(std::make_shared<handoff_handler>(pool));
}

}  // namespace medusa::demo
