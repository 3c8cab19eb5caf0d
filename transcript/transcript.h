// A transcript: one recorded client/server conversation (the format is FORMAT.md in the shared
// transcripts folder). This file reads, checks and writes them:
//
//   # a comment
//   @ title: GET / serves index.html
//   @ fixture: docroot
//   > GET / HTTP/1.0\r\n          bytes the client sends (consecutive `>` lines are one write)
//   > \r\n
//   ~ 5                           a pause of 5 ms (it also splits two sends into two writes)
//   < HTTP/1.0 200 OK\r\n         bytes the client expects; `{*}` globs allowed
//   < Date: {*}\r\n
//   <close>                       the server closes here
//
// parse() builds the structure and throws parse_error on anything it cannot replay; lint() also
// reports what is replayable but suspicious (an unknown metadata key, metadata after the first
// step, an HTTP expectation before any request). write() produces the canonical text, and
// parse(write(t)) == t for every transcript t.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "transcript/pattern.h"

namespace medusa::transcript {

enum class step_kind { send, pause, expect, close };

struct step {
    step_kind kind = step_kind::send;
    pattern bytes;   // send: the bytes of one write (no globs); expect: the expected bytes
    int pause_ms = 0;  // pause only
    int line = 0;      // first line in the file (for messages); not part of equality

    static step send(std::string b) { return {step_kind::send, pattern(std::move(b)), 0, 0}; }
    static step expect(pattern p) { return {step_kind::expect, std::move(p), 0, 0}; }
    static step pause(int ms) { return {step_kind::pause, {}, ms, 0}; }
    static step close() { return {step_kind::close, {}, 0, 0}; }

    bool operator==(const step& o) const {
        return kind == o.kind && bytes == o.bytes && pause_ms == o.pause_ms;
    }
};

enum class protocol_kind { http, raw };

struct metadata_entry {
    std::string key, value;
    bool operator==(const metadata_entry&) const = default;
};

struct transcript {
    std::string name;  // the case's name: the file name without ".transcript"
    std::string path;  // where it was read from; empty for one built in memory
    std::vector<std::string> comments;       // every `#` line's text (after "#"), in file order
    std::vector<metadata_entry> metadata;    // every `@` line in file order, known keys included
    std::vector<step> steps;                 // canonical: adjacent sends and adjacent expects merged

    // Appends a step the way the parser does: a send right after a send joins it (one write; put a
    // pause, `~ 0` for none, between two writes), an expect right after an expect joins it too.
    // Build steps with add() and parse(write(t)) == t holds.
    void add(step s);

    // The value of a metadata key, if present (the first one if repeated).
    std::optional<std::string> get(std::string_view key) const;
    void set(std::string_view key, std::string value);  // replaces or appends
    std::string title() const { return get("title").value_or(""); }
    std::string fixture() const { return get("fixture").value_or("docroot"); }
    std::string source() const { return get("source").value_or(""); }
    protocol_kind protocol() const;  // http unless `@ protocol: raw`

    // Equality of content: name and path are not compared.
    bool operator==(const transcript& o) const {
        return comments == o.comments && metadata == o.metadata && steps == o.steps;
    }
};

// The metadata keys FORMAT.md defines.
bool is_known_key(std::string_view key);

struct problem {
    std::string file;
    int line = 0;
    std::string message;
    bool fatal = false;  // the transcript cannot be replayed
    std::string to_string() const;  // "x.transcript:12: bad escape \q"
};

class parse_error : public std::runtime_error {
public:
    explicit parse_error(const problem& p) : std::runtime_error(p.to_string()), where_(p) {}
    const problem& where() const { return where_; }

private:
    problem where_;
};

// `file` names the source in messages and gives the case its name.
transcript parse(std::string_view text, std::string_view file);
// Reads and parses a file; throws parse_error, or std::system_error when it cannot be read.
transcript read_file(const std::string& path);
// The whole file as bytes; throws std::system_error naming open(path).
std::string read_text_file(const std::string& path);

// Every problem in the text, in line order (fatal or not). Empty means the file is clean.
std::vector<problem> lint(std::string_view text, std::string_view file);

// The canonical text: comments, metadata, a blank line, then the steps with a blank line before each
// turn. Long lines are wrapped (consecutive lines of one kind are joined again when read).
std::string write(const transcript& t);

// The case name for a path: "dir/get_root.transcript" gives "get_root".
std::string case_name(std::string_view path);

}  // namespace medusa::transcript
