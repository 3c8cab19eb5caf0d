#include "http/header_list.h"

#include <cstring>

#include "http/request_parser.h"  // iequals

namespace medusa::http {

size_t header_list::find(std::string_view name) const {
    const uint32_t key = key_of(name);
    for (size_t i = 0; i < lines_.size(); ++i) {
        const line& l = lines_[i];
        if (l.key == key && iequals(std::string_view(text_.data() + l.off, l.name_len), name))
            return i;
    }
    return lines_.size();
}

void header_list::shift(size_t from, int64_t delta) {
    for (size_t i = from; i < lines_.size(); ++i) lines_[i].off = uint32_t(int64_t(lines_[i].off) + delta);
}

void header_list::set(std::string_view name, std::string_view value) {
    size_t i = find(name);
    if (i == lines_.size()) {
        add(name, value);
        return;
    }
    line& l = lines_[i];
    text_.replace(l.off + l.name_len + 2, l.value_len, value);
    int64_t delta = int64_t(value.size()) - int64_t(l.value_len);
    l.value_len = uint32_t(value.size());
    if (delta != 0) shift(i + 1, delta);
}

void header_list::add(std::string_view name, std::string_view value) {
    // A name or value that is a view of this list's own bytes (add("Content-Location",
    // *get("Location"))) would dangle when the buffer grows: copy it first.
    auto inside = [this](std::string_view v) {
        return !v.empty() && v.data() >= text_.data() && v.data() < text_.data() + text_.size();
    };
    if (inside(name) || inside(value)) {
        std::string n(name), v(value);
        add(n, v);
        return;
    }
    line l{uint32_t(text_.size()), uint32_t(name.size()), uint32_t(value.size()), key_of(name)};
    // One resize and three copies rather than four appends.
    text_.resize(l.off + l.size());
    char* out = text_.data() + l.off;
    if (!name.empty()) std::memcpy(out, name.data(), name.size());
    out += name.size();
    std::memcpy(out, ": ", 2);
    out += 2;
    if (!value.empty()) std::memcpy(out, value.data(), value.size());
    std::memcpy(out + value.size(), "\r\n", 2);
    lines_.push_back(l);
}

std::optional<std::string_view> header_list::get(std::string_view name) const {
    size_t i = find(name);
    if (i == lines_.size()) return std::nullopt;
    return (*this)[i].value;
}

bool header_list::remove(std::string_view name, std::optional<std::string_view> value) {
    bool removed = false;
    for (size_t i = 0; i < lines_.size();) {
        field f = (*this)[i];
        if (!iequals(f.name, name) || (value && f.value != *value)) {
            ++i;
            continue;
        }
        const line l = lines_[i];
        text_.erase(l.off, l.size());
        shift(i + 1, -int64_t(l.size()));
        erase_if(lines_, [&, n = size_t(0)](const line&) mutable { return n++ == i; });
        removed = true;
    }
    return removed;
}

void header_list::clear() {
    text_.clear();
    lines_.clear();
}

}  // namespace medusa::http
