// header_list: the headers of a reply, kept as the bytes they are sent as.
//
// medusa kept reply headers as a list of strings and joined them when the reply went out. Here
// the list is one buffer of "Name: value\r\n" lines in order, with an index of where each line's
// name and value are: setting a header is an append (or an in-place edit), and the header block
// of the reply is that buffer as it stands, with no formatting pass. The first 256 bytes of
// lines are kept inside the list itself, so the headers of most replies cost no allocation.
//
// Names compare case-insensitively (ASCII). Lookup is a linear scan (a reply has a handful of
// headers, and a name of the wrong length costs one integer compare), after a bit mask of the
// names present has ruled out most names that are not there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "asyncore/small_buffer.h"
#include "asyncore/small_vector.h"
#include "http/request_parser.h"  // name_key, key_bit

namespace medusa::http {

class header_list {
public:
    header_list() = default;
    // (Not copied or moved: a request keeps its list where it is.)
    header_list(const header_list&) = delete;
    header_list& operator=(const header_list&) = delete;

    struct field {
        std::string_view name;
        std::string_view value;
    };

    // Replace the value of the first header of this name (it keeps its place), or add it.
    void set(std::string_view name, std::string_view value);
    // Add another header of this name after the others (Set-Cookie).
    void add(std::string_view name, std::string_view value);
    // The value of the first header of this name: a view that lasts until the next change to
    // the list (set, add, remove or clear move the bytes).
    std::optional<std::string_view> get(std::string_view name) const {
        if (!(present_ & key_bit(name_key(name)))) return std::nullopt;  // (inline: one test)
        size_t i = find(name);
        if (i == lines_.size()) return std::nullopt;
        return (*this)[i].value;
    }
    // Remove every header of this name (only those with this value, when given); false when none
    // matched.
    bool remove(std::string_view name, std::optional<std::string_view> value = std::nullopt);
    void clear();
    // Make this list a copy of `other` (a request's reply starts from a prepared list of the
    // headers every reply carries: one copy of its bytes instead of a set() per header).
    void assign(const header_list& other);
    // set() each header of `other`, in its order; `other` names each header once (a list made
    // with set(), or add() of distinct names). When none of its names is here already (the
    // rule), that is one copy of its bytes: a file's Last-Modified, Content-Length and
    // Content-Type, prepared when the file was cached, cost a reply one copy.
    void set(const header_list& other);
    // Put `other`'s lines ahead of these, in its order (a request's Server and Date, written into
    // its list only when something asks for the whole list or for those names).
    void prepend(const header_list& other);
    // False when no header of this name is here (one test); true when one may be.
    bool may_have(std::string_view name) const { return present_ & key_bit(name_key(name)); }

    size_t size() const { return lines_.size(); }
    bool empty() const { return lines_.empty(); }
    field operator[](size_t i) const {
        const line& l = lines_[i];
        return {std::string_view(text_.data() + l.off, l.name_len),
                std::string_view(text_.data() + l.off + l.name_len + 2, l.value_len)};
    }
    // "Name: value\r\n" for each header, in order: the reply's header block without its status
    // line and final blank line.
    std::string_view text() const { return text_.view(); }

    // Room for this many bytes of header lines before the buffer grows.
    void reserve(size_t bytes);

private:
    struct line {
        uint32_t off;        // where "Name" starts in text_
        uint32_t name_len;   // ": " follows the name
        uint32_t value_len;  // "\r\n" follows the value
        uint32_t key;        // name_key(name): a name that differs here differs
        uint32_t size() const { return name_len + value_len + 4; }
    };
    // The index of the first line with this name, or size().
    size_t find(std::string_view name) const;
    // Lines after `from` moved by `delta` bytes in text_.
    void shift(size_t from, int64_t delta);
    // Whether v points into our own bytes (it would move when they are edited). One unsigned
    // compare: a view starting before text_ wraps around to a huge offset. (An empty view inside
    // counts too; copying it costs nothing.)
    bool owns(std::string_view v) const {
        return uintptr_t(reinterpret_cast<uintptr_t>(v.data()) -
                         reinterpret_cast<uintptr_t>(text_.data())) < text_.size();
    }

    // The lines, back to back: adding a header is one copy of its bytes, with no zero-filling
    // resize before it. The headers of most replies (Server, Date, Content-Type, Content-Length,
    // Last-Modified, Connection: about 200 bytes) fit in the list itself.
    small_buffer<256> text_;
    small_vector<line, 8> lines_;
    uint32_t present_ = 0;  // key_bit() of every line's key
};

}  // namespace medusa::http
