// chat: medusa's chat_server.py, the canonical async_chat example, shared by the programs that
// run it (demo/chat_server.cc on its own, demo/medusa-demo.cc beside the web server in one loop).
//
//   auto chat = medusa::make<medusa::demo::chat_server>("127.0.0.1", 8518);
//   nc 127.0.0.1 8518        (answer "nickname?: ", then talk; /quit or /q to leave)
//
// Every line a caller types goes to all the other callers as "nick: line". The server keeps a
// list of its channels; each channel takes itself off the list when it closes. What chat_server.py
// printed (a client's arrival, every line said: its "spy") goes to `say`, stdout by default.
//
// The protocol, as the client sees it (lines end in CRLF; the prompt has none):
//   nickname?: alice                 (an empty answer gets "huh? gimmee a nickname: ")
//   Hello, alice
//   [Kinda lonely in here... you're the only caller!]      or, with others there:
//   [There are 2 other callers]  then every nick, "\r\n  " between them; the others get
//                                "alice: [joined]"
//   hi all                       the others get "alice: hi all"; the sayer gets nothing back
//   /nosuch                      unknown command: /nosuch
//   /quit  (or /q)               Goodbye!, then the server closes; the others get "alice: [left]"
//
// Two differences from chat_server.py, both where it was broken: an empty answer to
// "nickname?: " asks again (Python raised IndexError and dropped the caller), and an unknown
// /command gets "unknown command: /x" and a line end (Python's misplaced else answered nothing).
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asyncore/address.h"
#include "asyncore/async_chat.h"
#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"

namespace medusa::demo {

inline constexpr std::string_view chat_server_ident = "Chat Server (V1.4)";

class chat_server;

class chat_channel : public async_chat {
public:
    chat_channel(chat_server& server, int fd, socket_map& map) : async_chat(fd, map), server_(server) {
        set_terminator("\r\n");
        push("nickname?: ");
    }

    void collect_incoming_data(std::string_view data) override { data_ += data; }
    void found_terminator() override;

    // Leaving, for whatever reason (quit, EOF, reset): off the server's list first.
    void close() override;

    std::string get_nick() const { return nick_.empty() ? "Unknown" : nick_; }

private:
    static std::vector<std::string> split_words(const std::string& line) {
        std::istringstream in(line);
        std::vector<std::string> words;
        for (std::string w; in >> w;) words.push_back(w);
        return words;
    }

    void greet();
    void push_line_to_others(const std::string& line);

    // "/quit now" calls cmd_quit({"now"}), as Python's getattr(self, 'cmd_' + name).
    void handle_command(const std::string& command) {
        auto words = split_words(command);
        std::string name = words.at(0).substr(1);
        std::vector<std::string> args(words.begin() + 1, words.end());
        if (name == "quit" || name == "q")  // cmd_q = cmd_quit
            cmd_quit(args);
        else
            push(fmt::format("unknown command: {}\r\n", words[0]));
    }

    void cmd_quit(const std::vector<std::string>&) {
        push_line_to_others("[left]");
        push("Goodbye!\r\n");
        close_when_done();  // close once "Goodbye!" has been sent
    }

    chat_server& server_;
    std::string data_;
    std::string nick_;
};

class chat_server : public dispatcher {
public:
    // Binds HOST:PORT (a numeric address; port 0 picks a free one: read port()) and listens.
    // Throws std::system_error naming the call and the address (a port in use: "bind(...)").
    chat_server(const std::string& host, uint16_t port, socket_map& map = default_map())
        : dispatcher(map) {
        address where = address::inet(host, port);
        create_socket(where.family());
        set_reuse_addr();
        bind(where);
        listen(5);
    }

    // Where chat_server.py's prints go: one line each, no line end.
    std::function<void(std::string_view line)> say = [](std::string_view line) {
        fmt::print("{}\n", line);
        std::fflush(stdout);
    };

    uint16_t port() const { return address::local_of(fileno()).port(); }

    void handle_accept() override {
        auto conn = accept();
        if (!conn) return;
        ++count_;
        say(fmt::format("client #{} - {}", count_, conn->addr.to_string()));
        channels_.push_back(make<chat_channel>(*this, conn->fd, map()));
    }

    // Send "nick: line" to every caller but the one who said it (and show it here: spy).
    void push_line(chat_channel& from, const std::string& line) {
        std::string nick = from.get_nick();
        say(fmt::format("{}: {}", nick, line));
        // A push may find a peer gone and close that channel, which edits channels_: walk a copy.
        auto snapshot = channels_;
        for (auto& weak : snapshot) {
            auto c = weak.lock();
            if (c && c.get() != &from) c->push(fmt::format("{}: {}\r\n", nick, line));
        }
    }

    std::vector<std::string> nicks() const {
        std::vector<std::string> v;
        for (auto& weak : channels_)
            if (auto c = weak.lock()) v.push_back(c->get_nick());
        return v;
    }
    size_t callers() const { return channels_.size(); }

    void remove(chat_channel* c) {
        std::erase_if(channels_, [c](const std::weak_ptr<chat_channel>& w) {
            auto p = w.lock();
            return !p || p.get() == c;
        });
    }

    // The fragment for the status pages (chat_server.status(), lines ending in CRLF as medusa's
    // lines_producer).
    std::string status() const {
        return fmt::format(
            "<h2>{}</h2>\r\n<br>Listening on Port: {}\r\n<br><b>Total Sessions:</b> {}\r\n"
            "<br><b>Current Sessions:</b> {}\r\n",
            chat_server_ident, closed() ? 0 : port(), count_, channels_.size());
    }

    bool writable() override { return false; }

private:
    int count_ = 0;
    // The map owns the channels; the server only refers to them.
    std::vector<std::weak_ptr<chat_channel>> channels_;
};

inline void chat_channel::found_terminator() {
    std::string line = std::move(data_);
    data_.clear();
    if (nick_.empty()) {
        auto words = split_words(line);
        if (words.empty()) {
            push("huh? gimmee a nickname: ");
        } else {
            nick_ = words[0];
            greet();
        }
    } else if (line.empty()) {
        // nothing to say
    } else if (line[0] != '/') {
        push_line_to_others(line);
    } else {
        handle_command(line);
    }
}

inline void chat_channel::greet() {
    push(fmt::format("Hello, {}\r\n", nick_));
    size_t others = server_.callers() - 1;
    if (others == 0) {
        push("[Kinda lonely in here... you're the only caller!]\r\n");
    } else {
        push(fmt::format("[There are {} other callers]\r\n", others));
        auto nicks = server_.nicks();  // everyone, this caller included, as chat_server.py
        push(fmt::format("{}\r\n", fmt::join(nicks, "\r\n  ")));
        push_line_to_others("[joined]");
    }
}

inline void chat_channel::push_line_to_others(const std::string& line) { server_.push_line(*this, line); }

inline void chat_channel::close() {
    server_.remove(this);
    async_chat::close();
}

}  // namespace medusa::demo
