#include "transcript/replay.h"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "transcript/client.h"
#include "transcript/http_framing.h"
#include "transcript/matcher.h"

namespace medusa::transcript {

namespace {

std::string seconds(std::chrono::milliseconds ms) {
    return ms.count() % 1000 == 0 ? fmt::format("{} s", ms.count() / 1000) : fmt::format("{:.3g} s", ms.count() / 1000.0);
}

// One run of a transcript. Each method returns false once the case has failed.
class session {
public:
    session(const transcript& t, const replay_options& o, case_result& r) : t_(t), o_(o), r_(r) {}

    void run() {
        try {
            conn_ = std::make_unique<client>(o_.host, o_.port, o_.timeout);
        } catch (const std::system_error& e) {
            turn_ = 0;  // no turn has started
            fail(e.what(), false);
            return;
        }
        const auto& steps = t_.steps;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const step& s = steps[i];
            index_ = i;
            bool ok = true;
            try {
                switch (s.kind) {
                    case step_kind::send: ok = send(s); break;
                    case step_kind::pause: std::this_thread::sleep_for(std::chrono::milliseconds(s.pause_ms)); break;
                    case step_kind::expect:
                        ok = expect(s, i + 1 < steps.size() && steps[i + 1].kind == step_kind::close);
                        break;
                    case step_kind::close: ok = expect_close(); break;
                }
            } catch (const std::system_error& e) {
                ok = fail(e.what(), true);
            }
            if (!ok) return;
        }
        try {
            if (steps.empty() || steps.back().kind != step_kind::close) stays_open();
        } catch (const std::system_error& e) {
            fail(e.what(), true);
        }
    }

private:
    // A send after an expectation starts the next turn; before it, the last reply must be over.
    bool send(const step& s) {
        if (expected_something_) {
            if (!check_quiet("before the next request")) return false;
            ++turn_;
            expected_something_ = false;
            turn_spec_.reset();
            turn_bytes_.clear();
        }
        if (conn_->eof()) {
            return fail("the server closed the connection before this request was sent", true);
        }
        conn_->send_all(s.bytes.bytes, steady::now() + o_.timeout, pending_);
        sent_ += s.bytes.bytes;
        return true;
    }

    bool expect(const step& s, bool close_follows) {
        turn_spec spec;
        spec.expected = s.bytes;
        spec.proto = t_.protocol();
        spec.strict = o_.strict;
        spec.methods = request_methods(sent_);
        spec.first_request = answered_;
        spec.close_follows = close_follows;

        auto deadline = steady::now() + o_.timeout;
        bool timed_out = false;
        while (!turn_settled(spec, pending_, conn_->eof())) {
            if (steady::now() >= deadline || !conn_->read_some(deadline, pending_)) {
                timed_out = !conn_->eof();
                break;
            }
        }
        // Whether the server will close is not known yet when the reply itself differs: the diff
        // shows "<close>" only once the end has been seen, so it does not flag a difference there.
        turn_spec shown = spec;
        shown.close_follows = close_follows && conn_->eof();
        turn_outcome out = compare_turn(shown, pending_, conn_->eof(), title());
        turn_bytes_ += pending_.substr(0, out.consumed);
        pending_.erase(0, out.consumed);
        answered_ += out.requests_answered;
        turn_spec_ = std::move(spec);
        expected_something_ = true;
        if (out.ok) return true;
        std::string why = out.message;
        if (out.incomplete && timed_out) {
            why += fmt::format(" (timed out after {})", seconds(o_.timeout));
        } else if (out.incomplete && conn_->eof()) {
            why += conn_->reset() ? " (the connection was reset)" : " (the server closed the connection)";
        }
        r_.diff = out.diff;
        return fail(why, false);
    }

    // `<close>`: end-of-file, and nothing before it.
    bool expect_close() {
        if (!pending_.empty()) return fail("bytes arrived where the transcript says <close>", true);
        // Right after a reply, a closing server has already closed; straight after a request, give
        // it the time it needs to answer.
        auto wait = expected_something_ ? o_.close_wait : o_.timeout;
        auto deadline = steady::now() + wait;
        while (!conn_->eof() && pending_.empty() && conn_->read_some(deadline, pending_)) {
        }
        expected_something_ = true;
        if (!pending_.empty()) return fail("bytes arrived where the transcript says <close>", true);
        if (!conn_->eof()) {
            return fail(fmt::format("the transcript says <close> but the server kept the connection open for {}",
                                    seconds(wait)),
                        true);
        }
        return true;
    }

    // The end without `<close>`: the connection must stay open and quiet for the grace period.
    void stays_open() {
        if (!check_quiet("after the last expected reply")) return;
        auto deadline = steady::now() + o_.grace;
        while (!conn_->eof() && pending_.empty() && conn_->read_some(deadline, pending_)) {
        }
        check_quiet("after the last expected reply");
    }

    bool check_quiet(std::string_view when) {
        if (!pending_.empty()) return fail(fmt::format("unexpected bytes {}", when), true);
        if (conn_->eof()) {
            return fail(fmt::format("the server closed the connection {}; the transcript has no <close> here", when),
                        true);
        }
        return true;
    }

    // Records the failure. With `with_diff`, the diff is that of the current turn as it stands,
    // including bytes and end-of-file that came after its expectation was met.
    bool fail(std::string message, bool with_diff) {
        r_.outcome = verdict::fail;
        r_.turn = turn_;
        r_.message = std::move(message);
        if (with_diff) {
            turn_spec spec = turn_spec_.value_or(turn_spec{});
            if (!turn_spec_) {
                spec.proto = t_.protocol();
                spec.methods = request_methods(sent_);
                spec.first_request = answered_;
            }
            if (!turn_spec_) spec.close_follows = next_is_close();
            r_.diff = compare_turn(spec, turn_bytes_ + pending_, conn_ && conn_->eof(), title()).diff;
        }
        return false;
    }

    // Whether the expectation this turn is heading for is `<close>`.
    bool next_is_close() const {
        for (std::size_t i = index_; i < t_.steps.size(); ++i) {
            if (t_.steps[i].kind == step_kind::close) return true;
            if (t_.steps[i].kind == step_kind::expect) return false;
        }
        return false;
    }

    std::string title() const { return fmt::format("expected ({}, turn {})", t_.name, turn_); }

    const transcript& t_;
    const replay_options& o_;
    case_result& r_;
    std::unique_ptr<client> conn_;
    std::string sent_;        // every byte sent so far: the replies to HEAD are known from it
    std::string pending_;     // received, not yet matched to an expectation
    std::string turn_bytes_;  // received and matched in the current turn
    std::optional<turn_spec> turn_spec_;
    std::size_t answered_ = 0;
    int turn_ = 1;
    std::size_t index_ = 0;  // the step being run
    bool expected_something_ = false;
};

}  // namespace

std::string case_result::report() const {
    switch (outcome) {
        case verdict::pass: return fmt::format("PASS {}\n", name);
        case verdict::skip: return fmt::format("SKIP {} (fixed: {})\n", name, message);
        case verdict::fail: break;
    }
    std::string out = turn > 0 ? fmt::format("FAIL {}: turn {}: {}\n", name, turn, message)
                               : fmt::format("FAIL {}: {}\n", name, message);
    std::size_t at = 0;
    while (at < diff.size()) {
        std::size_t nl = diff.find('\n', at);
        if (nl == std::string::npos) nl = diff.size();
        out += fmt::format("    {}\n", std::string_view(diff).substr(at, nl - at));
        at = nl + 1;
    }
    return out;
}

case_result replay(const transcript& t, const replay_options& options) {
    case_result r;
    r.name = t.name;
    r.fixture = t.fixture();
    auto start = steady::now();
    session s(t, options, r);
    s.run();
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    return r;
}

}  // namespace medusa::transcript
