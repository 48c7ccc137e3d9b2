// BoundedTable: a hash table with a fixed capacity, for per-source and per-target detector state
// that an attacker must not be able to grow without limit (a spoofed flood brings millions of
// addresses).
//
// - Capacity is fixed at construction; all memory is allocated then, never on the packet path.
// - Entries are kept in least-recently-seen order. When the table is full, inserting evicts the
//   least recently seen entry — except that entries for which `keep_on_eviction(value)` is true
//   (they already carry evidence, e.g. of scanning) get a second chance: up to kMaxSkips of them
//   are moved to the front before the oldest entry is evicted anyway. Both are counted.
// - Lookups and inserts are O(1) expected (open addressing, linear probing, backward-shift erase).
//
// Hash may be cheap and poorly mixed (e.g. XOR of fields): the table mixes it before use, because
// keys that differ in one field must not share a home slot. A hash that already mixes well
// (core::IpAddressHash) says so through `hash_is_mixed`, and the table uses it as it is.
//
// Value must be default-constructible. Provide `bool keep_on_eviction(const Value&)` by ADL to
// protect entries; the default protects none.
#pragma once

#include <algorithm>
#include <cstdint>
#include <bit>
#include <cstring>
#include <memory>
#include <type_traits>
#include <functional>
#include <utility>
#include <vector>

#include "core/ip_address.hpp"
#include "core/time.hpp"
#include "state/mix.hpp"

namespace picket::state {

// True for hash functors whose every output bit depends on every input bit: the table skips its
// own mixing for them (a second finaliser on every lookup of the packet path buys nothing).
template <typename Hash>
inline constexpr bool hash_is_mixed = false;
template <>
inline constexpr bool hash_is_mixed<core::IpAddressHash> = true;

template <typename V>
constexpr bool keep_on_eviction(const V&) noexcept {
  return false;
}

struct TableStats {
  uint64_t inserts = 0;
  uint64_t evictions = 0;            // entries dropped to make room
  uint64_t evictions_protected = 0;  // of those, entries that carried evidence (table full of them)
  uint64_t second_chances = 0;       // protected entries spared at eviction time
  uint64_t expired = 0;              // entries removed by expire_idle
};

template <typename Key, typename Value, typename Hash>
class BoundedTable {
 public:
  static constexpr uint32_t kNil = 0xFFFFFFFFu;
  static constexpr uint32_t kFree = 0xFFFFFFFEu;  // `prev` of a slot that holds no entry
  static constexpr int kMaxSkips = 8;

  explicit BoundedTable(uint32_t capacity) : capacity_(std::clamp<uint32_t>(capacity, 1, kMaxCapacity)) {
    slots_.resize(capacity_);
    uint64_t n = 1;
    while (n < uint64_t{capacity_} * 2) n <<= 1;
    index_cells_ = n;
    index_ = std::make_unique<uint32_t[]>(n);  // all kEmptyCell (0)
    slot_bits_ = static_cast<uint32_t>(std::bit_width(capacity_));  // slot + 1 <= capacity < 2^slot_bits
    const uint32_t spare = 32 - slot_bits_;
    dist_bits_ = std::min<uint32_t>(4, spare / 2);
    slot_mask_ = (uint32_t{1} << slot_bits_) - 1;
    dist_max_ = (uint32_t{1} << dist_bits_) - 1;
    tag_shift_ = slot_bits_ + dist_bits_;
    tag_mask_ = ~uint32_t{0} << tag_shift_;
    mask_ = n - 1;
    for (uint32_t i = 0; i < capacity_; ++i) {
      slots_[i].next = i + 1 < capacity_ ? i + 1 : kNil;
      slots_[i].prev = kFree;
    }
    free_ = 0;
  }

  // Called with each entry evicted to make room (not for erase or expire_idle), just before it
  // goes. Eviction is rare enough for a std::function.
  void set_on_evict(std::function<void(const Key&, Value&)> f) { on_evict_ = std::move(f); }

  uint32_t size() const noexcept { return size_; }
  uint32_t capacity() const noexcept { return capacity_; }
  const TableStats& stats() const noexcept { return stats_; }
  // Bytes held by the table (slots and index), fixed at construction.
  size_t memory_bytes() const noexcept { return slots_.size() * sizeof(Slot) + index_cells_ * sizeof(uint32_t); }

  // The entry for `key`, marked as seen at `now`; nullptr if absent.
  Value* find(const Key& key, core::Timestamp now) noexcept { return find(key, hash_of(key), now); }

  // The same with the key's hash computed once (hash_of) for a find followed by an insert.
  uint64_t hash_of(const Key& key) const noexcept { return mixed_hash(key); }
  Value* find(const Key& key, uint64_t h, core::Timestamp now) noexcept {
    const uint32_t i = lookup(key, h);
    if (i == kNil) return nullptr;
    touch(i, now);
    return &slots_[i].value;
  }
  // Asks the CPU to fetch the index cell where a lookup with hash `h` (= hash_of(key)) starts,
  // for a caller that knows a key some work ahead of looking it up.
  void prefetch(uint64_t h) const noexcept { prefetch_line(&index_[home_of(h)]); }
  // Inserts `key`, which must be absent (find just said so), evicting if full; `h` = hash_of(key).
  Value* insert_absent(const Key& key, uint64_t h, core::Timestamp now) noexcept { return &slots_[insert_slot(key, h, now)].value; }

  // Slot numbers (0 .. capacity-1) let a queue refer to an entry without holding its key. A
  // slot is reused once its entry goes, so whoever looks one up later must check that the value
  // is still the one it meant (e.g. by a start time kept in both).
  // insert_absent, returning the slot: value_at(slot) is the new value.
  uint32_t insert_absent_slot(const Key& key, uint64_t h, core::Timestamp now) noexcept {
    return insert_slot(key, h, now);
  }
  Value& value_at(uint32_t slot) noexcept { return slots_[slot].value; }
  // The entry in `slot`, without touching it; {nullptr, nullptr} when the slot holds none.
  std::pair<const Key*, Value*> at_slot(uint32_t slot) noexcept {
    if (slot >= capacity_ || slots_[slot].prev == kFree) return {nullptr, nullptr};
    return {&slots_[slot].key, &slots_[slot].value};
  }
  // Starts fetching `slot` (a caller about to go through several slots it already knows).
  void prefetch_slot(uint32_t slot) const noexcept {
    if (slot < capacity_) prefetch_line(&slots_[slot]);
  }
  // Looks without touching (for reads that must not change eviction order).
  const Value* peek(const Key& key) const noexcept {
    const uint32_t i = lookup(key, mixed_hash(key));
    return i == kNil ? nullptr : &slots_[i].value;
  }
  Value* peek(const Key& key) noexcept {
    const uint32_t i = lookup(key, mixed_hash(key));
    return i == kNil ? nullptr : &slots_[i].value;
  }
  // The same with `h` = hash_of(key), for a caller that already needed the hash.
  const Value* peek(const Key& key, uint64_t h) const noexcept {
    const uint32_t i = lookup(key, h);
    return i == kNil ? nullptr : &slots_[i].value;
  }

  // The entry for `key`, inserted (default-constructed) if absent, evicting if full.
  // Returns the value and whether it was inserted.
  std::pair<Value*, bool> find_or_insert(const Key& key, core::Timestamp now) noexcept {
    core::Timestamp previous;
    return find_or_insert(key, now, previous);
  }
  // The same, also telling when the entry was last seen before this call (`now` when inserted):
  // state that moves only when its entry is seen can be derived from that time instead of stored.
  std::pair<Value*, bool> find_or_insert(const Key& key, core::Timestamp now, core::Timestamp& previous) noexcept {
    const uint64_t h = mixed_hash(key);
    uint32_t i = lookup(key, h);
    if (i != kNil) {
      previous = slots_[i].last_seen;
      touch(i, now);
      return {&slots_[i].value, false};
    }
    previous = now;
    return {&slots_[insert_slot(key, h, now)].value, true};
  }
  // When the entry holding `v` (a value of this table) was last seen: the latest `now` it was
  // found or inserted with.
  core::Timestamp last_seen(const Value& v) const noexcept {
    const auto offset = reinterpret_cast<const char*>(&v) - reinterpret_cast<const char*>(&slots_[0].value);
    return slots_[static_cast<size_t>(offset) / sizeof(Slot)].last_seen;
  }

  bool erase(const Key& key) noexcept {
    const uint64_t h = mixed_hash(key);
    const uint32_t i = lookup(key, h);
    if (i == kNil) return false;
    remove_slot(i, h);
    return true;
  }

  // Removes entries last seen before `cutoff`, walking from the least recently seen end and
  // stopping at the first entry seen since; calls on_expire(key, value) just before each goes.
  // (An entry given a second chance at eviction sits nearer the front than its last-seen time
  // says, so it may outlive the cutoff by a while: such entries carry evidence.)
  template <typename F>
  void expire_idle(core::Timestamp cutoff, F&& on_expire) {
    while (tail_ != kNil && slots_[tail_].last_seen < cutoff) {
      const uint32_t i = tail_;
      on_expire(static_cast<const Key&>(slots_[i].key), slots_[i].value);
      remove_slot(i);
      ++stats_.expired;
    }
  }
  void expire_idle(core::Timestamp cutoff) {
    expire_idle(cutoff, [](const Key&, Value&) {});
  }

  // Visits every entry, most recently seen first: f(const Key&, Value&, Timestamp last_seen).
  template <typename F>
  void for_each(F&& f) {
    for (uint32_t i = head_; i != kNil; i = slots_[i].next) f(static_cast<const Key&>(slots_[i].key), slots_[i].value, slots_[i].last_seen);
  }
  template <typename F>
  void for_each(F&& f) const {
    for (uint32_t i = head_; i != kNil; i = slots_[i].next) f(slots_[i].key, slots_[i].value, slots_[i].last_seen);
  }

 private:
  static void prefetch_line(const void* p) noexcept {
    __builtin_prefetch(p);
    // GCC counts a prefetch as no side effect: a caller holding nothing else (an inline function
    // that only prefetches) would be taken for a pure function and its call dropped.
    asm volatile("" : : "r"(p));
  }

  // The index: 32-bit cells in linear probing order, each packing
  //   slot + 1 (low slot_bits_; 0 is an empty cell),
  //   the distance from the cell's home position (dist_bits_; dist_max_ means "that or more": the
  //     home is then recomputed from the slot's key),
  //   a tag of the key's hash (the remaining high bits), so most mismatches are rejected without
  //     reading the slot.
  // Erasing shifts cells back without reading their slots while their distance fits.
  static constexpr uint32_t kEmptyCell = 0;
  static constexpr uint32_t kMaxCapacity = (uint32_t{1} << 28) - 1;  // leaves 4 bits of distance and tag

  // No stored hash: removal recomputes it from the key (8 bytes less per entry; the hash is
  // cheap next to the cache miss of reading the slot, which removal pays anyway).
  struct Slot {
    Key key{};
    Value value{};
    core::Timestamp last_seen;
    uint32_t prev = kNil;
    uint32_t next = kNil;
  };

  uint32_t insert_slot(const Key& key, uint64_t h, core::Timestamp now) noexcept {
    if (free_ == kNil) evict_one();
    const uint32_t i = free_;
    free_ = slots_[i].next;
    Slot& s = slots_[i];
    s.key = key;
    s.value = Value{};
    s.last_seen = now;
    link_front(i);
    index_insert(h, i);
    ++size_;
    ++stats_.inserts;
    return i;
  }

  uint64_t mixed_hash(const Key& key) const noexcept {
    if constexpr (hash_is_mixed<Hash>) {
      return static_cast<uint64_t>(hash_(key));
    } else {
      return mix64(static_cast<uint64_t>(hash_(key)));
    }
  }

  uint64_t home_of(uint64_t h) const noexcept { return (h >> 32) & mask_; }
  uint32_t tag_of(uint64_t h) const noexcept { return (static_cast<uint32_t>(h) << tag_shift_) & tag_mask_; }
  uint32_t cell(uint64_t h, uint64_t dist, uint32_t i) const noexcept {
    return tag_of(h) | (static_cast<uint32_t>(std::min<uint64_t>(dist, dist_max_)) << slot_bits_) | (i + 1);
  }
  static uint32_t slot_of_cell(uint32_t c, uint32_t slot_mask) noexcept { return (c & slot_mask) - 1; }
  // The home position of the cell at `pos`.
  uint64_t home_of_cell(uint32_t c, uint64_t pos) const noexcept {
    const uint32_t d = (c >> slot_bits_) & dist_max_;
    if (d < dist_max_) return (pos - d) & mask_;
    return home_of(mixed_hash(slots_[slot_of_cell(c, slot_mask_)].key));
  }

  uint32_t lookup(const Key& key, uint64_t h) const noexcept {
    const uint32_t tag = tag_of(h);
    for (uint64_t pos = home_of(h);; pos = (pos + 1) & mask_) {
      const uint32_t c = index_[pos];
      if (c == kEmptyCell) return kNil;
      if ((c & tag_mask_) == tag) {
        const uint32_t i = slot_of_cell(c, slot_mask_);
        if (slots_[i].key == key) return i;
      }
    }
  }

  void index_insert(uint64_t h, uint32_t i) noexcept {
    const uint64_t home = home_of(h);
    uint64_t pos = home;
    while (index_[pos] != kEmptyCell) pos = (pos + 1) & mask_;
    index_[pos] = cell(h, (pos - home) & mask_, i);
  }

  void index_erase(uint64_t h, uint32_t i) noexcept {
    uint64_t pos = home_of(h);
    while (index_[pos] == kEmptyCell || slot_of_cell(index_[pos], slot_mask_) != i) pos = (pos + 1) & mask_;
    // Backward-shift deletion keeps probe sequences intact without tombstones.
    uint64_t hole = pos;
    for (uint64_t next = (hole + 1) & mask_;; next = (next + 1) & mask_) {
      const uint32_t c = index_[next];
      if (c == kEmptyCell) break;
      const uint64_t home = home_of_cell(c, next);
      // Move c into the hole if its home position is not in (hole, next].
      const bool in_range = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (!in_range) {
        const uint32_t d = static_cast<uint32_t>(std::min<uint64_t>((hole - home) & mask_, dist_max_));
        index_[hole] = (c & ~(dist_max_ << slot_bits_)) | (d << slot_bits_);
        hole = next;
      }
    }
    index_[hole] = kEmptyCell;
  }

  void unlink(uint32_t i) noexcept {
    Slot& s = slots_[i];
    if (s.prev != kNil) slots_[s.prev].next = s.next; else head_ = s.next;
    if (s.next != kNil) slots_[s.next].prev = s.prev; else tail_ = s.prev;
    s.prev = s.next = kNil;
  }
  void link_front(uint32_t i) noexcept {
    Slot& s = slots_[i];
    s.prev = kNil;
    s.next = head_;
    if (head_ != kNil) slots_[head_].prev = i;
    head_ = i;
    if (tail_ == kNil) tail_ = i;
  }
  void touch(uint32_t i, core::Timestamp now) noexcept {
    if (now > slots_[i].last_seen) slots_[i].last_seen = now;
    if (head_ == i) return;
    unlink(i);
    link_front(i);
  }
  void remove_slot(uint32_t i) noexcept { remove_slot(i, mixed_hash(slots_[i].key)); }
  void remove_slot(uint32_t i, uint64_t h) noexcept {
    index_erase(h, i);
    unlink(i);
    // insert_slot resets the value when the slot is reused; only a value holding resources (a
    // container) gives them back now. Skipping the reset spares a write to a cold slot.
    if constexpr (!std::is_trivially_destructible_v<Value>) slots_[i].value = Value{};
    slots_[i].prev = kFree;
    slots_[i].next = free_;
    free_ = i;
    --size_;
  }
  void evict_one() noexcept {
    for (int skips = 0; skips < kMaxSkips && tail_ != kNil; ++skips) {
      const uint32_t t = tail_;
      if (!keep_on_eviction(slots_[t].value)) break;
      // A second chance: move to the front without changing its last-seen time.
      unlink(t);
      link_front(t);
      ++stats_.second_chances;
    }
    const uint32_t victim = tail_;
    if (keep_on_eviction(slots_[victim].value)) ++stats_.evictions_protected;
    ++stats_.evictions;
    if (on_evict_) on_evict_(static_cast<const Key&>(slots_[victim].key), slots_[victim].value);
    remove_slot(victim);
  }

  uint32_t capacity_;
  std::vector<Slot> slots_;
  std::unique_ptr<uint32_t[]> index_;
  uint64_t index_cells_ = 0;
  uint64_t mask_ = 0;
  uint32_t slot_bits_ = 0;
  uint32_t dist_bits_ = 0;
  uint32_t slot_mask_ = 0;
  uint32_t dist_max_ = 0;
  uint32_t tag_shift_ = 0;
  uint32_t tag_mask_ = 0;
  uint32_t head_ = kNil;
  uint32_t tail_ = kNil;
  uint32_t free_ = kNil;
  uint32_t size_ = 0;
  TableStats stats_;
  std::function<void(const Key&, Value&)> on_evict_;
  [[no_unique_address]] Hash hash_{};
};

}  // namespace picket::state
