#include "http/header_list.h"

#include <algorithm>
#include <cstring>

#include "http/request_parser.h"  // iequals

namespace medusa::http {

namespace {

// memcpy for the few bytes of a header's name or value: inline loads and stores rather than a
// call into libc. Two overlapping pieces cover any length between one piece and two: 4 to 8
// bytes, 8 to 16, 16 to 32 (a Date value is 29).
template <size_t N>
inline void copy_piece(char* to, const char* from) {
    char piece[N];
    std::memcpy(piece, from, N);
    std::memcpy(to, piece, N);
}
inline void copy_short(char* to, const char* from, size_t n) {
    if (n >= 16 && n <= 32) {
        copy_piece<16>(to, from);
        copy_piece<16>(to + n - 16, from + n - 16);
    } else if (n >= 8 && n < 16) {
        copy_piece<8>(to, from);
        copy_piece<8>(to + n - 8, from + n - 8);
    } else if (n >= 4 && n < 8) {
        copy_piece<4>(to, from);
        copy_piece<4>(to + n - 4, from + n - 4);
    } else if (n > 0) {
        std::memcpy(to, from, n);  // (from may be null when n is 0)
    }
}

}  // namespace

void header_list::reserve(size_t bytes) { text_.reserve(bytes); }

size_t header_list::find(std::string_view name) const {
    const uint32_t key = name_key(name);
    if (!(present_ & key_bit(key))) return lines_.size();
    for (size_t i = 0; i < lines_.size(); ++i) {
        const line& l = lines_[i];
        if (l.key == key && iequals(std::string_view(text_.data() + l.off, l.name_len), name))
            return i;
    }
    return lines_.size();
}

void header_list::shift(size_t from, int64_t delta) {
    for (size_t i = from; i < lines_.size(); ++i)
        lines_[i].off = uint32_t(int64_t(lines_[i].off) + delta);
}

void header_list::set(std::string_view name, std::string_view value) {
    size_t i = find(name);
    if (i == lines_.size()) {
        add(name, value);
        return;
    }
    if (owns(value)) {  // a view of our own bytes would move under the edit
        std::string copy(value);
        set(name, copy);
        return;
    }
    line& l = lines_[i];
    const size_t old_size = text_.size();
    const int64_t delta = int64_t(value.size()) - int64_t(l.value_len);
    if (delta > 0) text_.resize(old_size + size_t(delta));
    // Move what follows the old value to where the new one ends, then write it.
    char* at = text_.data() + l.off + l.name_len + 2;
    std::memmove(at + value.size(), at + l.value_len, old_size - (l.off + l.name_len + 2 + l.value_len));
    if (!value.empty()) std::memcpy(at, value.data(), value.size());
    if (delta < 0) text_.truncate(size_t(int64_t(old_size) + delta));
    l.value_len = uint32_t(value.size());
    if (delta != 0) shift(i + 1, delta);
}

void header_list::add(std::string_view name, std::string_view value) {
    // A name or value that is a view of this list's own bytes (add("Content-Location",
    // *get("Location"))) would dangle when the buffer grows: copy it first.
    if (owns(name) || owns(value)) {
        std::string n(name), v(value);
        add(n, v);
        return;
    }
    const size_t at = text_.size();
    line l{uint32_t(at), uint32_t(name.size()), uint32_t(value.size()), name_key(name)};
    text_.resize(at + l.size());
    char* out = text_.data() + at;
    copy_short(out, name.data(), name.size());
    out += name.size();
    out[0] = ':';
    out[1] = ' ';
    out += 2;
    copy_short(out, value.data(), value.size());
    out[value.size()] = '\r';
    out[value.size() + 1] = '\n';
    present_ |= key_bit(l.key);
    lines_.push_back(l);
}

bool header_list::remove(std::string_view name, std::optional<std::string_view> value) {
    std::string kept_value;  // a view of our own bytes would move under the erase
    if (value && owns(*value)) value = kept_value = std::string(*value);
    bool removed = false;
    for (size_t i = 0; i < lines_.size();) {
        field f = (*this)[i];
        if (!iequals(f.name, name) || (value && f.value != *value)) {
            ++i;
            continue;
        }
        const line l = lines_[i];
        std::memmove(text_.data() + l.off, text_.data() + l.off + l.size(),
                     text_.size() - (l.off + l.size()));
        text_.truncate(text_.size() - l.size());
        shift(i + 1, -int64_t(l.size()));
        erase_if(lines_, [&, n = size_t(0)](const line&) mutable { return n++ == i; });
        removed = true;
    }
    if (removed) {
        present_ = 0;
        for (const line& l : lines_) present_ |= key_bit(l.key);
    }
    return removed;
}

void header_list::assign(const header_list& other) {
    if (this == &other) return;
    clear();
    set(other);  // (an empty list shares no name with it: one copy of its bytes)
}

void header_list::set(const header_list& other) {
    if (this == &other) return;
    if (present_ & other.present_) {
        // A name of `other` may be here (the bits say so for every name that is): one by one.
        for (size_t i = 0; i < other.size(); ++i) set(other[i].name, other[i].value);
        return;
    }
    const uint32_t at = uint32_t(text_.size());
    text_.append(other.text_.view());
    const size_t first = lines_.size();
    lines_.append(other.lines_.begin(), other.lines_.size());
    if (at > 0)
        for (size_t i = first; i < lines_.size(); ++i) lines_[i].off += at;
    present_ |= other.present_;
}

void header_list::prepend(const header_list& other) {
    if (this == &other || other.empty()) return;
    const size_t n = other.text_.size();
    const size_t old = text_.size();
    text_.resize(old + n);
    std::memmove(text_.data() + n, text_.data(), old);
    std::memcpy(text_.data(), other.text_.data(), n);
    small_vector<line, 8> lines;
    lines.reserve(other.lines_.size() + lines_.size());
    lines.append(other.lines_.begin(), other.lines_.size());
    for (line l : lines_) {
        l.off += uint32_t(n);
        lines.push_back(l);
    }
    lines_ = std::move(lines);
    present_ |= other.present_;
}

void header_list::clear() {
    text_.clear();
    lines_.clear();
    present_ = 0;
}

}  // namespace medusa::http
