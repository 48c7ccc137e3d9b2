#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "core/ip_address.hpp"
#include "state/bounded_table.hpp"
#include "state/distinct.hpp"
#include "state/sliding_window.hpp"

namespace picket::state {
namespace {

using core::Duration;
using core::Timestamp;

struct U32Hash {
  uint64_t operator()(uint32_t k) const noexcept { return mix64(k); }
};
struct Entry {
  int hits = 0;
  bool evidence = false;
};
bool keep_on_eviction(const Entry& e) noexcept { return e.evidence; }

Timestamp at(int64_t s) { return Timestamp::from_parts(1'767'225'600 + s, 0); }

TEST(BoundedTable, InsertFindErase) {
  BoundedTable<uint32_t, Entry, U32Hash> t(100);
  for (uint32_t k = 0; k < 100; ++k) {
    auto [v, inserted] = t.find_or_insert(k, at(k));
    ASSERT_TRUE(inserted);
    v->hits = static_cast<int>(k);
  }
  EXPECT_EQ(t.size(), 100u);
  for (uint32_t k = 0; k < 100; ++k) {
    auto* v = t.find(k, at(200));
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(v->hits, static_cast<int>(k));
  }
  for (uint32_t k = 0; k < 100; k += 2) EXPECT_TRUE(t.erase(k));
  EXPECT_FALSE(t.erase(0));
  EXPECT_EQ(t.size(), 50u);
  for (uint32_t k = 0; k < 100; ++k) EXPECT_EQ(t.peek(k) != nullptr, k % 2 == 1) << k;
  EXPECT_EQ(t.stats().evictions, 0u);
}

TEST(BoundedTable, EvictsLeastRecentlySeenWhenFull) {
  BoundedTable<uint32_t, Entry, U32Hash> t(3);
  t.find_or_insert(1, at(1));
  t.find_or_insert(2, at(2));
  t.find_or_insert(3, at(3));
  t.find(1, at(4));            // 1 is now the most recent; 2 the least
  t.find_or_insert(4, at(5));  // evicts 2
  EXPECT_EQ(t.peek(2), nullptr);
  EXPECT_NE(t.peek(1), nullptr);
  EXPECT_NE(t.peek(3), nullptr);
  EXPECT_NE(t.peek(4), nullptr);
  EXPECT_EQ(t.stats().evictions, 1u);
  EXPECT_EQ(t.size(), 3u);
}

TEST(BoundedTable, KeepsEntriesWithEvidence) {
  BoundedTable<uint32_t, Entry, U32Hash> t(4);
  t.find_or_insert(1, at(1)).first->evidence = true;  // a scanner, oldest
  t.find_or_insert(2, at(2));
  t.find_or_insert(3, at(3));
  t.find_or_insert(4, at(4));
  t.find_or_insert(5, at(5));  // must evict 2, not the scanner
  EXPECT_NE(t.peek(1), nullptr);
  EXPECT_EQ(t.peek(2), nullptr);
  EXPECT_EQ(t.stats().second_chances, 1u);
  EXPECT_EQ(t.stats().evictions_protected, 0u);
}

TEST(BoundedTable, FullOfEvidenceStillMakesRoomAndCountsIt) {
  BoundedTable<uint32_t, Entry, U32Hash> t(2);
  t.find_or_insert(1, at(1)).first->evidence = true;
  t.find_or_insert(2, at(2)).first->evidence = true;
  auto [v, inserted] = t.find_or_insert(3, at(3));
  EXPECT_TRUE(inserted);
  EXPECT_NE(v, nullptr);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.stats().evictions_protected, 1u);
}

TEST(BoundedTable, MillionsOfKeysStayWithinCapacity) {
  BoundedTable<core::IpAddress, Entry, core::IpAddressHash> t(1000);
  for (uint32_t k = 0; k < 200'000; ++k) t.find_or_insert(core::IpAddress::v4(0xC6120000u + k), at(k / 1000));
  EXPECT_EQ(t.size(), 1000u);
  EXPECT_EQ(t.stats().evictions, 199'000u);
  // The most recent thousand are the ones kept.
  for (uint32_t k = 199'000; k < 200'000; ++k) ASSERT_NE(t.peek(core::IpAddress::v4(0xC6120000u + k)), nullptr);
  EXPECT_EQ(t.peek(core::IpAddress::v4(0xC6120000u + 198'999)), nullptr);
}

// Random inserts and erases over `keys` keys (fewer than the capacity: no eviction), checked
// against a std::set after each erase and at the end.
template <typename Hash>
void expect_matches_a_reference_set(BoundedTable<uint32_t, Entry, Hash>& t, uint64_t seed, int ops, uint32_t keys) {
  std::set<uint32_t> ref;
  uint64_t x = seed;
  for (int i = 0; i < ops; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint32_t k = static_cast<uint32_t>(x >> 33) % keys;
    if ((x >> 20) % 3 == 0) {
      ASSERT_EQ(t.erase(k), ref.erase(k) == 1) << i;
    } else {
      t.find_or_insert(k, at(i));
      ref.insert(k);
    }
  }
  EXPECT_EQ(t.size(), ref.size());
  for (uint32_t k = 0; k < keys; ++k) EXPECT_EQ(t.peek(k) != nullptr, ref.count(k) == 1) << k;
}

TEST(BoundedTable, RandomOperationsMatchAReferenceSet) {
  BoundedTable<uint32_t, Entry, U32Hash> t(512);
  expect_matches_a_reference_set(t, 12345, 100'000, 400);
}

// Every key's hash has one of four home positions and one of two tags: probe runs far longer than
// a cell's distance field holds, so erasing must fall back to the keys to find where cells belong.
struct ClusteredHash {
  uint64_t operator()(uint32_t k) const noexcept { return (uint64_t{k % 4} << 32) | (k % 2); }
};
}  // namespace
template <>
inline constexpr bool hash_is_mixed<ClusteredHash> = true;  // used as it is: the clusters stay
namespace {

TEST(BoundedTable, LongProbeRunsMatchAReferenceSet) {
  BoundedTable<uint32_t, Entry, ClusteredHash> t(256);
  expect_matches_a_reference_set(t, 987654321, 50'000, 200);
  // Expiring everything through the same runs leaves an empty index: nothing is found after.
  t.expire_idle(at(1'000'000));
  EXPECT_EQ(t.size(), 0u);
  for (uint32_t k = 0; k < 200; ++k) EXPECT_EQ(t.peek(k), nullptr) << k;
}

TEST(BoundedTable, TellsWhenAnEntryWasLastSeen) {
  BoundedTable<uint32_t, Entry, U32Hash> t(8);
  Timestamp previous;
  auto [a, inserted] = t.find_or_insert(7, at(10), previous);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(previous, at(10));
  EXPECT_EQ(t.last_seen(*a), at(10));
  t.find_or_insert(8, at(11));
  auto [b, again] = t.find_or_insert(7, at(20), previous);
  EXPECT_FALSE(again);
  EXPECT_EQ(b, a);
  EXPECT_EQ(previous, at(10));
  EXPECT_EQ(t.last_seen(*a), at(20));
  t.find_or_insert(7, at(15), previous);  // time going backwards keeps the latest
  EXPECT_EQ(previous, at(20));
  EXPECT_EQ(t.last_seen(*a), at(20));
  EXPECT_EQ(t.last_seen(*t.peek(8)), at(11));
}

TEST(BoundedTable, ExpireIdleRemovesOldestFirst) {
  BoundedTable<uint32_t, Entry, U32Hash> t(10);
  for (uint32_t k = 0; k < 5; ++k) t.find_or_insert(k, at(k));
  std::vector<uint32_t> gone;
  t.expire_idle(at(3), [&](const uint32_t& k, Entry&) { gone.push_back(k); });
  EXPECT_EQ(gone, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.stats().expired, 3u);
}

TEST(BoundedTable, SlotsNameLiveEntriesOnly) {
  BoundedTable<uint32_t, Entry, U32Hash> t(4);
  std::vector<uint32_t> slots;
  for (uint32_t k = 0; k < 4; ++k) {
    const uint32_t s = t.insert_absent_slot(k, t.hash_of(k), at(k));
    t.value_at(s).hits = static_cast<int>(k) + 10;
    slots.push_back(s);
  }
  for (uint32_t k = 0; k < 4; ++k) {
    auto [key, v] = t.at_slot(slots[k]);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*key, k);
    EXPECT_EQ(v->hits, static_cast<int>(k) + 10);
  }
  EXPECT_TRUE(t.erase(1));
  EXPECT_EQ(t.at_slot(slots[1]).second, nullptr);  // freed
  EXPECT_EQ(t.at_slot(99).second, nullptr);        // out of range
  // Removal recomputes the hash from the key: what is left is still found, in every way out.
  t.expire_idle(at(3));  // 0 and 2 go
  EXPECT_EQ(t.size(), 1u);
  EXPECT_NE(t.peek(3), nullptr);
  EXPECT_EQ(t.peek(0), nullptr);
  EXPECT_EQ(t.peek(2), nullptr);
  for (uint32_t k = 10; k < 20; ++k) t.find_or_insert(k, at(k));  // evicts 3 and older new keys
  EXPECT_EQ(t.peek(3), nullptr);
  EXPECT_EQ(t.size(), 4u);
  for (uint32_t k = 16; k < 20; ++k) EXPECT_NE(t.peek(k), nullptr) << k;
}

TEST(SlidingWindows, MatchSeparateWindowsWhileTimeGoesForward) {
  const auto shape = WindowShape::of(Duration::seconds(8), 8);
  SlidingWindows<8, 3, uint16_t> shared;
  SlidingWindow<8, uint16_t> separate[3];
  uint64_t x = 99;
  int64_t ms = 0;
  for (int i = 0; i < 20'000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    ms += static_cast<int64_t>((x >> 40) % 1500);  // gaps from 0 to 1.5 s, some past the window
    if ((x >> 20) % 97 == 0) ms += 9'000;
    const Timestamp now = at(0) + Duration::millis(ms);
    const size_t k = (x >> 30) % 3;
    shared.add(k, shape, now);
    separate[k].add(shape, now);
    const auto all = shared.sums(shape, now);
    for (size_t j = 0; j < 3; ++j) {
      ASSERT_EQ(shared.sum(j, shape, now), separate[j].sum(shape, now)) << i << " " << j;
      ASSERT_EQ(all[j], separate[j].sum(shape, now)) << i << " " << j;
      ASSERT_EQ(shared.sum(j, shape, now + Duration::seconds(3)), separate[j].sum(shape, now + Duration::seconds(3)));
    }
  }
}

// Against a plain list of events: with time going forward, a window holds exactly the events
// of its newest min(shape.buckets, N) bucket epochs — for rings of several sizes, shapes that use
// fewer buckets than the ring has, and queries later than the last event.
template <size_t N>
void check_against_event_list(uint32_t used_buckets, uint64_t seed) {
  WindowShape shape;
  shape.bucket_ns = Duration::millis(700).ns;
  shape.buckets = used_buckets;
  SlidingWindow<N, uint32_t> one;
  SlidingWindows<N, 2, uint32_t> two;
  std::deque<std::pair<int64_t, size_t>> events;  // (epoch, window) of the events still in a window
  const int64_t n = std::min<int64_t>(used_buckets, N);
  auto expected = [&](Timestamp t, size_t k) {
    const int64_t e = shape.epoch(t);
    uint64_t c = 0;
    for (const auto& [ev, kk] : events) c += (kk == k && ev > e - n && ev <= e) ? 1 : 0;
    return c;
  };
  uint64_t x = seed;
  int64_t ms = 0;
  for (int i = 0; i < 3000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    ms += static_cast<int64_t>((x >> 40) % 900);
    if ((x >> 20) % 53 == 0) ms += static_cast<int64_t>((x >> 45) % 9000);
    const Timestamp now = at(0) + Duration::millis(ms);
    const size_t k = (x >> 30) % 2;
    events.emplace_back(shape.epoch(now), k);
    while (events.front().first <= shape.epoch(now) - n) events.pop_front();  // slid out for good
    if (k == 0) one.add(shape, now);
    two.add(k, shape, now);
    for (int64_t later : {0, 650, 1400, 3000, 6000}) {
      const Timestamp t = now + Duration::millis(later);
      ASSERT_EQ(one.sum(shape, t), expected(t, 0)) << "N " << N << " event " << i << " +" << later;
      const auto all = two.sums(shape, t);
      for (size_t j = 0; j < 2; ++j) {
        ASSERT_EQ(two.sum(j, shape, t), expected(t, j)) << "N " << N << " event " << i << " +" << later;
        ASSERT_EQ(all[j], expected(t, j));
      }
    }
  }
}

TEST(SlidingWindows, HoldExactlyTheEventsOfTheirNewestBuckets) {
  check_against_event_list<8>(8, 1);
  check_against_event_list<8>(5, 2);
  check_against_event_list<12>(12, 3);
  check_against_event_list<12>(20, 4);  // a shape wider than the ring: the ring's size counts
  check_against_event_list<1>(1, 5);
  check_against_event_list<3>(2, 6);
}

TEST(SlidingWindows, LateEventsGoToTheNewestBucketOfAny) {
  const auto shape = WindowShape::of(Duration::seconds(4), 4);
  SlidingWindows<4, 2, uint8_t> w;
  w.add(0, shape, at(10), 1);
  w.add(1, shape, at(7), 250);  // late for the set: newest bucket (10 s), saturating later
  w.add(1, shape, at(7), 10);
  EXPECT_EQ(w.sum(1, shape, at(10)), 255u);
  EXPECT_EQ(w.sum(1, shape, at(13)), 255u);
  EXPECT_EQ(w.sum(1, shape, at(14)), 0u);
  EXPECT_EQ(w.sum(0, shape, at(13)), 1u);
  const SlidingWindows<4, 2> empty;
  EXPECT_EQ(empty.sum(0, shape, at(1)), 0u);
}

TEST(SlidingWindow, CountsTheLastNBuckets) {
  const auto shape = WindowShape::of(Duration::seconds(10), 10);  // 10 × 1 s
  SlidingWindow<10> w;
  for (int s = 0; s < 10; ++s) w.add(shape, at(s), 5);
  EXPECT_EQ(w.sum(shape, at(9)), 50u);
  EXPECT_EQ(w.sum(shape, at(10)), 45u);  // the first second slid out
  EXPECT_EQ(w.sum(shape, at(14)), 25u);
  EXPECT_EQ(w.sum(shape, at(19)), 0u);
  EXPECT_EQ(w.sum(shape, at(100)), 0u);
  w.add(shape, at(30), 1);
  EXPECT_EQ(w.sum(shape, at(30)), 1u);
}

TEST(SlidingWindow, NoBoundaryToPaceAround) {
  // 40 events straddling a "minute boundary" are all inside one 60 s sliding window.
  const auto shape = WindowShape::of(Duration::seconds(60), 12);
  SlidingWindow<12> w;
  for (int i = 0; i < 20; ++i) w.add(shape, at(50) + Duration::millis(i * 100));
  for (int i = 0; i < 20; ++i) w.add(shape, at(61) + Duration::millis(i * 100));
  EXPECT_EQ(w.sum(shape, at(63)), 40u);
}

TEST(SlidingWindow, LateEventsCountInTheNewestBucketAndCountersSaturate) {
  const auto shape = WindowShape::of(Duration::seconds(4), 4);
  SlidingWindow<4, uint8_t> w;
  w.add(shape, at(10), 200);
  w.add(shape, at(8), 100);  // late: goes to the newest bucket, saturating at 255
  EXPECT_EQ(w.sum(shape, at(10)), 255u);
}

TEST(DistinctBitmap, EstimatesAreCloseAndNeverWild) {
  for (uint32_t n : {1u, 5u, 20u, 100u, 300u}) {
    DistinctBitmap<512> d;
    for (uint32_t v = 0; v < n; ++v) d.add(v * 7919);
    for (uint32_t v = 0; v < n; ++v) d.add(v * 7919);  // repeats change nothing
    const double est = d.estimate();
    EXPECT_NEAR(est, n, n * 0.12 + 1) << n;
  }
  DistinctBitmap<64> tiny;
  for (uint32_t v = 0; v < 10'000; ++v) tiny.add(v);
  EXPECT_GT(tiny.estimate(), 200u);  // saturated, but still "very many"
}

TEST(SlidingDistinct, ForgetsOldSubWindows) {
  SlidingDistinct<256, 4> d;
  for (uint32_t p = 0; p < 30; ++p) d.add(0, p);
  EXPECT_NEAR(d.estimate(0), 30, 3);
  for (uint32_t p = 100; p < 110; ++p) d.add(2, p);
  EXPECT_NEAR(d.estimate(2), 40, 4);
  EXPECT_NEAR(d.estimate(4), 10, 2);   // epoch 0 slid out
  EXPECT_EQ(d.estimate(6), 0u);
  EXPECT_TRUE(d.add(6, 5));
}

}  // namespace
}  // namespace picket::state
