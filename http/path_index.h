// path_index<V>: values by path, for the file cache's look-up of a request's path.
//
// A std::unordered_map<std::string, V> hashes the path with a general-purpose hash, finds the
// bucket with a division by a prime and follows a node pointer to the key: about a hundred
// instructions, a division among them, for every request the cache answers. This table hashes
// eight bytes at a time, keeps its slots a power of two (a mask finds the slot) and at most half
// full, probes linearly from there, and deletes by moving the entries after a freed slot back
// (no tombstones: a look-up never wades through deleted entries).
//
// Keys are views: the caller keeps each key's bytes alive, unmoved, for as long as its entry is
// in the index (the file cache's LRU nodes hold the path strings its entries are keyed by).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace medusa::http {

template <typename V>
class path_index {
public:
    // The value kept for `key`, or null. (Valid until the next set() or erase().)
    V* find(std::string_view key) {
        if (size_ == 0) return nullptr;
        const uint64_t h = hash(key);
        for (size_t i = h & mask();; i = (i + 1) & mask()) {
            slot& s = slots_[i];
            if (!s.used) return nullptr;
            if (s.hash == h && s.key == key) return &s.value;
        }
    }

    // Add an entry, or replace the value of the one with this key (its key then becomes `key`).
    void set(std::string_view key, V value) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        const uint64_t h = hash(key);
        size_t i = h & mask();
        for (; slots_[i].used; i = (i + 1) & mask()) {
            if (slots_[i].hash == h && slots_[i].key == key) {
                slots_[i].key = key;
                slots_[i].value = std::move(value);
                return;
            }
        }
        slots_[i] = slot{key, h, std::move(value), true};
        ++size_;
    }

    // Remove the entry with this key; false when there is none.
    bool erase(std::string_view key) {
        if (size_ == 0) return false;
        const uint64_t h = hash(key);
        size_t i = h & mask();
        for (;; i = (i + 1) & mask()) {
            if (!slots_[i].used) return false;
            if (slots_[i].hash == h && slots_[i].key == key) break;
        }
        // Move back each later entry of the run that may sit in the freed slot: one whose home
        // slot is not between the freed one and where it sits (cyclically, after i up to j).
        for (size_t j = i;;) {
            j = (j + 1) & mask();
            if (!slots_[j].used) break;
            const size_t home = slots_[j].hash & mask();
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            slots_[i] = std::move(slots_[j]);
            i = j;
        }
        slots_[i] = slot{};
        --size_;
        return true;
    }

    void clear() {
        for (slot& s : slots_) s = slot{};
        size_ = 0;
    }

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // Eight bytes at a time, each word mixed in by a multiply and a shift; the last partial
    // word read as overlapping or assembled loads, so no byte loop and no call.
    static uint64_t hash(std::string_view key) {
        const char* p = key.data();
        size_t n = key.size();
        uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
        auto mix = [&h](uint64_t w) {
            h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
        };
        const size_t total = n;
        while (n > 8) {
            mix(load<uint64_t>(p));
            p += 8;
            n -= 8;
        }
        if (total >= 8) {
            mix(load<uint64_t>(key.data() + total - 8));  // the last 8 (may overlap the previous)
        } else if (n >= 4) {
            mix(load<uint32_t>(p) | uint64_t(load<uint32_t>(p + n - 4)) << 32);
        } else if (n > 0) {
            const auto b = [p](size_t k) { return uint64_t(static_cast<unsigned char>(p[k])); };
            mix(b(0) | b(n / 2) << 8 | b(n - 1) << 16);
        }
        h *= 0x94d049bb133111ebull;
        return h ^ (h >> 32);
    }

private:
    struct slot {
        std::string_view key;
        uint64_t hash = 0;
        V value{};
        bool used = false;
    };

    template <typename W>
    static W load(const char* p) {
        W w;
        std::memcpy(&w, p, sizeof w);
        return w;
    }

    size_t mask() const { return slots_.size() - 1; }

    void grow() {
        std::vector<slot> old(slots_.empty() ? 16 : slots_.size() * 2);
        old.swap(slots_);
        for (slot& s : old) {
            if (!s.used) continue;
            size_t i = s.hash & mask();
            while (slots_[i].used) i = (i + 1) & mask();
            slots_[i] = std::move(s);
        }
    }

    std::vector<slot> slots_;  // a power of two of them, or none yet
    size_t size_ = 0;
};

}  // namespace medusa::http
