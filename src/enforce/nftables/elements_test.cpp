// Element keys, interval conversion and message encoding/decoding, without a kernel.
#include "enforce/nftables/elements.hpp"

#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <random>

#include "enforce/nftables/transaction.hpp"

namespace picket::enforce::nftables {
namespace {

using core::IpAddress;
using core::Prefix;

IpAddress ip(const char* t) { return *IpAddress::parse(t); }

std::string joined(const std::vector<Prefix>& ps) {
  std::string s;
  for (const auto& p : ps) {
    if (!s.empty()) s += ' ';
    s += p.to_string();
  }
  return s;
}

struct RangeCase {
  const char* start;
  const char* end;  // nullptr = to the top
  const char* want;
};

TEST(RangeToPrefixes, CoversExactly) {
  const RangeCase cases[] = {
      {"198.18.1.0", "198.18.2.0", "198.18.1.0/24"},
      {"198.18.0.0", "198.20.0.0", "198.18.0.0/15"},
      {"198.18.0.1", "198.18.0.2", "198.18.0.1/32"},
      {"198.18.0.1", "198.18.0.5", "198.18.0.1/32 198.18.0.2/31 198.18.0.4/32"},
      {"0.0.0.0", nullptr, "0.0.0.0/0"},
      {"255.255.255.0", nullptr, "255.255.255.0/24"},
      {"2001:db8::1:0", "2001:db8::2:0", "2001:db8::1:0/112"},
      {"::", nullptr, "::/0"},
      {"ffff::", nullptr, "ffff::/16"},
      {"198.18.0.5", "198.18.0.5", ""},  // empty range
      {"198.18.0.5", "198.18.0.1", ""},  // backwards
      {"198.18.0.5", "2001:db8::", ""},  // mixed families
  };
  for (const auto& c : cases) {
    std::optional<IpAddress> end;
    if (c.end) end = ip(c.end);
    EXPECT_EQ(joined(range_to_prefixes(ip(c.start), end)), c.want) << c.start << " - " << (c.end ? c.end : "top");
  }
}

TEST(PrefixElements, StartAndEnd) {
  struct Case {
    const char* prefix;
    const char* end;  // nullptr: no end element
  } cases[] = {
      {"198.18.1.0/24", "198.18.2.0"},
      {"198.18.0.0/15", "198.20.0.0"},
      {"255.255.255.0/24", nullptr},
      {"0.0.0.0/0", nullptr},
      {"2001:db8::/32", "2001:db9::"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", nullptr},
  };
  for (const auto& c : cases) {
    Prefix p = *Prefix::parse(c.prefix);
    auto els = prefix_elements(p);
    ASSERT_EQ(els.size(), c.end ? 2u : 1u) << c.prefix;
    EXPECT_EQ(address_from_key(els[0].key.data(), els[0].key_len), p.address());
    EXPECT_FALSE(els[0].interval_end);
    if (c.end) {
      EXPECT_TRUE(els[1].interval_end);
      EXPECT_EQ(address_from_key(els[1].key.data(), els[1].key_len), ip(c.end)) << c.prefix;
    }
  }
}

ParsedElement parsed(const Element& e) {
  ParsedElement p;
  p.key = e.key;
  p.key_len = e.key_len;
  p.interval_end = e.interval_end;
  return p;
}

TEST(IntervalsToPrefixes, RoundTripsAdjacentAndTopPrefixes) {
  std::vector<ParsedElement> all;
  for (const char* t : {"198.18.1.0/24", "198.18.2.0/24", "255.255.255.0/24", "198.18.128.0/17"}) {
    for (const auto& e : prefix_elements(*Prefix::parse(t))) all.push_back(parsed(e));
  }
  all.push_back(parsed(address_element(ip("2001:db8::"))));  // another family: ignored
  std::reverse(all.begin(), all.end());
  auto out = intervals_to_prefixes(all, core::Family::v4);
  std::vector<Prefix> ps;
  for (const auto& pe : out) ps.push_back(pe.prefix);
  EXPECT_EQ(joined(ps), "198.18.1.0/24 198.18.2.0/24 198.18.128.0/17 255.255.255.0/24");
}

TEST(RateLimitElement, KeyLayout) {
  Element e = rate_limit_element(ip("2001:db8::1"), 17, 0x1234);
  ASSERT_EQ(e.key_len, 24);
  EXPECT_EQ(address_from_key(e.key.data(), 16), ip("2001:db8::1"));
  EXPECT_EQ(e.key[16], 17);
  EXPECT_EQ(e.key[17] | e.key[18] | e.key[19], 0);
  EXPECT_EQ(e.key[20], 0x12);
  EXPECT_EQ(e.key[21], 0x34);
  EXPECT_EQ(e.key[22] | e.key[23], 0);
}

TEST(AppendElements, RoundTripsThroughTheParserAndChunks) {
  Transaction tx(100);
  std::vector<Element> els;
  for (uint32_t i = 0; i < 4000; ++i) {
    Element e = address_element(IpAddress::v4(0xC6120000u + i));
    e.timeout_ms = 1000 + i;
    e.comment = std::string(i % 3 == 0 ? 200 : 5, 'x');  // long comments are cut to 127
    els.push_back(e);
  }
  append_elements(tx, NFT_MSG_NEWSETELEM, NLM_F_CREATE, "picket", "ban4", els, "add", false);
  ASSERT_GT(tx.message_count(), 1u);
  size_t i = 0;
  for (const nlmsghdr* m : tx.messages()) {
    EXPECT_LT(m->nlmsg_len, 65536u);
    auto p = parse_elements(*m);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->table, "picket");
    EXPECT_EQ(p->set, "ban4");
    for (const auto& e : p->elements) {
      ASSERT_LT(i, els.size());
      EXPECT_EQ(address_from_key(e.key.data(), e.key_len), IpAddress::v4(0xC6120000u + static_cast<uint32_t>(i)));
      EXPECT_EQ(e.timeout_ms, 1000 + i);
      EXPECT_EQ(e.comment.size(), i % 3 == 0 ? 127u : 5u);
      ++i;
    }
  }
  EXPECT_EQ(i, els.size());
  EXPECT_NE(tx.note(100 + 1)->what.find("add "), std::string::npos);
  EXPECT_EQ(tx.note(99), nullptr);

  // one_per_message: every element alone (deletes on kernels without DESTROY).
  Transaction one(7);
  append_elements(one, NFT_MSG_DELSETELEM, 0, "picket", "ban4", std::span(els).first(5), "delete", true, true);
  EXPECT_EQ(one.message_count(), 5u);
  EXPECT_TRUE(one.notes()[0].may_be_absent);
  EXPECT_EQ(one.notes()[0].what, "delete element 198.18.0.0 from set ban4");
}

TEST(TransactionWithout, KeepsSequenceNumbersAndFraming) {
  Transaction tx(10);
  std::vector<Element> els = {address_element(ip("198.18.0.1")), address_element(ip("198.18.0.2")),
                              address_element(ip("198.18.0.3"))};
  append_elements(tx, NFT_MSG_DELSETELEM, 0, "picket", "ban4", els, "delete", true, true);
  Transaction t2 = tx.without({12});
  ASSERT_EQ(t2.message_count(), 2u);
  EXPECT_EQ(t2.notes()[0].seq, 11u);
  EXPECT_EQ(t2.notes()[1].seq, 13u);
  auto bytes = t2.finish();
  // BEGIN + 2 messages + END, each a well-formed netlink message covering the buffer exactly.
  int len = static_cast<int>(bytes.size());
  int n = 0;
  for (auto* h = reinterpret_cast<const nlmsghdr*>(bytes.data()); NLMSG_OK(h, static_cast<unsigned>(len));
       h = NLMSG_NEXT(h, len)) {
    ++n;
  }
  EXPECT_EQ(n, 4);
  EXPECT_EQ(len, 0);
}

// Garbage from the kernel never crashes the parser: random bytes and truncations of a good message.
TEST(ParseElements, SurvivesDamagedMessages) {
  Transaction tx(1);
  std::vector<Element> els = {address_element(ip("198.18.0.1")), address_element(ip("2001:db8::1"))};
  std::string comment(1, 'c');
  els[0].comment.swap(comment);  // not operator=(const char*): GCC 12 -Wrestrict false positive at -O3
  els[0].timeout_ms = 5;
  append_elements(tx, NFT_MSG_NEWSETELEM, 0, "picket", "ban4", els, "add", false);
  const nlmsghdr* good = tx.messages()[0];
  std::vector<uint8_t> bytes(reinterpret_cast<const uint8_t*>(good), reinterpret_cast<const uint8_t*>(good) + good->nlmsg_len);
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> b = bytes;
    size_t cut = sizeof(nlmsghdr) + rng() % (b.size() - sizeof(nlmsghdr));
    if (round % 2 == 0) {
      b.resize(cut);
    } else {
      for (int k = 0; k < 4; ++k) b[sizeof(nlmsghdr) + rng() % (b.size() - sizeof(nlmsghdr))] = static_cast<uint8_t>(rng());
    }
    auto* h = reinterpret_cast<nlmsghdr*>(b.data());
    h->nlmsg_len = static_cast<uint32_t>(b.size());
    (void)parse_elements(*h);  // any answer, no crash (ASan/UBSan builds check the reads)
  }
  nlmsghdr tiny{};
  tiny.nlmsg_len = sizeof(nlmsghdr);
  EXPECT_FALSE(parse_elements(tiny).has_value());
}

}  // namespace
}  // namespace picket::enforce::nftables
