// chat_server: medusa's chat_server.py in C++, the canonical async_chat example.
//
//   build/bin/chat_server [--port 8518] [--host 0.0.0.0]
//   nc 127.0.0.1 8518        (answer "nickname?: ", then talk; /quit or /q to leave)
//
// Every line a caller types goes to all the other callers as "nick: line". The server keeps a
// list of its channels; each channel takes itself off the list when it closes.
//
// Two differences from chat_server.py, both where it was broken: an empty answer to
// "nickname?: " asks again (Python raised IndexError and dropped the caller), and an unknown
// /command gets "unknown command: /x" (Python's misplaced else answered nothing).
#include <cstdlib>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "asyncore/address.h"
#include "asyncore/async_chat.h"
#include "asyncore/dispatcher.h"
#include "asyncore/socket_map.h"

namespace {

const char* const server_ident = "Chat Server (V1.4)";

std::vector<std::string> split_words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

class chat_server;

class chat_channel : public medusa::async_chat {
public:
    chat_channel(chat_server& server, int fd) : async_chat(fd), server_(server) {
        set_terminator("\r\n");
        push("nickname?: ");
    }

    void collect_incoming_data(std::string_view data) override { data_ += data; }

    void found_terminator() override {
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

    // Leaving, for whatever reason (quit, EOF, reset): off the server's list first.
    void close() override;

    std::string get_nick() const { return nick_.empty() ? "Unknown" : nick_; }

private:
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

class chat_server : public medusa::dispatcher {
public:
    chat_server(const std::string& host, uint16_t port) {
        create_socket(medusa::address::inet(host, port).family());
        set_reuse_addr();
        bind(medusa::address::inet(host, port));
        fmt::print("{} started on port {}\n", server_ident, addr().port());
        std::fflush(stdout);
        listen(5);
    }

    void handle_accept() override {
        auto conn = accept();
        if (!conn) return;
        ++count_;
        fmt::print("client #{} - {}\n", count_, conn->addr.to_string());
        std::fflush(stdout);
        channels_.push_back(medusa::make<chat_channel>(*this, conn->fd));
    }

    // Send "nick: line" to every caller but the one who said it (and show it here: spy).
    void push_line(chat_channel& from, const std::string& line) {
        std::string nick = from.get_nick();
        fmt::print("{}: {}\n", nick, line);
        std::fflush(stdout);
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

    bool writable() override { return false; }

private:
    int count_ = 0;
    // The map owns the channels; the server only refers to them.
    std::vector<std::weak_ptr<chat_channel>> channels_;
};

void chat_channel::greet() {
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

void chat_channel::push_line_to_others(const std::string& line) { server_.push_line(*this, line); }

void chat_channel::close() {
    server_.remove(this);
    async_chat::close();
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "0.0.0.0";  // chat_server.py binds ''
    uint16_t port = 8518;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<uint16_t>(std::atoi(argv[++i]));
        } else if (arg == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else {
            fmt::print(stderr, "usage: {} [--port N] [--host ADDRESS]\n", argv[0]);
            return 2;
        }
    }
    try {
        auto server = medusa::make<chat_server>(host, port);
        medusa::loop();
    } catch (const std::exception& e) {
        fmt::print(stderr, "chat_server: {}\n", e.what());
        return 1;
    }
}
